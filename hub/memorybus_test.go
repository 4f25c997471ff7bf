package hub_test

import (
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/brokertest"
)

// TestMemoryBusConformance runs the broker conformance suite on MemoryBus,
// as the Redis and NATS brokers will on theirs.
func TestMemoryBusConformance(t *testing.T) {
	brokertest.Run(t, func(t *testing.T) brokertest.Cluster {
		bus := hub.NewMemoryBus()
		return brokertest.Cluster{
			Broker:  func(*testing.T) hub.Broker { return bus.Broker() },
			Restart: func(*testing.T) { bus.Restart() },
		}
	})
}
