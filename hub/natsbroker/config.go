package natsbroker

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Errors the broker returns, wrapped with context.
var (
	// ErrConfig is wrapped by New's error for an invalid Config; the
	// message names the field.
	ErrConfig = errors.New("natsbroker: invalid config")
	// ErrClosed is returned by calls after Close (and by Start twice).
	ErrClosed = errors.New("natsbroker: closed")
	// ErrNotConnected is returned while the connection to the server is
	// down (the broker is reconnecting) or before Start.
	ErrNotConnected = errors.New("natsbroker: not connected to the NATS server")
	// ErrUnroutable is wrapped when an envelope or channel has no subject:
	// an invalid topic or pattern, or a session ID without a node.
	ErrUnroutable = errors.New("natsbroker: no subject for this")
	// ErrPresence is wrapped by presence errors from the server's side:
	// no JetStream, or a stream that cannot be created or read.
	ErrPresence = errors.New("natsbroker: presence")
)

// Config configures a Broker. The zero value connects to
// nats://127.0.0.1:4222 with the prefix "wsgate".
type Config struct {
	// URL is the NATS server, or a comma-separated list of servers of one
	// cluster. Empty means nats.DefaultURL (nats://127.0.0.1:4222).
	URL string
	// Prefix starts every subject (and names the presence stream), so that
	// several applications can share one NATS account: dot-separated
	// tokens of letters, digits, "-" and "_", at most 64 bytes. Empty means
	// "wsgate".
	Prefix string
	// Options are extra nats.go options (credentials, TLS, a name...),
	// applied before the broker's own: the broker always sets NoEcho,
	// unlimited reconnects, no reconnect buffer, and its own disconnect,
	// reconnect, closed and error handlers. Nil means none.
	Options []nats.Option
	// Timeout bounds connecting in Start, the confirmation of Start's
	// subscriptions, the confirmation after a reconnect, and Close's drain.
	// Calls with a context use the context's deadline instead. Zero means
	// 5s.
	Timeout time.Duration
	// ReconnectWait is how long nats.go waits between reconnect attempts to
	// one server. Zero means 1s.
	ReconnectWait time.Duration
	// QueueSize bounds the envelopes received and not yet handed to the hub
	// (the hub's Deliver never blocks, so it fills only when this node
	// cannot keep up at all). When it is full NATS drops what arrives; the
	// drops are counted in Stats.Dropped and logged. Zero means 65536.
	QueueSize int
	// SubscribeAll turns per-room interest off: at Start the node subscribes
	// to every room and topic subject under Prefix (two wildcard
	// subscriptions), and Subscribe and Unsubscribe only change which
	// envelopes the broker hands to its hub, without a round trip. The hub
	// still gets only what its sessions need, but the server sends every
	// node all the traffic (counted in Stats.Filtered and Stats.InBytes): it
	// is the "every node gets everything" baseline of the cluster
	// benchmark. False means per-room interest: a node receives a room's
	// traffic only while it has a member.
	SubscribeAll bool
	// PresenceStream names the JetStream stream that holds presence. Empty
	// means EncodeToken(Prefix) + "-presence" ("wsgate-presence").
	PresenceStream string
	// PresenceStorage is where the presence stream keeps its members. The
	// zero value is jetstream.FileStorage (members survive a server
	// restart); jetstream.MemoryStorage is faster, and nodes write all their
	// members again within PresenceTTL/3 after a restart.
	PresenceStorage jetstream.StorageType
	// PresenceReplicas is the presence stream's replication in a JetStream
	// cluster. Zero means 1.
	PresenceReplicas int
	// Logger receives connection events and drops. Nil means silent.
	Logger *slog.Logger
}

const maxPrefix = 64

func (c *Config) setDefaults() {
	if c.URL == "" {
		c.URL = nats.DefaultURL
	}
	if c.Prefix == "" {
		c.Prefix = "wsgate"
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = time.Second
	}
	if c.QueueSize == 0 {
		c.QueueSize = 65536
	}
	if c.PresenceStream == "" {
		c.PresenceStream = EncodeToken(c.Prefix) + "-presence"
	}
	if c.PresenceReplicas == 0 {
		c.PresenceReplicas = 1
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
	for _, tok := range strings.Split(c.Prefix, ".") {
		if c.Prefix == "" {
			break // the default
		}
		if tok == "" {
			return bad("Prefix", fmt.Sprintf("%q has an empty token", c.Prefix))
		}
		for i := 0; i < len(tok); i++ {
			if !plainByte(tok[i]) && tok[i] != '_' {
				return bad("Prefix", fmt.Sprintf("%q may only have letters, digits, '-', '_' and '.'", c.Prefix))
			}
		}
	}
	switch {
	case c.Timeout < 0:
		return bad("Timeout", "must not be negative")
	case c.ReconnectWait < 0:
		return bad("ReconnectWait", "must not be negative")
	case c.QueueSize < 0:
		return bad("QueueSize", "must not be negative")
	case c.PresenceReplicas < 0:
		return bad("PresenceReplicas", "must not be negative")
	case c.PresenceStorage != jetstream.FileStorage && c.PresenceStorage != jetstream.MemoryStorage:
		return bad("PresenceStorage", "must be jetstream.FileStorage or jetstream.MemoryStorage")
	case c.PresenceStream != "" && (len(c.PresenceStream) > 255 || strings.ContainsAny(c.PresenceStream, ".*>/\\ \t\r\n")):
		return bad("PresenceStream", "must be a JetStream stream name (no '.', '*', '>', '/', '\\' or spaces, at most 255 bytes)")
	}
	return nil
}
