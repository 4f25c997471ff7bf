package brokertest_test

import (
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/brokertest"
)

// A broker's test runs the suite with a factory per cluster. For a network
// broker, newCluster would start (or connect to) a server and return a
// factory that connects each node's broker to it.
func Example() {
	var t *testing.T // the test's *testing.T
	if t == nil {
		return
	}
	brokertest.Run(t, func(t *testing.T) brokertest.Factory {
		bus := hub.NewMemoryBus()
		return func(*testing.T) hub.Broker { return bus.Broker() }
	})
}
