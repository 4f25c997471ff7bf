package brokertest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
)

// hubPresenceTTL is the hubs' Config.PresenceTTL in the presence cases:
// short, so that a dead node's members expire well within Wait.
func hubPresenceTTL() time.Duration { return max(PresenceTTL, 3*time.Second) }

func skipWithoutPresence(t *testing.T, c Cluster) {
	t.Helper()
	b := c.Broker(t)
	_, ok := b.(hub.PresenceBroker)
	b.Close()
	if !ok {
		t.Skip("the broker does not implement hub.PresenceBroker")
	}
}

// ids returns the session IDs (and checks the nodes and info) of room's
// presence as h sees it, or nil on an error.
func presenceIDs(h *hubNode, room string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	ms, err := h.Presence(ctx, room)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.SessionID)
	}
	return out
}

// awaitPresence waits for an event about session id in room on h.
func awaitPresence(t *testing.T, h *hubNode, room, id string, left bool) hub.PresenceEvent {
	t.Helper()
	deadline := time.After(Wait)
	for {
		select {
		case ev := <-h.presence:
			if ev.Room == room && ev.Member.SessionID == id && ev.Left == left {
				return ev
			}
		case <-deadline:
			t.Fatalf("%s: no presence event (left=%v) for %s in %s", h.NodeID(), left, id, room)
		}
	}
}

// hubPresence: presence spans the cluster with each member's node and
// info, joins and leaves are reported on the other node, and the members
// of a node that dies without a goodbye expire while live ones stay.
func hubPresence(t *testing.T, c Cluster) {
	skipWithoutPresence(t, c)
	cfg := func(node string, b hub.Broker) hub.Config {
		return hub.Config{NodeID: node, Broker: b, Presence: true, PresenceTTL: hubPresenceTTL()}
	}
	ha := newHub(t, c, cfg("node-a", nil))
	hb := newHub(t, c, cfg("node-b", nil))
	_, sa := ha.dial(t)
	must(t, sa.SetPresenceInfo([]byte("ann")))
	must(t, ha.Join(sa.ID(), "lobby"))
	cb, sb := hb.dial(t)
	must(t, sb.SetPresenceInfo([]byte("bob")))
	must(t, hb.Join(sb.ID(), "lobby"))

	want := []string{sa.ID(), sb.ID()}
	eventually(t, "both members listed", func() bool { return slices.Equal(presenceIDs(ha, "lobby"), want) })
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	ms, err := hb.Presence(ctx, "lobby")
	must(t, err)
	if len(ms) != 2 || ms[0].Node != "node-a" || string(ms[0].Info) != "ann" || ms[1].Node != "node-b" || string(ms[1].Info) != "bob" || ms[0].Since.IsZero() {
		t.Fatalf("Presence = %+v", ms)
	}
	if n, err := ha.PresenceCount(ctx, "lobby"); n != 2 || err != nil {
		t.Fatalf("PresenceCount = %d, %v", n, err)
	}
	// node-a has a member in lobby, so it hears of bob's join and leave.
	ev := awaitPresence(t, ha, "lobby", sb.ID(), false)
	if ev.Member.Node != "node-b" || string(ev.Member.Info) != "bob" {
		t.Fatalf("join event %+v", ev)
	}
	awaitPresence(t, hb, "lobby", sb.ID(), false) // and node-b of its own
	cb.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(Wait))
	awaitPresence(t, ha, "lobby", sb.ID(), true)
	eventually(t, "bob gone", func() bool { return slices.Equal(presenceIDs(ha, "lobby"), []string{sa.ID()}) })

	// A node that dies without a goodbye: its updates stop reaching the
	// broker, its members expire within the TTL, ann stays (refreshed).
	mute := &wrapper{Broker: c.Broker(t)}
	hd := newHub(t, c, cfg("node-d", mute))
	_, sd := hd.dial(t)
	must(t, hd.Join(sd.ID(), "lobby"))
	eventually(t, "node-d's member listed", func() bool { return slices.Contains(presenceIDs(ha, "lobby"), sd.ID()) })
	mute.mute.Store(true)
	sctx, scancel := context.WithTimeout(context.Background(), Wait)
	defer scancel()
	hd.Shutdown(sctx)
	eventually(t, "node-d's member expired, ann refreshed", func() bool {
		return slices.Equal(presenceIDs(ha, "lobby"), []string{sa.ID()})
	})

	// Refusals: presence off, oversized info.
	plain := newHub(t, c, hub.Config{NodeID: "node-p"})
	if _, err := plain.Presence(ctx, "lobby"); !errors.Is(err, hub.ErrNoPresence) {
		t.Fatalf("Presence with Config.Presence off = %v, want ErrNoPresence", err)
	}
	if err := sa.SetPresenceInfo(make([]byte, hub.MaxPresenceInfo+1)); !errors.Is(err, hub.ErrInfoTooLarge) {
		t.Fatalf("SetPresenceInfo of %d bytes = %v", hub.MaxPresenceInfo+1, err)
	}
}

// hubRestart: the hubs announce the outage and the recovery, count it, and
// delivery (and presence) resume without the application doing anything.
func hubRestart(t *testing.T, c Cluster) {
	if c.Restart == nil {
		t.Skip("the broker has no server to restart (Cluster.Restart is nil)")
	}
	probe := c.Broker(t)
	_, presence := probe.(hub.PresenceBroker)
	probe.Close()
	cfg := func(node string) hub.Config {
		return hub.Config{NodeID: node, Presence: presence, PresenceTTL: hubPresenceTTL()}
	}
	ha := newHub(t, c, cfg("node-a"))
	hb := newHub(t, c, cfg("node-b"))
	cb, sb := hb.dial(t)
	must(t, hb.Join(sb.ID(), "r"))
	must(t, hb.Subscribe(sb.ID(), "t.>"))
	c.Restart(t)
	for _, h := range []*hubNode{ha, hb} {
		for _, up := range []bool{false, true} {
			select {
			case ev := <-h.brokerEv:
				if ev.Up != up || (!up && ev.Err == nil) {
					t.Fatalf("%s: OnBroker got %+v, want Up=%v", h.NodeID(), ev, up)
				}
			case <-time.After(Wait):
				t.Fatalf("%s: no OnBroker event (Up=%v)", h.NodeID(), up)
			}
		}
		if st := h.Stats().Cluster; st.Outages != 1 || st.Down {
			t.Fatalf("%s: cluster stats %+v, want 1 outage, not down", h.NodeID(), st)
		}
	}
	mustRoute(t, 0)(ha.SendToRoom("r", hub.Text("room")))
	mustRoute(t, 0)(ha.Publish("t.x", hub.Text("topic")))
	mustRoute(t, 0)(ha.Send(sb.ID(), hub.Text("session")))
	mustRoute(t, 0)(ha.Broadcast(hub.Text("all")))
	for _, want := range []string{"room", "topic", "session", "all"} {
		read(t, cb, want)
	}
	if presence {
		eventually(t, "presence restored", func() bool { return slices.Equal(presenceIDs(ha, "r"), []string{sb.ID()}) })
	}
}
