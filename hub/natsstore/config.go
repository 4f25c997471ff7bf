package natsstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors the store returns, wrapped with context.
var (
	// ErrConfig is wrapped by New's error for an invalid Config; the
	// message names the field.
	ErrConfig = errors.New("natsstore: invalid config")
	// ErrClosed is returned by calls after Close.
	ErrClosed = errors.New("natsstore: closed")
	// ErrPolicy is wrapped by Append when a room's policy asks for more
	// than the stream keeps (Config.MaxMsgsPerRoom).
	ErrPolicy = errors.New("natsstore: policy beyond the stream's limits")
	// ErrServer is wrapped by every failure of the server's side: not
	// connected, no JetStream, a stream that cannot be created or read, a
	// room appended to by too many nodes at once for Config.Timeout.
	ErrServer = errors.New("natsstore: server")
)

// Config configures a Store. The zero value connects to
// nats://127.0.0.1:4222 and keeps the history in the file-backed stream
// "wsgate-history" under the subjects "wsgate.history.<room>".
type Config struct {
	// URL is the NATS server, or a comma-separated list of servers of one
	// cluster. Empty means nats.DefaultURL (nats://127.0.0.1:4222).
	URL string
	// Options are extra nats.go options (credentials, TLS, a name...),
	// applied before the store's own: the store always sets unlimited
	// reconnects and no reconnect buffer (a call while disconnected fails
	// at once). Nil means none.
	Options []nats.Option
	// Prefix starts the subject of every room: <Prefix>.<room>, the room
	// name encoded into one NATS token as hub/natsbroker encodes it. It
	// must not overlap the subjects of a natsbroker.Config.Prefix (the
	// defaults do not: "wsgate.history" against "wsgate.room", ...):
	// dot-separated tokens of letters, digits, "-" and "_", at most 64
	// bytes. Empty means "wsgate.history".
	Prefix string
	// Stream names the JetStream stream, created on first use with the
	// subjects <Prefix>.>. Empty means Prefix with "." replaced by "-"
	// ("wsgate-history").
	Stream string
	// Storage is where the stream keeps the history. The zero value is
	// jetstream.FileStorage (history survives a server restart);
	// jetstream.MemoryStorage is faster and loses it on restart (every
	// room then starts a new epoch and readers are told to resync).
	Storage jetstream.StorageType
	// Replicas is the stream's replication in a JetStream cluster. Zero
	// means 1.
	Replicas int
	// MaxMsgsPerRoom is the stream's per-subject limit
	// (MaxMsgsPerSubject): the most any room keeps, whatever its policy.
	// A hub.HistoryPolicy with a larger Size is refused by Append
	// (ErrPolicy). Zero means 10,000.
	MaxMsgsPerRoom int
	// MaxAge is the stream's age limit: no message is kept longer,
	// whatever its room's policy (a policy's TTL shorter than it is kept
	// per message, rounded up to whole seconds, the server's resolution).
	// A reader whose position is older is told to resync. Zero means 24h.
	MaxAge time.Duration
	// MaxBytes bounds the whole stream; when it is full the oldest
	// messages of any room are dropped (their readers are told to
	// resync). Zero means 1 GiB.
	MaxBytes int64
	// Timeout bounds connecting and creating the stream in New. Calls
	// with a context use the context's deadline. Zero means 5s.
	Timeout time.Duration
	// ReconnectWait is how long nats.go waits between reconnect attempts
	// to one server. Zero means 1s.
	ReconnectWait time.Duration
	// MaxCachedRooms bounds the rooms whose newest position this client
	// remembers, so that an Append to them costs one round trip. Past it
	// the cache is emptied, and the next Append to each room costs one
	// more round trip. Zero means 10,000.
	MaxCachedRooms int
	// Logger receives connection events. Nil means silent.
	Logger *slog.Logger
}

const maxPrefix = 64

func (c *Config) setDefaults() {
	if c.URL == "" {
		c.URL = nats.DefaultURL
	}
	if c.Prefix == "" {
		c.Prefix = "wsgate.history"
	}
	if c.Stream == "" {
		c.Stream = strings.ReplaceAll(c.Prefix, ".", "-")
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.MaxMsgsPerRoom == 0 {
		c.MaxMsgsPerRoom = 10_000
	}
	if c.MaxAge == 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 1 << 30
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = time.Second
	}
	if c.MaxCachedRooms == 0 {
		c.MaxCachedRooms = 10_000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *Config) validate() error {
	bad := func(field, why string) error {
		return fmt.Errorf("%w: Config.%s %s", ErrConfig, field, why)
	}
	if len(c.Prefix) > maxPrefix {
		return bad("Prefix", fmt.Sprintf("must be at most %d bytes", maxPrefix))
	}
	if c.Prefix != "" {
		for _, tok := range strings.Split(c.Prefix, ".") {
			if tok == "" {
				return bad("Prefix", fmt.Sprintf("%q has an empty token", c.Prefix))
			}
			for i := 0; i < len(tok); i++ {
				if b := tok[i]; !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
					return bad("Prefix", fmt.Sprintf("%q may only have letters, digits, '-', '_' and '.'", c.Prefix))
				}
			}
		}
	}
	switch {
	case c.Stream != "" && (len(c.Stream) > 255 || strings.ContainsAny(c.Stream, ".*>/\\ \t\r\n")):
		return bad("Stream", "must be a JetStream stream name (no '.', '*', '>', '/', '\\' or spaces, at most 255 bytes)")
	case c.Storage != jetstream.FileStorage && c.Storage != jetstream.MemoryStorage:
		return bad("Storage", "must be jetstream.FileStorage or jetstream.MemoryStorage")
	case c.Replicas < 0:
		return bad("Replicas", "must not be negative")
	case c.MaxMsgsPerRoom < 0:
		return bad("MaxMsgsPerRoom", "must not be negative")
	case c.MaxAge < 0:
		return bad("MaxAge", "must not be negative")
	case c.MaxAge > 0 && c.MaxAge < time.Second:
		return bad("MaxAge", "must be at least 1s (the server counts ages in seconds)")
	case c.MaxBytes < 0:
		return bad("MaxBytes", "must not be negative")
	case c.Timeout < 0:
		return bad("Timeout", "must not be negative")
	case c.ReconnectWait < 0:
		return bad("ReconnectWait", "must not be negative")
	case c.MaxCachedRooms < 0:
		return bad("MaxCachedRooms", "must not be negative")
	}
	return nil
}
