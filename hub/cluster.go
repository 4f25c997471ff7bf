package hub

import "fmt"

// brokerHost is the hub as its broker sees it (BrokerHost); a separate type
// keeps Deliver and friends out of Hub's method set.
type brokerHost struct{ h *Hub }

func (b brokerHost) Deliver(e Envelope) { b.h.deliverRemote(e) }
func (b brokerHost) Disconnected(error) {}
func (b brokerHost) Reconnected()       {}

func isPresenceBroker(b Broker) bool {
	_, ok := b.(PresenceBroker)
	return ok
}

// startCluster starts the broker (New calls it).
func (h *Hub) startCluster() error {
	h.broker = h.cfg.Broker
	if h.broker == nil {
		h.broker = localBroker{}
	}
	if err := h.broker.Start(h.node, brokerHost{h}); err != nil {
		return fmt.Errorf("hub: starting broker: %w", err)
	}
	return nil
}
