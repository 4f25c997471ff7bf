package natsstore_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
)

// A server restarted without its store directory loses the stream: the
// live member sees the room start again at offset 1 of a new epoch, and a
// client rejoining from the old epoch is told to resync, never served a
// gap. A restart with the directory keeps the epoch and the history, and
// a rejoin recovers.
func TestRestart(t *testing.T) {
	// The two cases run one after the other. (A 20 s stall once blamed
	// on two servers restarting at once was a publish sent on the
	// connection the restart had closed, before the client noticed: see
	// TestConnLost.)
	t.Run("without persistence", func(t *testing.T) {
		ts := startServer(t)
		a, b := newNode(t, ts, nodeConfig{name: "a"}), newNode(t, ts, nodeConfig{name: "b"})
		c, s := b.dial(t)
		if err := b.Join(s.ID(), "h-e"); err != nil {
			t.Fatal(err)
		}
		sendEventually(t, a, "h-e", "before")
		old, data := readFramed(t, c)
		if data != "before" || old.Offset != 1 {
			t.Fatalf("read %s %q", old, data)
		}
		before := reconnects(a.store, b.store)
		ts.restartEmpty()
		awaitReconnected(t, before, a.store, b.store)
		sendEventually(t, a, "h-e", "after")
		pos, data := readFramed(t, c)
		if data != "after" || pos.Offset != 1 || pos.Epoch == old.Epoch {
			t.Fatalf("after the restart read %s %q, want offset 1 of a new epoch (was %s)", pos, data, old)
		}
		top := pos
		for _, th := range []*testHub{a, b} {
			c2, s2 := th.dial(t)
			rec, err := th.JoinFrom(s2.ID(), "h-e", old)
			if err != nil || rec.Recovered || !errors.Is(rec.Reason, hub.ErrPositionLost) || rec.Position != top {
				t.Fatalf("node %s: JoinFrom the lost epoch = %+v, %v; want a resync at %s", th.NodeID(), rec, err, top)
			}
			// Live messages follow, numbered on, for the resynced client
			// and the member alike.
			sendEventually(t, a, "h-e", "live "+th.NodeID())
			top.Offset++
			for _, cc := range []*websocket.Conn{c2, c} {
				if p, d := readFramed(t, cc); d != "live "+th.NodeID() || p != top {
					t.Fatalf("node %s: after the resync read %s %q, want it at %s", th.NodeID(), p, d, top)
				}
			}
		}
		if got := a.Stats().History.Resynced + b.Stats().History.Resynced; got != 2 {
			t.Fatalf("Resynced = %d, want 2", got)
		}
	})
	t.Run("with persistence", func(t *testing.T) {
		ts := startServer(t)
		a := newNode(t, ts, nodeConfig{name: "a", single: true})
		c, s := a.dial(t)
		if err := a.Join(s.ID(), "h-p"); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			sendEventually(t, a, "h-p", strconv.Itoa(i))
		}
		var last hub.Position
		for range 3 {
			last, _ = readFramed(t, c)
		}
		before := reconnects(a.store)
		ts.restart()
		awaitReconnected(t, before, a.store)
		sendEventually(t, a, "h-p", "3")
		if p, d := readFramed(t, c); d != "3" || p != (hub.Position{Epoch: last.Epoch, Offset: 4}) {
			t.Fatalf("after the restart read %s %q, want 4@%s", p, d, last.Epoch)
		}
		c2, s2 := a.dial(t)
		rec, err := a.JoinFrom(s2.ID(), "h-p", hub.Position{Epoch: last.Epoch, Offset: 1})
		if err != nil || !rec.Recovered || rec.Replayed != 3 {
			t.Fatalf("JoinFrom 1@%s after a restart with persistence = %+v, %v; want 3 replayed", last.Epoch, rec, err)
		}
		for want := uint64(2); want <= 4; want++ {
			if p, _ := readFramed(t, c2); p.Offset != want {
				t.Fatalf("replay read %s, want offset %d", p, want)
			}
		}
	})
}

// A position older than a room keeps (trimmed by its Size) gets the
// resync answer; the member who was there all along is unaffected, and a
// recent position still recovers.
func TestTrimmedResync(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a := newNode(t, ts, nodeConfig{name: "a", size: 5, single: true})
	c, s := a.dial(t)
	if err := a.Join(s.ID(), "h-t"); err != nil {
		t.Fatal(err)
	}
	var ps []hub.Position
	for i := range 200 { // past the purge every 64 appends
		if _, err := a.SendToRoom("h-t", hub.Text(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		p, _ := readFramed(t, c)
		ps = append(ps, p)
	}
	top := ps[199]
	c2, s2 := a.dial(t)
	rec, err := a.JoinFrom(s2.ID(), "h-t", ps[100])
	if err != nil || rec.Recovered || !errors.Is(rec.Reason, hub.ErrPositionLost) || rec.Position != top {
		t.Fatalf("JoinFrom a trimmed position = %+v, %v; want a resync at %s", rec, err, top)
	}
	entries, _, err := a.ReadHistory("h-t", hub.Position{}, 100)
	if err != nil || len(entries) != 5 || entries[0].Offset != 196 {
		t.Fatalf("ReadHistory from the oldest = %d entries from %v, %v; want the newest 5", len(entries), entries, err)
	}
	c3, s3 := a.dial(t)
	rec, err = a.JoinFrom(s3.ID(), "h-t", ps[195])
	if err != nil || !rec.Recovered || rec.Replayed != 4 {
		t.Fatalf("JoinFrom within the kept five = %+v, %v", rec, err)
	}
	if _, err := a.SendToRoom("h-t", hub.Text("live")); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if p, _ := readFramed(t, c3); p.Offset != uint64(197+i) {
			t.Fatalf("replay read %s", p)
		}
	}
	for _, cc := range []struct {
		name string
		read func() (hub.Position, string)
	}{
		{"member", func() (hub.Position, string) { return readFramed(t, c) }},
		{"resynced", func() (hub.Position, string) { return readFramed(t, c2) }},
		{"recovered", func() (hub.Position, string) { return readFramed(t, c3) }},
	} {
		if p, d := cc.read(); d != "live" || p.Offset != 201 {
			t.Fatalf("%s read %s %q, want live at 201", cc.name, p, d)
		}
	}
}
