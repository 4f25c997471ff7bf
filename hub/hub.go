package hub

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Hub holds the sessions of one node and routes messages to them. Create it
// with New; its methods are safe for concurrent use.
type Hub struct {
	cfg     Config
	node    string
	epoch   time.Time
	seq     atomic.Uint64
	broker  Broker
	cluster cluster // outbox, interest, presence (cluster.go)
	hist    history // history and recovery (history.go)

	writePool sync.Pool        // gorilla's write buffers
	deflaters deflaters        // compressors shared by every session (deflate.go)
	idle      idlePoller       // idle sessions without a reader goroutine (idle.go)
	readBufs  sync.Pool        // read buffers parked sessions lent (*bufio.Reader)
	slots     chan []*outbound // free list of queue slices (queue.go)

	onConnect atomic.Pointer[func(*Session)]
	onMessage atomic.Pointer[func(*Session, Message)]
	onClose   atomic.Pointer[func(*Session, int, string)]
	onError   atomic.Pointer[func(*Session, error)]
	onPong    atomic.Pointer[func(*Session, []byte, time.Duration)]

	mu       sync.RWMutex // guards byID, reserved, total, closeCodes, closing, final, result
	byID     map[string]*Session
	reserved int // sessions admitted: being upgraded or attached
	closing  bool
	final    bool           // Shutdown has returned its result
	sessions sync.WaitGroup // one per running session

	// total and closeCodes move with byID, so that every Stats snapshot
	// has Total = Active + the sum of CloseCodes.
	total      uint64
	closeCodes map[int]uint64 // ended sessions by close code (1000-4999, so bounded)

	members membership

	stats struct {
		msgsIn, bytesIn, msgsOut, bytesOut atomic.Uint64
		dropped                            atomic.Uint64
	}

	shutdownOnce sync.Once
	shutdownDone chan struct{}
	result       ShutdownResult
}

// New returns a hub configured by cfg, or an error naming the first invalid
// field.
func New(cfg Config) (*Hub, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h := &Hub{
		cfg:          cfg,
		node:         cfg.NodeID,
		epoch:        time.Now(),
		byID:         make(map[string]*Session),
		closeCodes:   make(map[int]uint64),
		slots:        make(chan []*outbound, freeSlots),
		shutdownDone: make(chan struct{}),
		deflaters:    deflaters{level: cfg.Compression.Level},
	}
	h.idle.init()
	if h.node == "" {
		var b [8]byte
		rand.Read(b[:])
		h.node = hex.EncodeToString(b[:])
	}
	h.members.init()
	if err := h.hist.init(h); err != nil {
		return nil, err
	}
	if err := h.startCluster(); err != nil {
		return nil, err
	}
	return h, nil
}

// NodeID returns the node name used in session IDs and broker envelopes.
func (h *Hub) NodeID() string { return h.node }

// OnConnect sets the function called when a session is attached, before
// its first message is read. It runs on the session's reader goroutine.
func (h *Hub) OnConnect(f func(s *Session)) { h.onConnect.Store(&f) }

// OnMessage sets the function called for each message a session receives,
// on that session's reader goroutine: messages of one session arrive in
// order, and a slow OnMessage slows only that session's reading. m.Data is
// the caller's to keep.
func (h *Hub) OnMessage(f func(s *Session, m Message)) { h.onMessage.Store(&f) }

// OnClose sets the function called once when a session has ended and left
// every room and topic, with the close code and reason of the side that
// started the close handshake: the peer's, or the one the hub sent (a
// peer's echo of it does not replace it); CloseAbnormal when the connection
// dropped without one.
func (h *Hub) OnClose(f func(s *Session, code int, reason string)) { h.onClose.Store(&f) }

// OnPong sets the function called for each pong a session receives, on its
// reader goroutine. For a pong that answers one of the hub's pings, data is
// the application data the ping carried (Session.SetPingData) and rtt the
// round trip; for any other pong (a peer's own heartbeat), data is the whole
// payload and rtt is zero. data is the callee's to keep.
func (h *Hub) OnPong(f func(s *Session, data []byte, rtt time.Duration)) { h.onPong.Store(&f) }

// OnError sets the function called when a callback panics (with a
// *PanicError, at once; the session is then closed with CloseServerError)
// and when a session fails because of its peer or the network (with a
// *SessionError, once, after the session has ended and before OnClose):
// protocol violations, oversized messages, invalid UTF-8 or compressed
// data, missed pongs, failed or timed-out writes, resets. Inspect err with
// errors.As and errors.Is. It runs on the session's reader goroutine.
//
// Errors that concern no session come with a nil s: a *RemoteError when
// the broker failed (see Broker), and a *PanicError when OnPresence or
// OnBroker panicked.
func (h *Hub) OnError(f func(s *Session, err error)) { h.onError.Store(&f) }

// PanicError is passed to OnError when a callback panics.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("hub: callback panicked: %v", e.Value) }

// guard runs f, turning a panic into an OnError report and a close with
// CloseServerError for that session only. It reports whether f returned.
func (h *Hub) guard(s *Session, f func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			err := &PanicError{Value: v, Stack: debug.Stack()}
			h.logger().Error("wsgate: callback panicked", "session", s.id, "panic", v)
			h.callError(s, err)
			s.closeWith(CloseServerError, "internal error", false)
		}
	}()
	f()
	return true
}

func (h *Hub) callConnect(s *Session) bool {
	if cb := h.onConnect.Load(); cb != nil {
		return h.guard(s, func() { (*cb)(s) })
	}
	return true
}

func (h *Hub) callMessage(s *Session, m Message) bool {
	if cb := h.onMessage.Load(); cb != nil {
		return h.guard(s, func() { (*cb)(s, m) })
	}
	return true
}

// callError reports err to OnError; an OnError that panics is not reported
// again.
func (h *Hub) callError(s *Session, err error) {
	if cb := h.onError.Load(); cb != nil {
		defer func() { recover() }()
		(*cb)(s, err)
	}
}

func (h *Hub) callClose(s *Session) {
	if cb := h.onClose.Load(); cb != nil {
		ce := s.endErr
		h.guard(s, func() { (*cb)(s, ce.Code, ce.Reason) })
	}
}

func (h *Hub) logger() *slog.Logger {
	if h.cfg.Logger == nil {
		return discardLogger
	}
	return h.cfg.Logger
}

var discardLogger = slog.New(slog.DiscardHandler)

func (h *Hub) logDebug(s *Session, msg string, err error) {
	h.logger().Debug("wsgate: "+msg, "session", s.id, "remote", s.remote.String(), "err", err)
}

// monotonic returns nanoseconds since the hub started, on the monotonic clock.
func (h *Hub) monotonic() int64 { return int64(time.Since(h.epoch)) }

// nextID returns a session ID: the node name and a per-node sequence number,
// so IDs are unique across a cluster whose node names are.
func (h *Hub) nextID() string {
	return h.node + "-" + strconv.FormatUint(h.seq.Add(1), 36)
}

// reserve admits one more session, or says why not.
func (h *Hub) reserve() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closing:
		return ErrShuttingDown
	case h.cfg.MaxConnections > 0 && h.reserved >= h.cfg.MaxConnections:
		return ErrFull
	}
	h.reserved++
	h.sessions.Add(1)
	return nil
}

func (h *Hub) unreserve() {
	h.mu.Lock()
	h.reserved--
	h.mu.Unlock()
	h.sessions.Done()
}

func (h *Hub) attach(s *Session) {
	h.mu.Lock()
	h.byID[s.id] = s
	h.total++
	closing := h.closing
	h.mu.Unlock()
	if closing {
		s.closeWith(CloseGoingAway, "server shutting down", false)
	}
}

func (h *Hub) detach(s *Session) {
	h.members.removeSession(s)
	h.mu.Lock()
	delete(h.byID, s.id)
	h.reserved--
	h.closeCodes[s.endErr.Code]++
	h.mu.Unlock()
	h.tally(s)
}

// Session returns the session with the given ID on this node.
func (h *Hub) Session(id string) (*Session, bool) {
	h.mu.RLock()
	s, ok := h.byID[id]
	h.mu.RUnlock()
	return s, ok
}

// SessionIDs returns the IDs of this node's sessions.
func (h *Hub) SessionIDs() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ids := make([]string, 0, len(h.byID))
	for id := range h.byID {
		ids = append(ids, id)
	}
	return ids
}

// Stats is a snapshot of a hub's counters. Active, Total and CloseCodes are
// taken together: a session leaves Active in the same step as its close
// code is counted, so Total is always Active plus the sum of CloseCodes.
// The other counters move on their own; of a pair, the bytes are counted
// before the messages.
type Stats struct {
	Active           int    // sessions open now
	Total            uint64 // sessions attached since New
	MessagesReceived uint64
	BytesReceived    uint64
	MessagesSent     uint64 // written to sockets
	BytesSent        uint64
	Dropped          uint64 // routed but never delivered (see SlowPolicy)
	Rooms, Topics    int
	// CloseCodes counts ended sessions by the close code they ended with
	// (sent or received; CloseAbnormal when the connection dropped).
	CloseCodes map[int]uint64
	// Cluster counts the exchanges with other nodes through the Broker.
	Cluster ClusterStats
	// History counts history and recoveries (HistoryConfig).
	History HistoryStats
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	active, total, codes := len(h.byID), h.total, maps.Clone(h.closeCodes)
	h.mu.RUnlock()
	rooms, topics := h.members.counts()
	return Stats{
		Active:           active,
		Total:            total,
		MessagesReceived: h.stats.msgsIn.Load(),
		BytesReceived:    h.stats.bytesIn.Load(),
		MessagesSent:     h.stats.msgsOut.Load(),
		BytesSent:        h.stats.bytesOut.Load(),
		Dropped:          h.stats.dropped.Load(),
		Rooms:            rooms,
		Topics:           topics,
		CloseCodes:       codes,
		Cluster:          h.cluster.snapshot(),
		History:          h.hist.snapshot(),
	}
}
