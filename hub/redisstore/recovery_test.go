package redisstore

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

// joinFrom dials n and joins room from since.
func joinFrom(t *testing.T, n *hubNode, room string, since hub.Position) (*clientConn, hub.Recovery) {
	t.Helper()
	c, s := n.mustDial(t)
	rec, err := n.JoinFrom(s.ID(), room, since)
	if err != nil {
		t.Fatalf("JoinFrom(%s): %v", since, err)
	}
	return &clientConn{c}, rec
}

// A position trimmed away by Size (MAXLEN) or by age (MINID) gets the
// resync answer on any node, with the room's position for the app's
// snapshot, then live messages; a position still held recovers; a member
// that was there all along is unaffected.
func TestTrimmedResync(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	t.Run("size", func(t *testing.T) {
		o := nodeOpts{prefix: "size", policy: hub.HistoryPolicy{Size: 5}}
		a, b := startNode(t, client, "a", o), startNode(t, client, "b", o)
		member, _ := joinFrom(t, a, "h-s", hub.Position{})
		var last hub.Position
		for i := range 20 {
			if _, err := a.SendToRoom("h-s", hub.Text("m"+strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
			last, _ = member.read(t)
		}
		old := hub.Position{Epoch: last.Epoch, Offset: 2}
		c, rec := joinFrom(t, b, "h-s", old)
		if rec.Recovered || !errors.Is(rec.Reason, hub.ErrPositionLost) || rec.Position != last {
			t.Fatalf("JoinFrom a trimmed position = %+v, want a resync at %s", rec, last)
		}
		held := hub.Position{Epoch: last.Epoch, Offset: 15}
		c2, rec := joinFrom(t, b, "h-s", held)
		if !rec.Recovered || rec.Replayed != 5 || rec.Position != last {
			t.Fatalf("JoinFrom the 5th newest = %+v, want 5 replayed up to %s", rec, last)
		}
		for i := 15; i < 20; i++ {
			if p, d := c2.read(t); p.Offset != uint64(i+1) || d != "m"+strconv.Itoa(i) {
				t.Fatalf("replay read %s %q, want m%d at %d", p, d, i, i+1)
			}
		}
		if _, err := a.SendToRoom("h-s", hub.Text("live")); err != nil {
			t.Fatal(err)
		}
		for _, cc := range []*clientConn{member, c, c2} {
			if p, d := cc.read(t); d != "live" || p.Offset != 21 || p.Epoch != last.Epoch {
				t.Fatalf("read %s %q, want live at 21@%s", p, d, last.Epoch)
			}
		}
		if st := b.Stats().History; st.Resynced != 1 || st.Recovered != 1 || st.Replayed != 5 {
			t.Fatalf("node b history stats %+v", st)
		}
	})
	t.Run("age", func(t *testing.T) {
		o := nodeOpts{prefix: "age", policy: hub.HistoryPolicy{Size: 100, TTL: time.Second}}
		a, b := startNode(t, client, "a", o), startNode(t, client, "b", o)
		for i := range 3 {
			if _, err := a.SendToRoom("h-t", hub.Text("old"+strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		entries, top, err := a.ReadHistory("h-t", hub.Position{}, 10)
		if err != nil || len(entries) != 3 {
			t.Fatalf("ReadHistory = %d entries, %v", len(entries), err)
		}
		first := entries[0].Position
		// Wait (bounded) for the server's clock to pass the TTL.
		deadline := time.Now().Add(waitFor)
		for {
			entries, _, err = a.ReadHistory("h-t", hub.Position{}, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d messages held %v after a TTL of 1s", len(entries), waitFor)
			}
			time.Sleep(100 * time.Millisecond) // waiting for time itself to pass
		}
		if _, err := a.SendToRoom("h-t", hub.Text("new")); err != nil {
			t.Fatal(err)
		}
		_, rec := joinFrom(t, b, "h-t", first)
		if rec.Recovered || !errors.Is(rec.Reason, hub.ErrPositionLost) {
			t.Fatalf("JoinFrom an expired position = %+v, want a resync", rec)
		}
		// The newest expired position has missed only "new", unless the
		// room expired whole and started a new epoch: then it resyncs.
		c, rec := joinFrom(t, b, "h-t", top)
		if rec.Position.Epoch == top.Epoch {
			if !rec.Recovered || rec.Replayed != 1 {
				t.Fatalf("JoinFrom the newest expired position = %+v, want \"new\" replayed", rec)
			}
			if _, d := c.read(t); d != "new" {
				t.Fatalf("replayed %q", d)
			}
		} else if rec.Recovered || !errors.Is(rec.Reason, hub.ErrPositionLost) {
			t.Fatalf("JoinFrom an expired epoch = %+v, want a resync", rec)
		}
	})
}

// A real restart of redis-server without persistence loses every room's
// history: the next message starts a new epoch at offset 1, members
// already in the room get it, and a client rejoining from the old epoch
// on any node is told to resync, never handed offset 2 of the new epoch
// as if it followed offset 1 of the old one.
func TestRestartNewEpoch(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	o := nodeOpts{policy: hub.HistoryPolicy{Size: 100}}
	a, b := startNode(t, client, "a", o), startNode(t, client, "b", o)
	member, _ := joinFrom(t, a, "h-e", hub.Position{})
	if _, err := a.SendToRoom("h-e", hub.Text("before")); err != nil {
		t.Fatal(err)
	}
	old, _ := member.read(t)

	srv.Restart()
	a.awaitBroker(t, false)
	a.awaitBroker(t, true)
	b.awaitBroker(t, false)
	b.awaitBroker(t, true)

	if _, err := a.SendToRoom("h-e", hub.Text("after")); err != nil {
		t.Fatalf("SendToRoom after the restart: %v", err)
	}
	pos, data := member.read(t)
	if data != "after" || pos.Offset != 1 || pos.Epoch == old.Epoch || pos.Epoch == "" {
		t.Fatalf("after the restart the member read %s %q, want offset 1 of a new epoch (was %s)", pos, data, old)
	}
	// a's "after" may still be on its way to b through the broker when b's
	// session joins: told to resync at that position, the session must not
	// get it afterwards.
	c, rec := joinFrom(t, b, "h-e", old)
	if rec.Recovered || !errors.Is(rec.Reason, hub.ErrPositionLost) || rec.Position != pos {
		t.Fatalf("JoinFrom the old epoch = %+v, want a resync at %s", rec, pos)
	}
	// Both continue live in the new epoch, across nodes.
	if _, err := b.SendToRoom("h-e", hub.Text("live")); err != nil {
		t.Fatal(err)
	}
	for _, cc := range []*clientConn{member, c} {
		if p, d := cc.read(t); d != "live" || p.Offset != 2 || p.Epoch != pos.Epoch {
			t.Fatalf("read %s %q, want live at 2@%s", p, d, pos.Epoch)
		}
	}
}

// While Redis is down, SendToRoom to a room with history fails with
// ErrHistory and sends nothing (counted in AppendFailed), rooms without
// history still work on the node, and once the server is back the store
// works again with no action.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	a := startNode(t, client, "a", nodeOpts{policy: hub.HistoryPolicy{Size: 100}, timeout: 5 * time.Second})
	member, _ := joinFrom(t, a, "h-d", hub.Position{})
	plain, s := a.mustDial(t)
	if err := a.Join(s.ID(), "plain"); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	a.awaitBroker(t, false)
	if n, err := a.SendToRoom("h-d", hub.Text("lost")); !errors.Is(err, hub.ErrHistory) || n != 0 {
		t.Fatalf("SendToRoom while Redis is down = %d, %v; want ErrHistory", n, err)
	}
	if st := a.Stats().History; st.AppendFailed != 1 || st.Appended != 0 {
		t.Fatalf("history stats %+v, want 1 failed append", st)
	}
	if n, err := a.SendToRoom("plain", hub.Text("plain")); err != nil || n != 1 {
		t.Fatalf("SendToRoom to a room without history while Redis is down = %d, %v", n, err)
	}
	(&clientConn{plain}).readRaw(t, "plain")

	srv.Restart()
	a.awaitBroker(t, true)
	if _, err := a.SendToRoom("h-d", hub.Text("back")); err != nil {
		t.Fatalf("SendToRoom once Redis is back: %v", err)
	}
	// The failed message never reached the member; the next one did, at
	// offset 1 of the epoch the restarted server started.
	if p, d := member.read(t); d != "back" || p.Offset != 1 {
		t.Fatalf("member read %s %q, want back at 1", p, d)
	}
}
