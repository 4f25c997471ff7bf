package hub

import (
	"compress/flate"
	"fmt"
	"log/slog"
	"time"
)

// SlowPolicy says what happens when a message would overflow a session's
// send queue.
type SlowPolicy int

const (
	// Disconnect closes the session with CloseSlowConsumer and drops what it
	// still had queued (counted as dropped). It is the default: the client
	// learns it missed messages and can reconnect and resynchronise.
	Disconnect SlowPolicy = iota
	// DropOldest discards queued messages, oldest first, until the new one
	// fits. The session stays open; each discarded message is counted.
	DropOldest
	// DropNewest refuses the new message (counted); the queue is unchanged.
	DropNewest
	// Block makes the publisher wait up to Config.BlockTimeout for room in the
	// queue, then disconnects as Disconnect does. It trades the guarantee that
	// publishers never wait for losing nothing; use it for small fan-outs.
	// It applies to routing calls made on this node only: a message that
	// arrives from another node through the Broker never waits, and a full
	// queue then disconnects the session as Disconnect does.
	Block
)

func (p SlowPolicy) String() string {
	switch p {
	case Disconnect:
		return "disconnect"
	case DropOldest:
		return "drop-oldest"
	case DropNewest:
		return "drop-newest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("SlowPolicy(%d)", int(p))
}

// Compression configures permessage-deflate (RFC 7692). By default each
// message is compressed on its own (no context takeover), so a session keeps
// no compression state and a broadcast is compressed once for every
// compressing session with the same window size. ContextTakeover lets
// similar messages refer back to earlier ones, at a memory cost per session
// that WindowBits and ClientWindowBits bound (Session.Deflate reports it).
// Every window size a client asks for (server_max_window_bits,
// client_max_window_bits) is honoured; offers with unknown, repeated or
// invalid parameters are declined and the session proceeds uncompressed.
// See docs/protocol.md for when to use which.
type Compression struct {
	// Enabled offers permessage-deflate to clients that ask for it. Clients
	// that do not ask get uncompressed frames on the same hub.
	Enabled bool
	// Level trades CPU for ratio: 1 (BestSpeed) to 9 (BestCompression),
	// LevelNoCompression (deflate stored blocks: negotiated but not
	// compressed) or LevelHuffmanOnly. Zero means 1. Below a 15-bit window,
	// levels 1 to 9 all use the compressor that bounds its back-references
	// to the window.
	Level int
	// Threshold is the smallest message, in bytes, that is compressed; smaller
	// ones are sent uncompressed even to compressing sessions. Zero means 512.
	Threshold int
	// ContextTakeover keeps the compression context from one message to the
	// next in both directions, unless the client refuses it for the hub's
	// side (server_no_context_takeover) or its own (client_no_context_takeover).
	// Each message the hub sends is then compressed for its session alone,
	// primed with what the session sent before: a stream of similar messages
	// compresses to a fraction, for more CPU per delivery.
	ContextTakeover bool
	// WindowBits is the LZ77 window, in bits (8 to 15), of the messages the
	// hub compresses: with ContextTakeover, each session keeps this much of
	// what it sent (2^WindowBits bytes) for the session's life. A client's
	// smaller server_max_window_bits wins. Zero means 15 (32 KiB).
	WindowBits int
	// ClientWindowBits bounds, in bits (8 to 15), the window a client may
	// compress with when it takes over its context: each session keeps this
	// much of what it received (2^ClientWindowBits bytes). A client that
	// cannot be told a smaller window (it did not offer
	// client_max_window_bits) is asked not to take over its context. Zero
	// means 15 (32 KiB).
	ClientWindowBits int
}

// Compression levels beyond compress/flate's 1 to 9.
const (
	// LevelNoCompression negotiates permessage-deflate but sends deflate
	// stored blocks (flate.NoCompression).
	LevelNoCompression = -1
	// LevelHuffmanOnly uses Huffman coding only (flate.HuffmanOnly).
	LevelHuffmanOnly = -2
)

// Config configures a Hub. The zero value is ready to use: every zero field
// means the default documented on it. New validates a Config and names the
// first bad field in its error.
type Config struct {
	// MaxConnections bounds the number of open sessions; Accept refuses more
	// with ErrFull. Zero means 100,000; -1 means no bound (the process's
	// file descriptor limit then decides).
	MaxConnections int

	// MaxTextMessage and MaxBinaryMessage bound an inbound message after
	// reassembly and decompression, in bytes. A larger message closes the
	// session with CloseTooBig. Zero means 64 KiB; -1 means no limit.
	MaxTextMessage   int64
	MaxBinaryMessage int64

	// MaxQueuedMessages and MaxQueuedBytes bound each session's send queue,
	// counting the batch the writer is writing: they bound what a session
	// holds unwritten. A streamed message (Session.NextWriter) counts as
	// one message of no bytes; its producer is held at 64 KiB not yet
	// written instead. One message larger than MaxQueuedBytes is accepted
	// only when nothing else is queued or being written. Zero means 256
	// messages and 1 MiB.
	MaxQueuedMessages int
	MaxQueuedBytes    int
	// SlowPolicy applies when a message would overflow a send queue. The
	// zero value is Disconnect.
	SlowPolicy SlowPolicy
	// BlockTimeout is how long a publisher waits under the Block policy.
	// Zero means 1s.
	BlockTimeout time.Duration
	// OnSlow, if set, is called (outside every hub lock, on the publisher's
	// goroutine) each time a session's queue bound is hit, with the policy
	// applied.
	OnSlow func(s *Session, applied SlowPolicy)

	// PingInterval is the time between pings. Zero means 25s; a negative
	// value disables pings (and with them the pong timeout).
	PingInterval time.Duration
	// PongTimeout is how long after a ping the peer may stay silent before
	// the session ends with CloseGoingAway. Time the session's reader
	// spends in OnMessage, or held by an InboundLimiter, is not counted: a
	// pong can wait unread meanwhile. Zero means 10s.
	PongTimeout time.Duration
	// IdleTimeout ends a session that sent no data message for this long
	// (pongs do not count). Zero means no idle timeout.
	IdleTimeout time.Duration
	// WriteTimeout bounds each flush to a peer; a peer that does not take
	// the bytes in time is disconnected. Zero means 10s.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds writing the upgrade response. Zero means 10s.
	HandshakeTimeout time.Duration
	// CloseTimeout is how long a session waits for the peer's close frame
	// after sending its own before closing the TCP connection. Zero means 5s.
	CloseTimeout time.Duration

	// MaxRoomsPerSession and MaxTopicsPerSession bound the rooms a session
	// may join and the patterns it may subscribe to. Zero means 64 each.
	MaxRoomsPerSession  int
	MaxTopicsPerSession int

	// MaxFrameSize, when positive, splits an outgoing message whose payload
	// is larger into frames of at most this many bytes (a first frame and
	// continuation frames, RFC 6455 section 5.4), so that a peer or proxy
	// with a frame limit can take it; a compressed message has RSV1 on its
	// first frame only. Zero means every message is one frame.
	MaxFrameSize int

	// MaxSessionHeaderBytes bounds the copy of the upgrade request's headers
	// a session keeps (Session.Header, Cookies, Origin), counted as on the
	// wire. Headers that would pass it are left out whole, in key order
	// (so a smaller one later in the order may still fit); the handshake's
	// own headers (Sec-WebSocket-Key, -Version, -Extensions, Upgrade,
	// Connection) are never kept. Zero means 8 KiB.
	MaxSessionHeaderBytes int

	// ReadBufferSize is the per-session read buffer in bytes, at least 512.
	// Zero means 1024. Larger messages are read straight from the socket.
	ReadBufferSize int

	// Compression configures permessage-deflate; off by default.
	Compression Compression

	// Broker carries messages between nodes. Nil means this hub is the only
	// node. The hub calls Start in New and Close in Shutdown.
	Broker Broker
	// OutboxSize bounds the envelopes waiting for the broker: routing calls
	// queue what other nodes need and return; one goroutine hands it to
	// Broker.Publish. When the outbox is full a routing call returns an
	// error wrapping ErrRemote (local delivery still happened). Zero means
	// 4096; at most 1,048,576. Unused without a Broker.
	OutboxSize int
	// BrokerTimeout bounds each call to the broker: a Publish, a
	// subscription the first local Join or Subscribe of a room or pattern
	// waits for, a presence update or query. Zero means 5s.
	BrokerTimeout time.Duration
	// Presence keeps a cluster-wide record of each room's members
	// (Hub.Presence) and reports joins and leaves (Hub.OnPresence). It
	// needs a Broker that implements PresenceBroker, or no Broker (the hub
	// then answers from its own memory). False means off.
	Presence bool
	// PresenceTTL is how long a member stays in a room's presence after its
	// node stops refreshing it (a node that died without saying goodbye);
	// nodes refresh their members every PresenceTTL/3. Zero means 30s; at
	// least 1s.
	PresenceTTL time.Duration
	// NodeID names this node in session IDs and broker envelopes; it must be
	// unique in a cluster. Empty means a random 64-bit hex string.
	NodeID string

	// History keeps the recent messages of the rooms the application
	// chooses, gives them positions and lets a session rejoin from a
	// position (Hub.JoinFrom). The zero value means no room has history.
	History HistoryConfig

	// Logger receives the hub's diagnostics. Nil means silent.
	Logger *slog.Logger
}

// defaults returns a copy of c with every zero field set to its default.
func (c Config) withDefaults() Config {
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = 100_000
	}
	if c.MaxTextMessage == 0 {
		c.MaxTextMessage = 64 << 10
	}
	if c.MaxBinaryMessage == 0 {
		c.MaxBinaryMessage = 64 << 10
	}
	if c.MaxQueuedMessages == 0 {
		c.MaxQueuedMessages = 256
	}
	if c.MaxQueuedBytes == 0 {
		c.MaxQueuedBytes = 1 << 20
	}
	setDur(&c.BlockTimeout, time.Second)
	setDur(&c.PingInterval, 25*time.Second)
	setDur(&c.PongTimeout, 10*time.Second)
	setDur(&c.WriteTimeout, 10*time.Second)
	setDur(&c.HandshakeTimeout, 10*time.Second)
	setDur(&c.CloseTimeout, 5*time.Second)
	if c.MaxRoomsPerSession == 0 {
		c.MaxRoomsPerSession = 64
	}
	if c.MaxTopicsPerSession == 0 {
		c.MaxTopicsPerSession = 64
	}
	if c.MaxSessionHeaderBytes == 0 {
		c.MaxSessionHeaderBytes = 8 << 10
	}
	if c.OutboxSize == 0 {
		c.OutboxSize = 4096
	}
	setDur(&c.BrokerTimeout, 5*time.Second)
	setDur(&c.PresenceTTL, 30*time.Second)
	if c.ReadBufferSize == 0 {
		c.ReadBufferSize = 1024
	}
	if c.Compression.Level == 0 {
		c.Compression.Level = flate.BestSpeed
	}
	if c.Compression.Threshold == 0 {
		c.Compression.Threshold = 512
	}
	return c
}

// validate reports the first invalid field of a defaulted config.
func (c *Config) validate() error {
	bad := func(field, why string) error {
		return fmt.Errorf("%w: %s %s", ErrConfig, field, why)
	}
	switch {
	case c.MaxConnections < -1:
		return bad("MaxConnections", "must be -1 (no bound), 0 (default) or positive")
	case c.MaxTextMessage < -1:
		return bad("MaxTextMessage", "must be -1 (no limit), 0 (default) or positive")
	case c.MaxBinaryMessage < -1:
		return bad("MaxBinaryMessage", "must be -1 (no limit), 0 (default) or positive")
	case c.MaxQueuedMessages < 1:
		return bad("MaxQueuedMessages", "must be positive")
	case c.MaxQueuedBytes < 1:
		return bad("MaxQueuedBytes", "must be positive")
	case c.SlowPolicy < Disconnect || c.SlowPolicy > Block:
		return bad("SlowPolicy", "is not a known policy")
	case c.BlockTimeout < 0:
		return bad("BlockTimeout", "must not be negative")
	case c.PongTimeout < 0:
		return bad("PongTimeout", "must not be negative")
	case c.IdleTimeout < 0:
		return bad("IdleTimeout", "must not be negative")
	case c.WriteTimeout < 0:
		return bad("WriteTimeout", "must not be negative")
	case c.HandshakeTimeout < 0:
		return bad("HandshakeTimeout", "must not be negative")
	case c.CloseTimeout < 0:
		return bad("CloseTimeout", "must not be negative")
	case c.MaxRoomsPerSession < 1:
		return bad("MaxRoomsPerSession", "must be positive")
	case c.MaxTopicsPerSession < 1:
		return bad("MaxTopicsPerSession", "must be positive")
	case c.MaxFrameSize < 0:
		return bad("MaxFrameSize", "must not be negative")
	case c.MaxSessionHeaderBytes < 0:
		return bad("MaxSessionHeaderBytes", "must not be negative")
	case c.ReadBufferSize < 512:
		return bad("ReadBufferSize", "must be at least 512 bytes")
	case c.Compression.Level < LevelHuffmanOnly || c.Compression.Level > flate.BestCompression:
		return bad("Compression.Level", "must be LevelHuffmanOnly, LevelNoCompression or 1 to 9")
	case c.Compression.Threshold < 0:
		return bad("Compression.Threshold", "must not be negative")
	case c.Compression.WindowBits != 0 && (c.Compression.WindowBits < 8 || c.Compression.WindowBits > 15):
		return bad("Compression.WindowBits", "must be 0 (15) or 8 to 15")
	case c.Compression.ClientWindowBits != 0 && (c.Compression.ClientWindowBits < 8 || c.Compression.ClientWindowBits > 15):
		return bad("Compression.ClientWindowBits", "must be 0 (15) or 8 to 15")
	case c.OutboxSize < 1 || c.OutboxSize > maxOutboxSize:
		return bad("OutboxSize", "must be 1 to 1,048,576 envelopes")
	case c.BrokerTimeout < 0:
		return bad("BrokerTimeout", "must not be negative")
	case c.PresenceTTL < time.Second:
		return bad("PresenceTTL", "must be at least 1s (members are refreshed every PresenceTTL/3)")
	case c.Presence && c.Broker != nil && !isPresenceBroker(c.Broker):
		return bad("Presence", "needs a Broker that implements PresenceBroker")
	case len(c.NodeID) > 64:
		return bad("NodeID", "must be at most 64 bytes")
	case c.History.Policy != nil && c.Broker != nil && c.History.Store == nil:
		return bad("History.Store", "must be set with a Broker: every node needs the same store for positions to be cluster-wide")
	case c.History.Policy == nil && (c.History.Store != nil || c.History.Frame != nil):
		return bad("History.Policy", "must be set with History.Store or History.Frame: no room would have history")
	case c.History.Timeout < 0:
		return bad("History.Timeout", "must not be negative")
	}
	return nil
}
