package hub_test

import (
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/storetest"
)

// TestMemoryStoreConformance runs the store conformance suite on
// MemoryStore, as the Redis and NATS stores will on theirs.
func TestMemoryStoreConformance(t *testing.T) {
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
