package natsbroker

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wsgate/wsgate/hub"
)

var (
	_ hub.Broker         = (*Broker)(nil)
	_ hub.BatchPublisher = (*Broker)(nil)
	_ hub.PresenceBroker = (*Broker)(nil)
)

// Broker is one node's connection to the cluster through NATS. Create it
// with New, give it to one hub (hub.Config.Broker); the hub calls Start
// and, at Shutdown, Close.
type Broker struct {
	cfg      Config
	subj     subjects
	instance uint64

	// Set by Start, then read-only.
	node string
	host hub.BrokerHost
	nc   *nats.Conn
	js   jetstream.JetStream
	in   chan *nats.Msg // every subscription's messages, in server order

	ctx    context.Context // ends when Close begins
	cancel context.CancelFunc

	// pubMu makes the sequence order the order messages reach the server.
	pubMu sync.Mutex
	seq   uint64

	// mu guards the fields below; it is never held during network I/O.
	mu       sync.Mutex
	started  bool
	closed   bool
	subs     map[hub.Channel]*nats.Subscription
	fixed    []*nats.Subscription     // ToAll and this node's, from Start
	interest map[string]hub.Channel   // NATS subject -> channel, for the dispatcher
	wants    map[hub.Channel]struct{} // Config.SubscribeAll: the channels the hub subscribed to
	dropped  uint64                   // messages dropped by unsubscribed subscriptions
	disconns uint64                   // disconnects seen by the nats.go handler
	lastErr  error                    // why the last disconnect happened
	stats    Stats

	presenceMu sync.Mutex       // guards presence
	presence   jetstream.Stream // nil until created (or after it was lost)

	changed   chan struct{} // a connection event for the monitor
	connClose chan struct{} // closed by nats.go's ClosedHandler
	closeOnce sync.Once
	done      chan struct{} // closed when Close stops the goroutines
	wg        sync.WaitGroup
}

// Stats counts what the broker did with what it received.
type Stats struct {
	// Delivered counts envelopes handed to the hub.
	Delivered uint64
	// Duplicates counts copies of an envelope that matched several of this
	// node's topic patterns, delivered once and dropped after that.
	Duplicates uint64
	// Filtered counts envelopes the server sent that this node's
	// subscriptions do not cover by the hub's rules (over-delivery), and
	// envelopes for a channel unsubscribed meanwhile.
	Filtered uint64
	// Malformed counts messages that were not a valid frame.
	Malformed uint64
	// Dropped counts messages the NATS client dropped because the queue
	// (Config.QueueSize) was full.
	Dropped uint64
	// Disconnects and Reconnects count the outages reported to the hub.
	Disconnects, Reconnects uint64
	// InMsgs and InBytes count what the server sent this node's connection
	// (payloads, every copy, presence replies included): the broker
	// traffic a node pays for, which interest keeps to what it needs.
	InMsgs, InBytes uint64
}

// New validates cfg and returns a broker that connects in Start. An invalid
// field gives an error wrapping ErrConfig that names it.
func New(cfg Config) (*Broker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	var id [8]byte
	rand.Read(id[:])
	b := &Broker{
		cfg:       cfg,
		subj:      subjects{prefix: cfg.Prefix},
		instance:  binary.BigEndian.Uint64(id[:]),
		subs:      make(map[hub.Channel]*nats.Subscription),
		interest:  make(map[string]hub.Channel),
		wants:     make(map[hub.Channel]struct{}),
		changed:   make(chan struct{}, 1),
		connClose: make(chan struct{}),
		done:      make(chan struct{}),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// Start connects to the server and subscribes to the ToAll subject and to
// this node's subject, confirmed by a round trip, within Config.Timeout.
func (b *Broker) Start(node string, host hub.BrokerHost) error {
	b.mu.Lock()
	if b.started || b.closed {
		b.mu.Unlock()
		return fmt.Errorf("%w: Start called twice or after Close", ErrClosed)
	}
	b.started = true
	b.mu.Unlock()

	b.node, b.host = node, host
	b.in = make(chan *nats.Msg, b.cfg.QueueSize)
	var closeOnce sync.Once
	opts := append([]nats.Option{}, b.cfg.Options...)
	opts = append(opts,
		nats.Timeout(b.cfg.Timeout),
		nats.NoEcho(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(b.cfg.ReconnectWait),
		nats.ReconnectBufSize(-1),
		nats.DrainTimeout(b.cfg.Timeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				err = ErrNotConnected
			}
			b.mu.Lock()
			b.disconns++
			b.lastErr = err
			b.mu.Unlock()
			b.cfg.Logger.Warn("natsbroker: disconnected", "node", node, "err", err)
			b.poke()
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.cfg.Logger.Info("natsbroker: reconnected", "node", node, "server", nc.ConnectedUrlRedacted())
			b.poke()
		}),
		nats.ClosedHandler(func(*nats.Conn) { closeOnce.Do(func() { close(b.connClose) }) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) && sub != nil {
				b.cfg.Logger.Warn("natsbroker: queue full, messages dropped", "node", node, "subject", sub.Subject)
				return
			}
			b.cfg.Logger.Warn("natsbroker: error", "node", node, "err", err)
		}),
	)
	nc, err := nats.Connect(b.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("natsbroker: connecting to %s: %w", b.cfg.URL, err)
	}
	b.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("natsbroker: %w", err)
	}
	b.js = js
	fixed := map[string]hub.Channel{b.subj.all(): {}, b.subj.node(node): {}} // always wanted
	if b.cfg.SubscribeAll {
		fixed[b.subj.prefix+".room.*"] = allRooms
		fixed[b.subj.prefix+".topic.>"] = allTopics
	}
	for s, ch := range fixed {
		b.mu.Lock()
		b.interest[s] = ch
		b.mu.Unlock()
		sub, err := nc.ChanSubscribe(s, b.in)
		if err != nil {
			nc.Close()
			return fmt.Errorf("natsbroker: subscribing to %s: %w", s, err)
		}
		b.mu.Lock()
		b.fixed = append(b.fixed, sub)
		b.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.Timeout)
	defer cancel()
	if err := b.confirm(ctx); err != nil {
		nc.Close()
		return err
	}
	b.mu.Lock()
	seen := b.disconns
	b.mu.Unlock()
	b.wg.Add(2)
	go b.dispatch()
	go b.monitor(seen)
	return nil
}

func (b *Broker) poke() {
	select {
	case b.changed <- struct{}{}:
	default:
	}
}

// confirm waits for a round trip to the server: once it returns nil, the
// server has processed everything this connection sent before.
func (b *Broker) confirm(ctx context.Context) error {
	if b.nc == nil {
		return ErrNotConnected
	}
	if b.nc.IsClosed() {
		return ErrClosed
	}
	if !b.nc.IsConnected() {
		return ErrNotConnected
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.Timeout)
		defer cancel()
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		if b.nc.IsClosed() {
			return ErrClosed
		}
		return fmt.Errorf("%w: %w", ErrNotConnected, err)
	}
	return nil
}

// Publish hands one envelope to the server; see PublishBatch.
func (b *Broker) Publish(ctx context.Context, e hub.Envelope) error {
	return b.PublishBatch(ctx, []hub.Envelope{e})
}

// PublishBatch writes the envelopes in order and waits for one round trip,
// so that a nil error means the server has processed all of them. It
// fails at once while disconnected (nothing is buffered for later). It
// does not keep the envelopes' Data.
func (b *Broker) PublishBatch(ctx context.Context, es []hub.Envelope) error {
	if err := b.usable(); err != nil {
		return err
	}
	type out struct {
		subject string
		wire    []byte
	}
	outs := make([]out, len(es))
	for i := range es {
		s, err := b.subj.envelope(&es[i])
		if err != nil {
			return err
		}
		w, err := es[i].MarshalBinary()
		if err != nil {
			return fmt.Errorf("natsbroker: %w", err)
		}
		outs[i] = out{s, w}
	}
	if !b.nc.IsConnected() {
		return ErrNotConnected
	}
	buf := make([]byte, 0, 4096)
	b.pubMu.Lock()
	for _, o := range outs {
		b.seq++
		buf = appendFrame(buf[:0], b.instance, b.seq, o.wire)
		if err := b.nc.Publish(o.subject, buf); err != nil { // nats.go copies buf
			b.pubMu.Unlock()
			if errors.Is(err, nats.ErrConnectionClosed) {
				return ErrClosed
			}
			return fmt.Errorf("natsbroker: publishing to %s: %w", o.subject, err)
		}
	}
	b.pubMu.Unlock()
	return b.confirm(ctx)
}

// Subscribe subscribes to a room or topic pattern and returns once the
// server confirmed it. Subscribing twice is not an error.
func (b *Broker) Subscribe(ctx context.Context, ch hub.Channel) error {
	if err := b.usable(); err != nil {
		return err
	}
	s, err := b.subj.channel(ch)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if b.cfg.SubscribeAll {
		b.wants[ch] = struct{}{} // Start subscribed to everything; covers filters
		b.mu.Unlock()
		return nil
	}
	_, have := b.subs[ch]
	if !have {
		b.interest[s] = ch // before the SUB, so nothing that arrives is filtered
	}
	b.mu.Unlock()
	if !have {
		// The hub never overlaps calls for one channel, so no other call
		// adds ch meanwhile.
		sub, err := b.nc.ChanSubscribe(s, b.in)
		if err != nil {
			b.mu.Lock()
			delete(b.interest, s)
			b.mu.Unlock()
			return fmt.Errorf("natsbroker: subscribing to %s: %w", s, err)
		}
		b.mu.Lock()
		b.subs[ch] = sub
		b.mu.Unlock()
	}
	// Also after a failed confirmation: nats.go keeps the subscription and
	// sends it again on reconnect; this call confirms it.
	return b.confirm(ctx)
}

// Unsubscribe removes a subscription; envelopes for it already received
// are not delivered. Unsubscribing what is not subscribed is not an
// error.
func (b *Broker) Unsubscribe(ctx context.Context, ch hub.Channel) error {
	if err := b.usable(); err != nil {
		return err
	}
	s, err := b.subj.channel(ch)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if b.cfg.SubscribeAll {
		delete(b.wants, ch)
		b.mu.Unlock()
		return nil
	}
	sub := b.subs[ch]
	delete(b.subs, ch)
	delete(b.interest, s)
	if sub != nil {
		if n, err := sub.Dropped(); err == nil {
			b.dropped += uint64(n)
		}
	}
	b.mu.Unlock()
	if sub != nil {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			return fmt.Errorf("natsbroker: unsubscribing from %s: %w", s, err)
		}
	}
	return b.confirm(ctx)
}

func (b *Broker) usable() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return ErrClosed
	case b.nc == nil:
		return fmt.Errorf("%w: Start has not been called", ErrNotConnected)
	}
	return nil
}

// Close unsubscribes and closes the connection, draining it for at most
// Config.Timeout, and stops the broker's goroutines; after it returns the
// broker calls no method of its host. It is idempotent.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		nc := b.nc
		b.mu.Unlock()
		b.cancel()
		if nc == nil {
			return
		}
		// Drain unsubscribes at the server, lets what already arrived be
		// delivered, flushes and closes; it fails when the connection is
		// down, and then Close is all there is to do.
		if err := nc.Drain(); err != nil {
			nc.Close()
		}
		t := time.NewTimer(2 * b.cfg.Timeout)
		select {
		case <-b.connClose:
		case <-t.C:
			nc.Close()
			<-b.connClose // Close calls the ClosedHandler
		}
		t.Stop()
		close(b.done)
		b.wg.Wait()
	})
	return nil
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	st.Dropped = b.dropped
	if b.nc != nil {
		ns := b.nc.Stats()
		st.InMsgs, st.InBytes = ns.InMsgs, ns.InBytes
	}
	for _, sub := range b.subs {
		if n, err := sub.Dropped(); err == nil {
			st.Dropped += uint64(n)
		}
	}
	for _, sub := range b.fixed {
		if n, err := sub.Dropped(); err == nil {
			st.Dropped += uint64(n)
		}
	}
	return st
}

// dispatch hands what the subscriptions received to the hub, one envelope
// at a time, in the order the server sent them.
func (b *Broker) dispatch() {
	defer b.wg.Done()
	d := dedup{last: make(map[uint64]uint64)}
	for {
		select {
		case <-b.done:
			return
		case m := <-b.in:
			b.handle(m, &d)
		}
	}
}

func (b *Broker) handle(m *nats.Msg, d *dedup) {
	instance, seq, e, err := decodeFrame(m.Data)
	if err != nil {
		b.count(func(s *Stats) { s.Malformed++ })
		b.cfg.Logger.Warn("natsbroker: malformed message", "node", b.node, "subject", m.Subject, "err", err)
		return
	}
	if e.Node == b.node {
		return // NoEcho stops our own; this is another broker using our name
	}
	var pattern string
	if m.Sub != nil {
		pattern = m.Sub.Subject
	}
	b.mu.Lock()
	ch, wanted := b.interest[pattern]
	covered := wanted && b.covers(ch, &e)
	if !covered {
		b.stats.Filtered++
	}
	fresh := covered && (e.Kind != hub.ToTopic || d.fresh(instance, seq))
	if covered && !fresh {
		b.stats.Duplicates++
	}
	if fresh {
		b.stats.Delivered++
	}
	b.mu.Unlock()
	if fresh {
		b.host.Deliver(e)
	}
}

// allRooms and allTopics stand for Config.SubscribeAll's subscriptions to
// every room and every topic in the interest map (no real channel has an
// empty name).
var (
	allRooms  = hub.Channel{Kind: hub.ToRoom}
	allTopics = hub.Channel{Kind: hub.ToTopic}
)

// covers reports whether an envelope that arrived on the subscription for
// ch is one this node asked for, by the hub's rules. The zero Channel is
// the ToAll or node subscription. b.mu is held.
func (b *Broker) covers(ch hub.Channel, e *hub.Envelope) bool {
	switch {
	case ch == allRooms:
		_, ok := b.wants[hub.Channel{Kind: hub.ToRoom, Name: e.Target}]
		return e.Kind == hub.ToRoom && ok
	case ch == allTopics:
		for w := range b.wants {
			if e.Kind == hub.ToTopic && w.Kind == hub.ToTopic && hub.MatchTopic(w.Name, e.Target) {
				return true
			}
		}
		return false
	}
	switch e.Kind {
	case hub.ToAll:
		return ch == hub.Channel{}
	case hub.ToSession:
		return ch == hub.Channel{} && e.DestNode() == b.node
	case hub.ToRoom:
		return ch.Kind == hub.ToRoom && ch.Name == e.Target
	case hub.ToTopic:
		return ch.Kind == hub.ToTopic && hub.MatchTopic(ch.Name, e.Target)
	}
	return false
}

func (b *Broker) count(f func(*Stats)) {
	b.mu.Lock()
	f(&b.stats)
	b.mu.Unlock()
}

// monitor turns nats.go's connection events into the host's Disconnected
// and Reconnected, alternating, and reports Reconnected only once a round
// trip has confirmed that nats.go sent every subscription again. seen is
// the disconnect count when Start confirmed its subscriptions.
func (b *Broker) monitor(seen uint64) {
	defer b.wg.Done()
	connected := true
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-b.changed:
		case <-retry.C:
		}
		b.mu.Lock()
		disc, why := b.disconns, b.lastErr
		b.mu.Unlock()
		if disc != seen {
			seen = disc
			if connected {
				connected = false
				b.count(func(s *Stats) { s.Disconnects++ })
				b.host.Disconnected(why)
			}
		}
		if connected || !b.nc.IsConnected() {
			continue
		}
		ctx, cancel := context.WithTimeout(b.ctx, b.cfg.Timeout)
		err := b.confirm(ctx)
		cancel()
		b.mu.Lock()
		again := b.disconns != seen
		b.mu.Unlock()
		switch {
		case again: // the next event is waiting in b.changed
		case err == nil:
			connected = true
			b.count(func(s *Stats) { s.Reconnects++ })
			b.host.Reconnected()
		case b.ctx.Err() == nil:
			b.cfg.Logger.Warn("natsbroker: resubscription not confirmed", "node", b.node, "err", err)
			retry.Reset(b.cfg.ReconnectWait)
		}
	}
}
