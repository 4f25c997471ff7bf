package serve

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

// TestClusterStore: a single node has no store (the hub keeps its own);
// on a broker, the stores of one prefix share each room's positions (as
// two nodes' would), and another prefix has rooms of its own.
func TestClusterStore(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	t.Run("single node", func(t *testing.T) {
		var f Flags
		cl, err := f.OpenCluster(io.Discard, logger)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if st, err := cl.Store("chat"); st != nil || err != nil {
			t.Fatalf("Store on a single node: %v, %v; want nil, nil", st, err)
		}
	})
	for _, eng := range []struct {
		name  string
		flags func(t *testing.T) ClusterFlags
	}{
		{"redis", func(t *testing.T) ClusterFlags {
			return ClusterFlags{Broker: "redis://" + redistest.Start(t).Addr()}
		}},
		{"nats", func(t *testing.T) ClusterFlags {
			return ClusterFlags{EmbeddedNATS: true, NATSAddr: "127.0.0.1:0"}
		}},
	} {
		t.Run(eng.name, func(t *testing.T) {
			f := Flags{Cluster: eng.flags(t)}
			cl, err := f.OpenCluster(io.Discard, logger)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cl.Close) // after the stores' cleanups below: last in, first out
			open := func(prefix string) hub.Store {
				t.Helper()
				st, err := cl.Store(prefix)
				if err != nil || st == nil {
					t.Fatalf("Store(%q): %v, %v", prefix, st, err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			nodeA, nodeB, other := open("chat"), open("chat"), open("other.app")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			policy := hub.HistoryPolicy{Size: 10}
			var got []hub.Position
			for i, st := range []hub.Store{nodeA, nodeB, nodeA} {
				pos, err := st.Append(ctx, "lobby", hub.Text("m"), policy)
				if err != nil {
					t.Fatalf("append %d: %v", i, err)
				}
				got = append(got, pos)
			}
			for i, pos := range got {
				if pos.Offset != uint64(i+1) || pos.Epoch != got[0].Epoch {
					t.Fatalf("positions %v: want offsets 1, 2, 3 of one epoch, whichever node appends", got)
				}
			}
			page, err := nodeB.Read(ctx, "lobby", got[0], 10)
			if err != nil || len(page.Entries) != 2 || page.Entries[0].Offset != 2 || page.Top != got[2] {
				t.Fatalf("node b reads after %v: %+v, %v; want offsets 2 and 3, top %v", got[0], page, err, got[2])
			}
			pos, err := other.Append(ctx, "lobby", hub.Text("x"), policy)
			if err != nil || pos.Offset != 1 {
				t.Fatalf("another prefix's lobby: %v, %v; want offset 1 (a room of its own)", pos, err)
			}
		})
	}
}
