package natsstore_test

import (
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsstore"
	"github.com/wsgate/wsgate/hub/storetest"
)

// wait bounds every await in these tests; it is a failure bound.
const wait = 20 * time.Second

func newStore(t testing.TB, ts *testServer, cfg natsstore.Config) *natsstore.Store {
	t.Helper()
	cfg.URL = ts.url()
	if cfg.ReconnectWait == 0 {
		cfg.ReconnectWait = 50 * time.Millisecond
	}
	st, err := natsstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// reconnects returns how often each store has reconnected so far, for
// awaitReconnected.
func reconnects(stores ...*natsstore.Store) []uint64 {
	n := make([]uint64, len(stores))
	for i, st := range stores {
		n[i] = st.Reconnects()
	}
	return n
}

// awaitReconnected waits, bounded, until every store has reconnected
// since before (from reconnects) and is connected. Being connected is not
// enough: right after a server restart a client that has not yet read
// its old socket's end still reports itself connected.
func awaitReconnected(t testing.TB, before []uint64, stores ...*natsstore.Store) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for i, st := range stores {
		for st.Reconnects() <= before[i] || !st.Connected() {
			if time.Now().After(deadline) {
				t.Fatal("a store did not reconnect")
			}
			time.Sleep(10 * time.Millisecond) // polling a connection state nats.go does not signal to us
		}
	}
}

// The conformance suite against a real embedded server; Reset restarts
// it without its store directory, as a crash of a server without
// persistence would.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Cluster {
		ts := startServer(t)
		var mu sync.Mutex
		var stores []*natsstore.Store
		return storetest.Cluster{
			Store: func(t *testing.T) hub.Store {
				st := newStore(t, ts, natsstore.Config{})
				mu.Lock()
				stores = append(stores, st)
				mu.Unlock()
				return st
			},
			Reset: func(t *testing.T) {
				mu.Lock()
				defer mu.Unlock()
				before := reconnects(stores...)
				ts.restartEmpty()
				awaitReconnected(t, before, stores...)
			},
		}
	})
}
