package redisstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

// TestNoGapNoDup is the recovery property over three nodes, each with a
// redisbroker and a Store on one real redis-server: clients keep dropping
// their connection and rejoining (each time on another node) from the last
// position they saw, while a publisher on every node keeps publishing.
// Every client must see every message exactly once, in offset order, and
// every rejoin but the first must recover.
//
// "rooms kept" has a watching member on every node, so that each node's
// room (and its line) lives through the test; "rooms emptied" lets a
// node's room empty and be created again as the clients come and go.
func TestNoGapNoDup(t *testing.T) {
	t.Run("rooms kept", func(t *testing.T) { noGapNoDup(t, true) })
	t.Run("rooms emptied", func(t *testing.T) {
		// A node's room (and its line) empties and is created again as
		// clients come and go: the old line must not reach the new room.
		noGapNoDup(t, false)
	})
}

func noGapNoDup(t *testing.T, keepRooms bool) {
	const (
		nodes       = 3
		room        = "h-prop"
		perNode     = 300 // messages each node's publisher sends
		clients     = 3
		maxPerVisit = 40
		window      = 200 // publishers stay at most this far ahead of the slowest client
	)
	srv := redistest.Start(t)
	client := newClient(t, srv)
	hubs := make([]*hubNode, nodes)
	for i := range hubs {
		hubs[i] = startNode(t, client, fmt.Sprintf("n%d", i), nodeOpts{policy: hub.HistoryPolicy{Size: 100_000}})
	}
	total := uint64(nodes * perNode)
	if keepRooms {
		for _, h := range hubs {
			c, s := h.mustDial(t)
			if err := h.Join(s.ID(), room); err != nil {
				t.Fatal(err)
			}
			go func() {
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}()
		}
	}

	type visitor struct {
		last hub.Position
		seen []string // payload by offset-1
	}
	// join dials node and rejoins from v.last; it reports with Errorf, so
	// it may run on the clients' goroutines.
	join := func(v *visitor, node int, first bool) *websocket.Conn {
		c, s, err := hubs[node].dial(t)
		if err != nil {
			t.Errorf("dial: %v", err)
			return nil
		}
		rec, err := hubs[node].JoinFrom(s.ID(), room, v.last)
		switch {
		case err != nil:
			t.Errorf("JoinFrom: %v", err)
		case first:
			if rec.Recovered || !errors.Is(rec.Reason, hub.ErrPositionLost) {
				t.Errorf("first join without a position: %+v, want a resync", rec)
			}
			v.last = rec.Position
		case !rec.Recovered:
			t.Errorf("rejoin from %s on node %d: %+v, want recovered", v.last, node, rec)
		}
		return c
	}
	vs := make([]*visitor, clients)
	conns := make([]*websocket.Conn, clients)
	for i := range vs {
		vs[i] = &visitor{}
		conns[i] = join(vs[i], i%nodes, true)
		if t.Failed() {
			t.FailNow()
		}
		if vs[i].last.Offset != 0 || vs[i].last.Epoch == "" {
			t.Fatalf("room at %s before any message", vs[i].last)
		}
	}

	var sent atomic.Uint64
	lasts := make([]atomic.Uint64, clients)
	slowest := func() uint64 {
		m := lasts[0].Load()
		for i := range lasts {
			m = min(m, lasts[i].Load())
		}
		return m
	}
	var wg sync.WaitGroup
	for i, h := range hubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(3 * waitFor)
			for j := range perNode {
				for sent.Load() > slowest()+window {
					if t.Failed() {
						return // a client gave up; it said why
					}
					if time.Now().After(deadline) {
						t.Errorf("node %d: clients stopped reading", i)
						return
					}
					time.Sleep(100 * time.Microsecond) // a bounded poll on the clients' progress
				}
				sent.Add(1)
				if _, err := h.SendToRoom(room, hub.Text(fmt.Sprintf("n%d-%d", i, j))); err != nil {
					t.Errorf("SendToRoom: %v", err)
					return
				}
			}
		}()
	}

	var cwg sync.WaitGroup
	var rejoins atomic.Uint64
	for i, v := range vs {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			c := conns[i]
			for visit := 1; visit < 10_000 && v.last.Offset < total && c != nil; visit++ {
				n := 1 + rng.IntN(maxPerVisit)
				for k := 0; k < n && v.last.Offset < total; k++ {
					c.SetReadDeadline(time.Now().Add(waitFor))
					_, b, err := c.ReadMessage()
					if err != nil {
						t.Errorf("client %d visit %d: read after %s: %v", i, visit, v.last, err)
						return
					}
					pos, data, err := parseFramed(string(b))
					if err != nil {
						t.Error(err)
						return
					}
					if pos.Epoch != v.last.Epoch || pos.Offset != v.last.Offset+1 {
						t.Errorf("client %d visit %d: got %s after %s: a gap or a duplicate", i, visit, pos, v.last)
						return
					}
					v.last = pos
					lasts[i].Store(pos.Offset)
					v.seen = append(v.seen, data)
				}
				c.Close() // no close frame: the connection just drops
				c = join(v, (i+visit)%nodes, false)
				rejoins.Add(1)
			}
			if c != nil {
				c.Close()
			}
		}()
	}
	wg.Wait()
	cwg.Wait()
	if t.Failed() {
		for _, h := range hubs {
			t.Logf("%s: %+v", h.NodeID(), h.Stats().History)
		}
		return
	}
	want := map[string]bool{}
	for i := range nodes {
		for j := range perNode {
			want[fmt.Sprintf("n%d-%d", i, j)] = true
		}
	}
	for i, v := range vs {
		if uint64(len(v.seen)) != total {
			t.Fatalf("client %d saw %d messages, want %d", i, len(v.seen), total)
		}
		got := map[string]bool{}
		for _, d := range v.seen {
			if !want[d] || got[d] {
				t.Fatalf("client %d saw %q unexpected or twice", i, d)
			}
			got[d] = true
		}
		if i > 0 && strings.Join(v.seen, ",") != strings.Join(vs[0].seen, ",") {
			t.Fatalf("clients 0 and %d saw the room in different orders", i)
		}
	}
	var recovered, replayed uint64
	for _, h := range hubs {
		st := h.Stats().History
		recovered += st.Recovered
		replayed += st.Replayed
	}
	if recovered != rejoins.Load() || replayed == 0 {
		t.Fatalf("Recovered %d of %d rejoins, Replayed %d: every rejoin must recover and some replay", recovered, rejoins.Load(), replayed)
	}
	t.Logf("%d rejoins over %d nodes, %d messages replayed", rejoins.Load(), nodes, replayed)
}
