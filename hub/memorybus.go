package hub

import (
	"context"
	"fmt"
	"sync"
)

// MemoryBus connects hubs in one process as nodes of one cluster: give each
// hub its own Broker from the same bus. It is useful in tests, and is the
// reference for what a network broker must do.
type MemoryBus struct {
	mu    sync.RWMutex
	nodes map[string]BrokerHost
}

// NewMemoryBus returns a bus with no nodes.
func NewMemoryBus() *MemoryBus { return &MemoryBus{nodes: make(map[string]BrokerHost)} }

// Broker returns a new node's connection to the bus, for one hub's Config.
func (b *MemoryBus) Broker() Broker { return &memoryNode{bus: b} }

type memoryNode struct {
	bus  *MemoryBus
	node string
}

func (n *memoryNode) Start(node string, host BrokerHost) error {
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.nodes[node]; dup {
		return fmt.Errorf("hub: node %q is already on this bus", node)
	}
	b.nodes[node] = host
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
	targets := make([]BrokerHost, 0, len(b.nodes))
	for node, host := range b.nodes {
		if node != e.Node {
			targets = append(targets, host)
		}
	}
	b.mu.RUnlock()
	for _, host := range targets {
		var got Envelope
		if err := got.UnmarshalBinary(wire); err != nil {
			return err
		}
		host.Deliver(got)
	}
	return ctx.Err()
}

func (n *memoryNode) Subscribe(context.Context, Channel) error   { return nil }
func (n *memoryNode) Unsubscribe(context.Context, Channel) error { return nil }

func (n *memoryNode) Close() error {
	n.bus.mu.Lock()
	delete(n.bus.nodes, n.node)
	n.bus.mu.Unlock()
	return nil
}
