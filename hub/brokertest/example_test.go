package brokertest_test

import (
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/brokertest"
)

// A broker's test runs the suite with a fresh cluster per case. For a
// network broker, newCluster starts (or connects to) a server and returns a
// Cluster whose Broker connects each node to it and whose Restart stops and
// starts that server.
func Example() {
	var t *testing.T // the test's *testing.T
	if t == nil {
		return
	}
	brokertest.Run(t, func(t *testing.T) brokertest.Cluster {
		bus := hub.NewMemoryBus()
		return brokertest.Cluster{
			Broker: func(*testing.T) hub.Broker { return bus.Broker() },
			// A broker with a server sets Restart to stop and start it.
		}
	})
}
