package hub

import (
	"context"
	"fmt"
	"sync"
)

// Kind says which sessions an Envelope is for.
type Kind uint8

// The kinds of envelope.
const (
	ToAll     Kind = iota + 1 // every session
	ToRoom                    // members of the room named by Target
	ToTopic                   // subscribers of patterns matching the subject in Target
	ToSession                 // the session whose ID is Target
)

// Envelope is a routed message as it travels between nodes. MarshalBinary
// and UnmarshalBinary (envelope.go) are its wire form.
type Envelope struct {
	Node   string // the node that published it
	Kind   Kind
	Target string   // room, subject or session ID; empty for ToAll
	Except []string // session IDs that must not receive it
	Type   MessageType
	Data   []byte
}

// Broker carries envelopes between the nodes of a cluster. The hub delivers
// every envelope to its own sessions itself and hands it to Publish for the
// other nodes; a broker must not hand a node its own envelopes back (or the
// hub ignores them: it drops envelopes whose Node is its own).
//
// Start is called once, by New, before any other method. The broker then
// calls deliver for each envelope published by another node; deliver is safe
// for concurrent use and never blocks on the network. Publish may be called
// from many goroutines at once and must not keep e.Data after it returns
// unless it copies it. Close is called once, by Shutdown, after the last
// Publish; it must stop every goroutine the broker started and not call
// deliver after it returns.
type Broker interface {
	Start(nodeID string, deliver func(Envelope)) error
	Publish(ctx context.Context, e Envelope) error
	Close() error
}

// localBroker is the default: this hub is the only node.
type localBroker struct{}

func (localBroker) Start(string, func(Envelope)) error      { return nil }
func (localBroker) Publish(context.Context, Envelope) error { return nil }
func (localBroker) Close() error                            { return nil }

// MemoryBus connects hubs in one process as nodes of one cluster: give each
// hub its own Broker from the same bus. It is useful in tests, and is the
// reference for what a network broker must do.
type MemoryBus struct {
	mu    sync.RWMutex
	nodes map[string]func(Envelope)
}

// NewMemoryBus returns a bus with no nodes.
func NewMemoryBus() *MemoryBus { return &MemoryBus{nodes: make(map[string]func(Envelope))} }

// Broker returns a new node's connection to the bus, for one hub's Config.
func (b *MemoryBus) Broker() Broker { return &memoryNode{bus: b} }

type memoryNode struct {
	bus  *MemoryBus
	node string
}

func (n *memoryNode) Start(node string, deliver func(Envelope)) error {
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.nodes[node]; dup {
		return fmt.Errorf("hub: node %q is already on this bus", node)
	}
	b.nodes[node] = deliver
	n.node = node
	return nil
}

// Publish delivers e to every other node, synchronously. It sends the
// envelope through MarshalBinary and UnmarshalBinary, as a network broker
// would, so that nodes share no memory and the encoding is exercised.
func (n *memoryNode) Publish(ctx context.Context, e Envelope) error {
	wire, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	b := n.bus
	b.mu.RLock()
	targets := make([]func(Envelope), 0, len(b.nodes))
	for node, deliver := range b.nodes {
		if node != e.Node {
			targets = append(targets, deliver)
		}
	}
	b.mu.RUnlock()
	for _, deliver := range targets {
		var got Envelope
		if err := got.UnmarshalBinary(wire); err != nil {
			return err
		}
		deliver(got)
	}
	return ctx.Err()
}

func (n *memoryNode) Close() error {
	n.bus.mu.Lock()
	delete(n.bus.nodes, n.node)
	n.bus.mu.Unlock()
	return nil
}
