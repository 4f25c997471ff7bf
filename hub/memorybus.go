package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrBusDown is returned by a MemoryBus broker's calls while the bus is
// down (MemoryBus.Down).
var ErrBusDown = errors.New("hub: memory bus is down")

// MemoryBus connects hubs in one process as nodes of one cluster: give each
// hub its own Broker from the same bus. It is useful in tests, and is the
// reference for what a network broker must do: it keeps the whole Broker
// contract (interest, per-node addressing, at-most-once delivery, presence
// with TTL, outages announced and recovered from) and sends every envelope
// through its wire form, so nodes share no memory. Its brokers implement
// PresenceBroker.
type MemoryBus struct {
	mu       sync.Mutex // guards everything below
	nodes    map[string]*memoryNode
	down     bool
	presence map[string]map[string]memberEntry // room → session ID → member
}

type memberEntry struct {
	m       []byte // Member.MarshalBinary
	expires time.Time
}

// NewMemoryBus returns a bus with no nodes.
func NewMemoryBus() *MemoryBus {
	return &MemoryBus{nodes: make(map[string]*memoryNode), presence: make(map[string]map[string]memberEntry)}
}

// Broker returns a new node's connection to the bus, for one hub's Config.
func (b *MemoryBus) Broker() Broker { return &memoryNode{bus: b} }

// Down simulates losing the bus's server: every node is told
// (BrokerHost.Disconnected), the server forgets every subscription and
// every presence record, and until Up every call fails with ErrBusDown.
func (b *MemoryBus) Down() {
	b.mu.Lock()
	if b.down {
		b.mu.Unlock()
		return
	}
	b.down = true
	b.presence = make(map[string]map[string]memberEntry)
	nodes := b.started()
	for _, n := range nodes {
		n.server = nil // the server's view; n.subs is the client's
	}
	b.mu.Unlock()
	for _, n := range nodes {
		n.notify(func(h BrokerHost) { h.Disconnected(ErrBusDown) })
	}
}

// Up brings the server back: each node resubscribes to what it holds and
// is told (BrokerHost.Reconnected).
func (b *MemoryBus) Up() {
	b.mu.Lock()
	if !b.down {
		b.mu.Unlock()
		return
	}
	b.down = false
	nodes := b.started()
	for _, n := range nodes {
		n.server = make(map[Channel]struct{}, len(n.subs))
		for ch := range n.subs {
			n.server[ch] = struct{}{}
		}
	}
	b.mu.Unlock()
	for _, n := range nodes {
		n.notify(func(h BrokerHost) { h.Reconnected() })
	}
}

// Restart is Down then Up: what brokertest's Cluster.Restart does to a
// server.
func (b *MemoryBus) Restart() {
	b.Down()
	b.Up()
}

// started returns the nodes on the bus (mu held).
func (b *MemoryBus) started() []*memoryNode {
	out := make([]*memoryNode, 0, len(b.nodes))
	for _, n := range b.nodes {
		out = append(out, n)
	}
	return out
}

// memoryNode is one node's broker on a MemoryBus.
type memoryNode struct {
	bus  *MemoryBus
	node string

	// Guarded by bus.mu.
	subs   map[Channel]struct{} // what the node asked for (the client's record)
	server map[Channel]struct{} // what the server delivers to it

	// hmu orders deliveries with Close: Deliver runs under RLock, and Close
	// takes the lock, so no Deliver runs once Close has returned.
	hmu    sync.RWMutex
	host   BrokerHost
	closed bool
}

var (
	_ Broker         = (*memoryNode)(nil)
	_ PresenceBroker = (*memoryNode)(nil)
)

func (n *memoryNode) Start(node string, host BrokerHost) error {
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.nodes[node]; dup {
		return fmt.Errorf("hub: node %q is already on this bus", node)
	}
	if b.down {
		return ErrBusDown
	}
	b.nodes[node] = n
	n.node = node
	n.host = host
	n.subs = make(map[Channel]struct{})
	n.server = make(map[Channel]struct{})
	return nil
}

// notify calls f with the host unless the node is closed.
func (n *memoryNode) notify(f func(BrokerHost)) {
	n.hmu.RLock()
	defer n.hmu.RUnlock()
	if !n.closed {
		f(n.host)
	}
}

// wants reports whether the server delivers e to n (bus.mu held): ToAll,
// addressed to n, or covered by one of its subscriptions. However many
// subscriptions cover it, the answer (and so the delivery) is one.
func (n *memoryNode) wants(e *Envelope) bool {
	switch e.Kind {
	case ToAll:
		return true
	case ToSession:
		return e.DestNode() == n.node
	case ToRoom:
		_, ok := n.server[Channel{Kind: ToRoom, Name: e.Target}]
		return ok
	case ToTopic:
		for ch := range n.server {
			if ch.Kind == ToTopic && MatchTopic(ch.Name, e.Target) {
				return true
			}
		}
	}
	return false
}

// Publish delivers e to every other node that wants it, synchronously,
// through MarshalBinary and UnmarshalBinary.
func (n *memoryNode) Publish(ctx context.Context, e Envelope) error {
	return n.PublishBatch(ctx, []Envelope{e})
}

// PublishBatch publishes es in order (BatchPublisher).
func (n *memoryNode) PublishBatch(ctx context.Context, es []Envelope) error {
	b := n.bus
	for _, e := range es {
		if err := ctx.Err(); err != nil {
			return err
		}
		wire, err := e.MarshalBinary()
		if err != nil {
			return err
		}
		b.mu.Lock()
		if b.down {
			b.mu.Unlock()
			return ErrBusDown
		}
		var targets []*memoryNode
		for node, other := range b.nodes {
			if node != e.Node && other.wants(&e) {
				targets = append(targets, other)
			}
		}
		b.mu.Unlock()
		for _, t := range targets {
			var got Envelope
			if err := got.UnmarshalBinary(wire); err != nil {
				return err
			}
			got.Data = slices.Clone(got.Data) // the receiver owns it; wire is shared
			t.notify(func(h BrokerHost) { h.Deliver(got) })
		}
	}
	return nil
}

func (n *memoryNode) Subscribe(ctx context.Context, ch Channel) error {
	return n.setSub(ctx, ch, true)
}

func (n *memoryNode) Unsubscribe(ctx context.Context, ch Channel) error {
	return n.setSub(ctx, ch, false)
}

func (n *memoryNode) setSub(ctx context.Context, ch Channel, on bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return ErrBusDown
	}
	if b.nodes[n.node] != n {
		return ErrClosed
	}
	if on {
		n.subs[ch] = struct{}{}
		n.server[ch] = struct{}{}
	} else {
		delete(n.subs, ch)
		delete(n.server, ch)
	}
	return nil
}

// Close leaves the bus. Presence records of the node are left to expire, as
// a network broker's would.
func (n *memoryNode) Close() error {
	b := n.bus
	b.mu.Lock()
	if b.nodes[n.node] == n {
		delete(b.nodes, n.node)
	}
	b.mu.Unlock()
	n.hmu.Lock()
	n.closed = true
	n.hmu.Unlock()
	return nil
}

func (n *memoryNode) AddPresence(ctx context.Context, room string, members []Member, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	expires := time.Now().Add(ttl)
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return ErrBusDown
	}
	r := b.presence[room]
	if r == nil {
		r = make(map[string]memberEntry)
		b.presence[room] = r
	}
	for i := range members {
		wire, err := members[i].MarshalBinary()
		if err != nil {
			return err
		}
		r[members[i].SessionID] = memberEntry{m: wire, expires: expires}
	}
	return nil
}

func (n *memoryNode) RemovePresence(ctx context.Context, room string, sessionIDs []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return ErrBusDown
	}
	r := b.presence[room]
	for _, id := range sessionIDs {
		delete(r, id)
	}
	if len(r) == 0 {
		delete(b.presence, room)
	}
	return nil
}

// unexpired returns room's live members, dropping the expired (mu held).
func (b *MemoryBus) unexpired(room string) map[string]memberEntry {
	r := b.presence[room]
	now := time.Now()
	for id, e := range r {
		if !now.Before(e.expires) {
			delete(r, id)
		}
	}
	if len(r) == 0 {
		delete(b.presence, room)
		return nil
	}
	return r
}

func (n *memoryNode) Presence(ctx context.Context, room string) ([]Member, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return nil, ErrBusDown
	}
	r := b.unexpired(room)
	out := make([]Member, 0, len(r))
	for _, e := range r {
		var m Member
		if err := m.UnmarshalBinary(slices.Clone(e.m)); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (n *memoryNode) PresenceCount(ctx context.Context, room string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return 0, ErrBusDown
	}
	return len(b.unexpired(room)), nil
}
