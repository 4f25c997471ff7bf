package hub_test

import (
	"context"
	"errors"
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

// MaxRooms is the bound: the room appended to least recently is forgotten
// whole, and its readers are told their position is lost.
func TestMemoryStoreMaxRooms(t *testing.T) {
	if _, err := hub.NewMemoryStore(hub.MemoryStoreConfig{MaxRooms: -1}); !errors.Is(err, hub.ErrConfig) {
		t.Fatalf("MaxRooms -1: %v", err)
	}
	st, err := hub.NewMemoryStore(hub.MemoryStoreConfig{MaxRooms: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := hub.HistoryPolicy{Size: 10}
	a, _ := st.Append(ctx, "a", hub.Text("a"), p)
	st.Append(ctx, "b", hub.Text("b"), p)
	st.Append(ctx, "c", hub.Text("c"), p) // forgets a
	if rooms, msgs, bytes := st.HistorySize(); rooms != 2 || msgs != 2 || bytes != 2 {
		t.Fatalf("HistorySize = %d rooms, %d messages, %d bytes; want 2, 2, 2", rooms, msgs, bytes)
	}
	if _, err := st.Read(ctx, "a", a, 10); !errors.Is(err, hub.ErrPositionLost) {
		t.Fatalf("Read of the forgotten room = %v, want ErrPositionLost", err)
	}
	if _, err := st.Read(ctx, "b", hub.Position{}, -1); !errors.Is(err, hub.ErrHistory) {
		t.Fatalf("Read with a negative limit = %v", err)
	}
	if _, err := st.Append(ctx, "b", hub.Text("b"), hub.HistoryPolicy{}); !errors.Is(err, hub.ErrHistory) {
		t.Fatalf("Append with a zero policy = %v", err)
	}
}
