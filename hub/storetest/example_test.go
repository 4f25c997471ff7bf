package storetest_test

import (
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/storetest"
)

// A store's test runs the suite with a fresh store per case. For a network
// store, newCluster starts (or connects to) a server and returns a Cluster
// whose Store connects a client to it and whose Reset flushes it.
func Example() {
	var t *testing.T // the test's *testing.T
	if t == nil {
		return
	}
	storetest.Run(t, func(t *testing.T) storetest.Cluster {
		st, err := hub.NewMemoryStore(hub.MemoryStoreConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return storetest.Cluster{
			Store: func(*testing.T) hub.Store { return st },
			Reset: func(*testing.T) { st.Reset() },
		}
	})
}
