package natsstore_test

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
)

// TestNoGapNoDup is the hub's recovery property with this store and the
// NATS broker: three nodes, each with its own broker and store client on
// one JetStream server, publish to one room while clients keep dropping
// their connections and rejoining (each time on another node) from the
// last position they saw. Every client must see every message exactly
// once, in offset order, and every rejoin must recover.
//
// In "anchored" each node also has a member that stays in the room from
// start to end (and must see every message once, in order, too), so the
// room never empties on a node. In "churn" the room empties and is
// created again on the nodes as the clients move: a room's old line must
// not reach the next room's members (a hub bug this store's timing
// exposed, fixed in hub/line.go).
func TestNoGapNoDup(t *testing.T) {
	t.Run("anchored", func(t *testing.T) { historyProperty(t, true) })
	t.Run("churn", func(t *testing.T) {
		historyProperty(t, false)
	})
}

func historyProperty(t *testing.T, anchored bool) {
	const (
		nodes       = 3
		room        = "h-prop"
		perNode     = 300 // messages each node's publisher sends
		clients     = 3
		maxPerVisit = 40
		window      = 200 // publishers stay at most this far ahead of the slowest client
	)
	ts := startServer(t)
	hubs := make([]*testHub, nodes)
	for i := range hubs {
		hubs[i] = newNode(t, ts, nodeConfig{name: fmt.Sprintf("n%d", i)})
	}
	// The room's first message gives it its epoch (a Read of an empty
	// room answers an epoch the first Append does not continue: see the
	// package doc); from there each client must see offsets 2 to total.
	if _, err := hubs[0].SendToRoom(room, hub.Text("seed")); err != nil {
		t.Fatal(err)
	}
	total := uint64(nodes*perNode) + 1

	var awg sync.WaitGroup
	defer awg.Wait()
	if anchored {
		for i, h := range hubs {
			c, s := h.dial(t)
			if err := h.Join(s.ID(), room); err != nil {
				t.Fatal(err)
			}
			awg.Add(1)
			go func() {
				defer awg.Done()
				last := uint64(1)
				for last < total {
					c.SetReadDeadline(time.Now().Add(4 * wait))
					_, b, err := c.ReadMessage()
					if err != nil {
						t.Errorf("anchor on node %d: read after %d: %v", i, last, err)
						return
					}
					pos, _ := parseFramed(string(b))
					if pos.Offset != last+1 {
						t.Errorf("anchor on node %d: got %s after %d: a gap or a duplicate", i, pos, last)
						return
					}
					last = pos.Offset
				}
			}()
		}
	}

	type visitor struct {
		last  hub.Position
		seen  []string
		joins int
	}
	vs := make([]*visitor, clients)
	join := func(v *visitor, node int, first bool) *websocket.Conn {
		c, s := hubs[node].dial(t)
		rec, err := hubs[node].JoinFrom(s.ID(), room, v.last)
		if err != nil {
			t.Errorf("JoinFrom: %v", err)
			return c
		}
		v.joins++
		if first {
			if rec.Recovered || !errors.Is(rec.Reason, hub.ErrPositionLost) {
				t.Errorf("first join without a position: %+v, want a resync", rec)
			}
			v.last = rec.Position
		} else if !rec.Recovered {
			t.Errorf("rejoin from %s on node %d: %+v, want recovered", v.last, node, rec)
		}
		return c
	}
	conns := make([]*websocket.Conn, clients)
	for i := range vs {
		vs[i] = &visitor{}
		conns[i] = join(vs[i], i%nodes, true)
		if vs[i].last.Offset != 1 {
			t.Fatalf("room at %s after the seed", vs[i].last)
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
			deadline := time.Now().Add(4 * wait)
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
	for i, v := range vs {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			c := conns[i]
			for visit := 1; visit < 10_000 && v.last.Offset < total; visit++ {
				n := 1 + rng.IntN(maxPerVisit)
				for k := 0; k < n && v.last.Offset < total; k++ {
					c.SetReadDeadline(time.Now().Add(wait))
					_, b, err := c.ReadMessage()
					if err != nil {
						t.Errorf("client %d visit %d: read after %s: %v", i, visit, v.last, err)
						return
					}
					pos, data := parseFramed(string(b))
					if pos.Epoch != v.last.Epoch || pos.Offset != v.last.Offset+1 {
						t.Errorf("client %d visit %d: got %s after %s: a gap or a duplicate", i, visit, pos, v.last)
						return
					}
					v.last = pos
					lasts[i].Store(pos.Offset - 1)
					v.seen = append(v.seen, data)
				}
				c.Close()
				c = join(v, (i+visit)%nodes, false)
			}
			c.Close()
		}()
	}
	wg.Wait()
	cwg.Wait()
	for _, h := range hubs {
		t.Logf("node %s: %+v", h.NodeID(), h.Stats().History)
	}
	if t.Failed() {
		return
	}
	want := map[string]bool{}
	for i := range nodes {
		for j := range perNode {
			want[fmt.Sprintf("n%d-%d", i, j)] = true
		}
	}
	for i, v := range vs {
		if uint64(len(v.seen)) != total-1 {
			t.Fatalf("client %d saw %d messages, want %d", i, len(v.seen), total-1)
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
		if v.joins < 10 {
			t.Fatalf("client %d rejoined only %d times", i, v.joins)
		}
	}
	var recovered uint64
	for _, h := range hubs {
		recovered += h.Stats().History.Recovered
	}
	t.Logf("rejoins recovered: %d; joins per client: %d %d %d", recovered, vs[0].joins, vs[1].joins, vs[2].joins)
	if recovered == 0 {
		t.Fatal("no recovery counted")
	}
}
