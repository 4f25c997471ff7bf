package hub

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// cluster is the hub's side of the Broker contract: the outbox, the
// interest it reports, presence, and the goroutines that run them. With no
// Broker (localBroker) only presence and events may run.
type cluster struct {
	h        *Hub
	on       bool // a real Broker: other nodes exist
	outbox   outbox
	interest interest
	presence presence
	events   mailbox[any] // PresenceEvent and BrokerEvent, for the app's callbacks

	// The event goroutine starts with the first event, so that a hub
	// without a broker or presence runs no goroutine of its own.
	evMu      sync.Mutex
	evStarted bool
	evStopped bool
	evDone    chan struct{}

	onBroker   atomic.Pointer[func(BrokerEvent)]
	onPresence atomic.Pointer[func(PresenceEvent)]

	down      atomic.Bool
	downSince atomic.Int64 // monotonic nanoseconds (Hub.monotonic) when the outage began

	stats struct {
		published, refused, failed, received atomic.Uint64
		subscribeFailed, outages, lostEvents atomic.Uint64
		presenceFailed                       atomic.Uint64
	}

	// base is the parent of every broker call's context; it ends when
	// Shutdown's context does, so that Shutdown's bound holds.
	base       context.Context
	cancelBase context.CancelFunc
	stop       chan struct{} // closed by stopCluster: workers end
	wg         sync.WaitGroup
	stopOnce   sync.Once
}

// ClusterStats counts what a hub exchanged with the other nodes of its
// cluster. Without a Broker every field stays zero.
type ClusterStats struct {
	// Outbox is how many envelopes wait to be handed to the broker now.
	Outbox int
	// Published counts envelopes the broker accepted.
	Published uint64
	// Refused counts envelopes a routing call could not queue because the
	// outbox was full; the call returned an error wrapping ErrRemote.
	Refused uint64
	// Failed counts envelopes queued but not accepted by the broker (an
	// error or Config.BrokerTimeout, or still queued when Shutdown's context
	// ended); each failure is reported to OnError as a *RemoteError.
	Failed uint64
	// Received counts envelopes the broker delivered from other nodes.
	Received uint64
	// Subscriptions is how many rooms and topic patterns this node is
	// subscribed to at the broker now; SubscribeFailed counts refused or
	// timed-out subscriptions (the hub retries them).
	Subscriptions   int
	SubscribeFailed uint64
	// Outages counts the times the broker reported losing its server
	// (messages published meanwhile may be lost); Down says it is lost now.
	Outages uint64
	Down    bool
	// PresenceFailed counts presence updates the broker did not take (the
	// next refresh repairs them); LostEvents counts presence and broker
	// events not reported to OnPresence or OnBroker because too many were
	// waiting.
	PresenceFailed, LostEvents uint64
}

func (c *cluster) snapshot() ClusterStats {
	return ClusterStats{
		Outbox:          c.outbox.len(),
		Published:       c.stats.published.Load(),
		Refused:         c.stats.refused.Load(),
		Failed:          c.stats.failed.Load(),
		Received:        c.stats.received.Load(),
		Subscriptions:   c.interest.subscribed(),
		SubscribeFailed: c.stats.subscribeFailed.Load(),
		Outages:         c.stats.outages.Load(),
		Down:            c.down.Load(),
		PresenceFailed:  c.stats.presenceFailed.Load(),
		LostEvents:      c.stats.lostEvents.Load(),
	}
}

// RemoteError is what OnError receives (with a nil session) when something
// meant for other nodes did not reach the broker: Op is "publish",
// "subscribe", "unsubscribe" or "presence". It matches ErrRemote and the
// broker's error with errors.Is.
type RemoteError struct {
	Op     string
	Kind   Kind   // what the envelope or subscription was for
	Target string // its room, subject or session ID
	Lost   int    // envelopes lost (publish)
	Err    error
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("hub: broker %s %s: %v", e.Op, e.Target, e.Err)
}

// Unwrap returns ErrRemote and the broker's error.
func (e *RemoteError) Unwrap() []error { return []error{ErrRemote, e.Err} }

// BrokerEvent tells the application that the broker lost its server (Down)
// or is back with every subscription restored (Up). Between the two, other
// nodes' messages may not have reached this node's sessions: a client that
// cares should resynchronise after Up.
type BrokerEvent struct {
	Up  bool
	Err error // Down: why the server was lost
	// Outage is how long the server was lost (Up only).
	Outage time.Duration
}

// OnBroker sets the function called when the broker loses its server and
// when it is back. It runs on the hub's event goroutine, one call at a time,
// in order; a slow OnBroker delays OnPresence calls (and past 1024 waiting
// events, events are counted in ClusterStats.LostEvents and not reported).
// Shutdown waits for it to return, so it must not wait for Shutdown.
func (h *Hub) OnBroker(f func(BrokerEvent)) { h.cluster.onBroker.Store(&f) }

// brokerHost is the hub as its broker sees it (BrokerHost); a separate type
// keeps Deliver and friends out of Hub's method set.
type brokerHost struct{ h *Hub }

func (b brokerHost) Deliver(e Envelope) { b.h.deliverRemote(e) }

func (b brokerHost) Disconnected(err error) {
	h := b.h
	c := &h.cluster
	if c.down.Swap(true) {
		return
	}
	c.downSince.Store(h.monotonic())
	c.stats.outages.Add(1)
	h.logger().Warn("wsgate: broker lost its server; messages from other nodes may be lost", "node", h.node, "err", err)
	c.event(BrokerEvent{Err: err})
}

func (b brokerHost) Reconnected() {
	h := b.h
	c := &h.cluster
	if !c.down.Swap(false) {
		return
	}
	outage := time.Duration(h.monotonic() - c.downSince.Load())
	h.logger().Info("wsgate: broker reconnected", "node", h.node, "outage", outage)
	c.interest.retryFailed()
	c.presence.refreshSoon()
	c.event(BrokerEvent{Up: true, Outage: outage})
}

func isPresenceBroker(b Broker) bool {
	_, ok := b.(PresenceBroker)
	return ok
}

// startCluster starts the broker and the goroutines that serve it (New
// calls it).
func (h *Hub) startCluster() error {
	c := &h.cluster
	c.h = h
	c.stop = make(chan struct{})
	c.base, c.cancelBase = context.WithCancel(context.Background())
	h.broker = h.cfg.Broker
	if h.broker == nil {
		h.broker = localBroker{}
	} else {
		c.on = true
	}
	c.interest.init(h)
	c.outbox.init(h, h.cfg.OutboxSize)
	c.presence.init(h)
	c.events.init(1024)
	if err := h.broker.Start(h.node, brokerHost{h}); err != nil {
		c.cancelBase()
		return fmt.Errorf("hub: starting broker: %w", err)
	}
	if c.on {
		c.run(h.cluster.outbox.run)
		for range interestWorkers {
			c.run(h.cluster.interest.run)
		}
	}
	if c.presence.remote != nil {
		c.run(h.cluster.presence.run)
	}
	if h.hist.on {
		c.run(h.hist.run)
	}
	return nil
}

func (c *cluster) run(f func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// stopCluster ends the cluster side once every session has ended
// (Shutdown calls it): the outbox hands the broker what it holds, pending
// presence removals go out, the workers stop, then the broker is closed.
// When ctx ends first, calls in flight are cancelled and what is left is
// counted as failed. Nothing reaches the broker after Close.
func (h *Hub) stopCluster(ctx context.Context) {
	c := &h.cluster
	c.stopOnce.Do(func() {
		stopWatch := context.AfterFunc(ctx, c.cancelBase)
		defer stopWatch()
		c.outbox.close()
		close(c.stop)
		c.wg.Wait()
		c.evMu.Lock()
		c.evStopped = true
		started := c.evStarted
		c.evMu.Unlock()
		c.events.close()
		if started {
			<-c.evDone // the app's callbacks have returned
		}
		c.cancelBase()
		if err := h.broker.Close(); err != nil {
			h.logger().Warn("wsgate: closing broker", "node", h.node, "err", err)
		}
		if h.hist.on {
			if err := h.hist.store.Close(); err != nil {
				h.logger().Warn("wsgate: closing history store", "node", h.node, "err", err)
			}
		}
	})
}

// shuttingDown reports whether Shutdown has begun: routing then returns
// ErrClosed.
func (h *Hub) shuttingDown() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closing
}

// event queues an event for the app's callbacks; when too many wait it is
// counted and dropped.
func (c *cluster) event(ev any) {
	c.evMu.Lock()
	if !c.evStarted && !c.evStopped {
		c.evStarted = true
		c.evDone = make(chan struct{})
		go func() {
			defer close(c.evDone)
			c.h.runEvents()
		}()
	}
	c.evMu.Unlock()
	if !c.events.push(ev) {
		c.stats.lostEvents.Add(1)
	}
}

// runEvents calls OnPresence and OnBroker, one event at a time, until the
// hub stops.
func (h *Hub) runEvents() {
	c := &h.cluster
	for ev := range c.events.ch {
		switch ev := ev.(type) {
		case PresenceEvent:
			if f := c.onPresence.Load(); f != nil {
				h.guardHub(func() { (*f)(ev) })
			}
		case BrokerEvent:
			if f := c.onBroker.Load(); f != nil {
				h.guardHub(func() { (*f)(ev) })
			}
		}
	}
}

// guardHub runs an app callback that concerns no session; a panic is
// logged and reported to OnError with a nil session.
func (h *Hub) guardHub(f func()) {
	defer func() {
		if v := recover(); v != nil {
			h.logger().Error("wsgate: callback panicked", "panic", v)
			h.callError(nil, &PanicError{Value: v, Stack: debug.Stack()})
		}
	}()
	f()
}

// mailbox is a bounded queue with one consumer: push never waits, and
// after close it refuses everything.
type mailbox[T any] struct {
	mu     sync.RWMutex
	closed bool
	ch     chan T
}

type pushResult int

const (
	pushed pushResult = iota
	pushFull
	pushClosed
)

func (m *mailbox[T]) init(n int) { m.ch = make(chan T, n) }

func (m *mailbox[T]) put(v T) pushResult {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return pushClosed
	}
	select {
	case m.ch <- v:
		return pushed
	default:
		return pushFull
	}
}

func (m *mailbox[T]) push(v T) bool { return m.put(v) == pushed }

func (m *mailbox[T]) close() {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		if m.ch != nil {
			close(m.ch)
		}
	}
	m.mu.Unlock()
}

// CloseSession closes a session on whichever node holds it with code and
// reason, as Session.Close does. For a session of this node it returns
// ErrSessionNotFound when there is none; for another node's it queues the
// request for that node and returns (nil, or an error wrapping ErrRemote
// when the outbox is full) without knowing whether the session exists.
func (h *Hub) CloseSession(sessionID string, code int, reason string) error {
	if !validCloseCode(code) {
		return errBadCloseCode
	}
	if len(reason) > maxEnvelopeReason {
		reason = truncateReason(reason)
	}
	if h.shuttingDown() {
		return ErrClosed
	}
	if remote, err := h.remoteSession(sessionID); err != nil || remote {
		if err != nil {
			return err
		}
		return h.cluster.outbox.push(Envelope{Node: h.node, Op: OpClose, Kind: ToSession, Target: sessionID, Code: code, Reason: reason})
	}
	s, ok := h.Session(sessionID)
	if !ok {
		return fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
	}
	return s.Close(code, reason)
}

// remoteSession reports whether sessionID belongs to another node of the
// cluster, or why it cannot be addressed at all.
func (h *Hub) remoteSession(sessionID string) (bool, error) {
	node := NodeOf(sessionID)
	switch {
	case node == h.node:
		return false, nil
	case node == "" || !h.cluster.on:
		return false, fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
	}
	return true, nil
}

// applyRemote carries out an operation another node asked for on the
// sessions it selects. It never waits for the network.
func (h *Hub) applyRemote(e *Envelope) {
	p := targetPool.Get().(*[]*Session)
	defer releaseTargets(p)
	*p = h.selectTargets(*p, e, nil, false)
	for _, s := range *p {
		switch e.Op {
		case OpClose:
			s.closeWith(e.Code, e.Reason, false)
		case OpJoin:
			if _, err := h.join(s, e.Room, false, nil); err != nil {
				h.logDebug(s, "remote join", err)
			}
		case OpLeave:
			h.leave(s, e.Room)
		}
	}
}
