package hub

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// sessionState moves only forward: open → closing → ended (closing.go).
type sessionState int32

const (
	stateOpen    sessionState = iota // messages may be queued
	stateClosing                     // nothing more is queued; the context is cancelled
	stateEnded                       // the reader has finished; the session is gone from the hub
)

// Session is one WebSocket connection attached to a hub. Its methods are safe
// for concurrent use.
type Session struct {
	id          string
	hub         *Hub
	conn        *websocket.Conn
	fc          *flushConn
	header      http.Header // of the upgrade request; kept instead of the whole request
	url         *url.URL
	remote      netip.AddrPort
	deflate     *deflateState // nil unless permessage-deflate was negotiated
	connectedAt time.Time
	ctx         context.Context
	cancel      context.CancelFunc
	limiter     InboundLimiter

	// The reader's shallow wait for data (idle.go); raw is nil when off.
	br       *bufio.Reader
	raw      syscall.RawConn
	readable func(fd uintptr) bool
	polled   bool
	// A parked session's place in the hub's idle poller (poller_linux.go).
	pollToken, pollGen uint64
	onClose            func(*Session) // Accept's OnClose, for finish

	lastActivity atomic.Int64 // unix nanoseconds of the last data message received
	rtt          atomic.Int64 // nanoseconds, last ping round trip
	lastPing     atomic.Int64 // payload of the last ping sent
	msgsIn       atomic.Uint64
	bytesIn      atomic.Uint64
	msgsOut      atomic.Uint64
	bytesOut     atomic.Uint64
	dropped      atomic.Uint64

	metaMu sync.RWMutex
	meta   map[string]any

	// Lock order: the hub's locks (Hub.mu, the membership lock) before mu,
	// and mu before flushConn.mu; metaMu is never held with another lock.
	// No lock is held during network I/O or a user callback.
	//
	// Guarded by mu.
	mu           sync.Mutex
	state        sessionState // changed only by setStateLocked (closing.go)
	queue        []*outbound
	spare        []*outbound // a drained queue kept for reuse while the writer runs
	queued       int         // bytes in queue
	inflight     int         // messages in the batch the writer is writing
	inflightB    int         // bytes in that batch; queue bounds count both
	writing      bool        // a writer goroutine is running
	parked       bool        // the reader gave its goroutine up (idle.go)
	writerDone   chan struct{}
	space        chan struct{} // closed when the writer has written a batch; Block waiters
	sentClose    *CloseError   // what we sent, once queued
	gotClose     *CloseError   // what the peer sent
	peerFirst    bool          // the peer's close frame came before we sent or queued ours
	endErr       *CloseError   // how the session ended, once ended
	forced       bool          // the TCP connection was closed without a completed close handshake
	disconnected bool          // Disconnect was called
	failure      *SessionError // the error that ended the session, for OnError
	pongSince    int64         // payload of the oldest unanswered ping while a pong deadline is set, else 0
	pongAwaited  atomic.Bool   // pongSince != 0, for the reader without the lock (idle.go)
	pongDeadline time.Time     // the read deadline set for that ping's pong
	ka           keepAlive     // the settings in effect (SetKeepAlive)
	pingData     []byte        // application data every ping carries (SetPingData)
	pingTimer    *time.Timer
	idleTimer    *time.Timer
	closeTimer   *time.Timer

	// Guarded by the hub's membership lock.
	rooms  map[string]struct{}
	topics map[string]struct{}

	done chan struct{} // closed when the session has ended
}

// ID returns the session's ID, unique across every node of a cluster.
func (s *Session) ID() string { return s.id }

// Context returns a context that carries the upgrade request's values (for
// example auth.ClaimsFromContext or ratelimit.ClientIP work on it) and is
// cancelled as soon as the session starts to close.
func (s *Session) Context() context.Context { return s.ctx }

// Done returns a channel closed when the session has ended and left the hub.
func (s *Session) Done() <-chan struct{} { return s.done }

// RemoteAddr returns the peer's socket address, with IPv4-mapped IPv6
// addresses folded to IPv4. Behind a proxy this is the proxy; use
// ratelimit.ClientIP(s.Context()) for the client.
func (s *Session) RemoteAddr() netip.AddrPort { return s.remote }

// ConnectedAt returns when the session was accepted.
func (s *Session) ConnectedAt() time.Time { return s.connectedAt }

// LastActivity returns when the session last received a data message (the
// connection time until the first one).
func (s *Session) LastActivity() time.Time { return time.Unix(0, s.lastActivity.Load()) }

// RTT returns the round trip time measured by the last answered ping, or 0.
func (s *Session) RTT() time.Duration { return time.Duration(s.rtt.Load()) }

// Subprotocol returns the negotiated subprotocol, or "".
func (s *Session) Subprotocol() string { return s.conn.Subprotocol() }

// Compressed reports whether permessage-deflate was negotiated.
func (s *Session) Compressed() bool { return s.deflate != nil }

// Header returns a copy of the upgrade request's headers.
func (s *Session) Header() http.Header { return s.header.Clone() }

// Cookies returns the upgrade request's cookies.
func (s *Session) Cookies() []*http.Cookie { return (&http.Request{Header: s.header}).Cookies() }

// Origin returns the upgrade request's Origin header.
func (s *Session) Origin() string { return s.header.Get("Origin") }

// URL returns a copy of the upgrade request's URL.
func (s *Session) URL() *url.URL { u := *s.url; return &u }

// Counters is a snapshot of a session's traffic. Sent counts what was
// written to the socket; Dropped counts messages routed to the session that
// it will never receive (queue policy, or still queued when it ended).
type Counters struct {
	MessagesSent, BytesSent         uint64
	MessagesReceived, BytesReceived uint64
	Dropped                         uint64
}

// Counters returns the session's traffic counters. Bytes are counted
// before their messages, so the byte counts cover every message counted.
func (s *Session) Counters() Counters {
	return Counters{
		MessagesSent:     s.msgsOut.Load(),
		BytesSent:        s.bytesOut.Load(),
		MessagesReceived: s.msgsIn.Load(),
		BytesReceived:    s.bytesIn.Load(),
		Dropped:          s.dropped.Load(),
	}
}

// Queued returns how many messages and bytes the session holds that have
// not been written yet: its send queue and the batch being written. These
// are what Config.MaxQueuedMessages and MaxQueuedBytes bound.
func (s *Session) Queued() (messages, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) + s.inflight, s.queued + s.inflightB
}

// Set stores a metadata value under key.
func (s *Session) Set(key string, value any) {
	s.metaMu.Lock()
	if s.meta == nil {
		s.meta = make(map[string]any)
	}
	s.meta[key] = value
	s.metaMu.Unlock()
}

// Get returns the metadata value stored under key.
func (s *Session) Get(key string) (any, bool) {
	s.metaMu.RLock()
	v, ok := s.meta[key]
	s.metaMu.RUnlock()
	return v, ok
}

// Delete removes the metadata value under key.
func (s *Session) Delete(key string) {
	s.metaMu.Lock()
	delete(s.meta, key)
	s.metaMu.Unlock()
}

// Metadata returns a copy of every metadata entry.
func (s *Session) Metadata() map[string]any {
	s.metaMu.RLock()
	defer s.metaMu.RUnlock()
	m := make(map[string]any, len(s.meta))
	for k, v := range s.meta {
		m[k] = v
	}
	return m
}

// Send queues m for this session. It never waits for the network (except
// under the Block policy). It returns ErrClosed once the session is closing,
// or ErrQueueFull if the queue policy refused the message.
func (s *Session) Send(m Message) error {
	if !validType(m.Type) {
		return errBadType
	}
	switch s.enqueue(newOutbound(m), mayBlock) {
	case queuedOK:
		return nil
	case queuedClosed:
		return ErrClosed
	}
	return ErrQueueFull
}

// Close starts the close handshake: the messages already queued are sent,
// then a close frame with code and reason; the connection is closed when
// the peer answers or after Config.CloseTimeout. Close does not wait; use
// Done to wait. Calls after the first do nothing. The code must be valid on
// the wire (1000-1003, 1007-1014, 3000-4999); reason is cut to 123 bytes.
func (s *Session) Close(code int, reason string) error {
	if !validCloseCode(code) {
		return errBadCloseCode
	}
	s.closeWith(code, reason, false)
	return nil
}

// Kick closes the session at once with code and reason: whatever is still
// queued is dropped (and counted), the close frame is the next frame
// written, and the peer has Config.CloseTimeout from now to answer before
// the connection is closed. OnClose and Err report code and reason. Kick
// does not wait; use Done. It returns ErrClosed if the session is already
// closing, and an error for a code not valid on the wire (see Close).
//
// A frame the writer has already started writing is finished first (a
// frame cannot be cut short), so a peer that has stopped reading may never
// see the close frame; it sees the connection close after CloseTimeout.
func (s *Session) Kick(code int, reason string) error {
	if !validCloseCode(code) {
		return errBadCloseCode
	}
	if !s.closeWith(code, reason, true) {
		return ErrClosed
	}
	return nil
}

// Disconnect closes the network connection at once, without a close
// handshake; whatever is still queued is dropped and counted. The peer
// sees an abnormal closure (1006); OnClose reports CloseAbnormal with the
// reason "disconnected by the server". Use it for abusive peers; use Kick
// to close at once with a code, Close to end a session politely.
func (s *Session) Disconnect() {
	s.mu.Lock()
	s.disconnected = true
	s.mu.Unlock()
	s.fail()
}

// Err returns how the session ended, once Done is closed; nil before.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endErr == nil {
		return nil
	}
	return s.endErr
}

// Rooms returns the rooms the session is in, sorted; once it has ended (in
// OnClose), the rooms it was in.
func (s *Session) Rooms() []string { return s.hub.sessionRooms(s) }

func remoteAddrPort(c net.Conn) netip.AddrPort {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
