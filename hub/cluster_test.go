package hub

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestRemoteDeliveryNeverWaits: a delivery from the broker does not wait
// under the Block policy (a full queue disconnects, as Disconnect does), so
// a stalled session on one node cannot hold the broker, the publishing
// node's outbox, or anyone else.
func TestRemoteDeliveryNeverWaits(t *testing.T) {
	t.Parallel()
	bus := NewMemoryBus()
	a := newTestHub(t, Config{PingInterval: -1, NodeID: "node-a", Broker: bus.Broker()})
	b := newTestHub(t, Config{
		PingInterval: -1, NodeID: "node-b", Broker: bus.Broker(),
		SlowPolicy: Block, BlockTimeout: time.Hour, // a wait would outlast the test
		MaxQueuedMessages: 2, WriteTimeout: 2 * time.Second, CloseTimeout: time.Second,
	})
	c := newTestHub(t, Config{PingInterval: -1, NodeID: "node-c", Broker: bus.Broker()})
	b.onConnect(func(s *Session) {
		if s.Header().Get("X-Stall") != "" {
			shrinkSendBuffer(t, s)
		}
	})
	_, stalled := b.dialWith(t, stalledDialer(), http.Header{"X-Stall": {"1"}})
	if err := b.Join(stalled.ID(), "r"); err != nil {
		t.Fatal(err)
	}
	cc, sc := c.dial(t)

	big := Binary(bytes.Repeat([]byte{'x'}, 32<<10))
	for range 64 {
		if _, err := a.SendToRoom("r", big); err != nil {
			t.Fatal(err)
		}
	}
	// The outbox hands envelopes over in order: "tail" reaches node-c only
	// if no delivery to node-b waited for the stalled session.
	if _, err := a.Send(sc.ID(), Text("tail")); err != nil {
		t.Fatal(err)
	}
	readText(t, cc, "tail")
	if ev := b.awaitEnd(t, stalled); ev.code != CloseSlowConsumer {
		t.Fatalf("stalled session ended with %d %q, want %d", ev.code, ev.reason, CloseSlowConsumer)
	}
	if b.Stats().Dropped == 0 {
		t.Fatal("no dropped message counted")
	}
}

// TestBrokerOutage: while the broker's server is lost, Join still joins
// (and says the subscription failed), publishing fails asynchronously and
// is reported, the outage is announced; once it is back the hub
// resubscribes by itself and delivery resumes.
func TestBrokerOutage(t *testing.T) {
	t.Parallel()
	bus := NewMemoryBus()
	a := newTestHub(t, Config{PingInterval: -1, NodeID: "node-a", Broker: bus.Broker()})
	b := newTestHub(t, Config{PingInterval: -1, NodeID: "node-b", Broker: bus.Broker(), BrokerTimeout: waitFor})
	events := make(chan BrokerEvent, 4)
	b.OnBroker(func(ev BrokerEvent) { events <- ev })
	awaitEvent := func(up bool) {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Up != up {
				t.Fatalf("OnBroker got %+v, want Up=%v", ev, up)
			}
		case <-time.After(waitFor):
			t.Fatalf("no OnBroker event (Up=%v)", up)
		}
	}
	cb, sb := b.dial(t)

	bus.Down()
	awaitEvent(false)
	if st := b.Stats().Cluster; !st.Down || st.Outages != 1 {
		t.Fatalf("during the outage: %+v", st)
	}
	err := b.Join(sb.ID(), "r")
	if !errors.Is(err, ErrRemote) || !errors.Is(err, ErrBusDown) {
		t.Fatalf("Join during the outage = %v, want ErrRemote and ErrBusDown", err)
	}
	if got := b.Members("r"); !slices.Equal(got, []string{sb.ID()}) {
		t.Fatalf("after a Join the broker refused, members %q", got)
	}
	var re *RemoteError
	if err := b.awaitErr(t); !errors.As(err, &re) || re.Op != "subscribe" || re.Target != "r" {
		t.Fatalf("OnError got %v, want a subscribe *RemoteError", err)
	}
	if n, err := a.SendToRoom("r", Text("during")); n != 0 || err != nil {
		t.Fatalf("SendToRoom during the outage = %d, %v: the failure is asynchronous", n, err)
	}
	if err := a.awaitErr(t); !errors.As(err, &re) || re.Op != "publish" || !errors.Is(err, ErrBusDown) || re.Lost != 1 {
		t.Fatalf("OnError got %v, want a publish *RemoteError", err)
	}
	if st := a.Stats().Cluster; st.Failed != 1 || st.Published != 0 {
		t.Fatalf("publisher's stats during the outage: %+v", st)
	}

	bus.Up()
	awaitEvent(true)
	deadline := time.Now().Add(waitFor)
	for b.Stats().Cluster.Subscriptions != 1 { // the retry is the hub's own
		if time.Now().After(deadline) {
			t.Fatalf("never resubscribed: %+v", b.Stats().Cluster)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := a.SendToRoom("r", Text("after")); err != nil {
		t.Fatal(err)
	}
	readText(t, cb, "after")
	if st := b.Stats().Cluster; st.Down || st.Outages != 1 || st.SubscribeFailed == 0 {
		t.Fatalf("after the outage: %+v", st)
	}
}

// TestPresenceSingleNode: without a broker, presence is answered from the
// hub's memory, with the info each session set, and events are reported.
func TestPresenceSingleNode(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Config{PingInterval: -1, Presence: true})
	events := make(chan PresenceEvent, 16)
	h.OnPresence(func(ev PresenceEvent) { events <- ev })
	awaitEvent := func(id string, left bool) PresenceEvent {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Member.SessionID != id || ev.Left != left || ev.Room != "lobby" {
				t.Fatalf("event %+v, want %s left=%v", ev, id, left)
			}
			return ev
		case <-time.After(waitFor):
			t.Fatalf("no presence event for %s", id)
		}
		return PresenceEvent{}
	}
	c1, s1 := h.dial(t)
	_, s2 := h.dial(t)
	for i, s := range []*Session{s1, s2} {
		if err := s.SetPresenceInfo([]byte{'u', '0' + byte(i)}); err != nil {
			t.Fatal(err)
		}
		if err := h.Join(s.ID(), "lobby"); err != nil {
			t.Fatal(err)
		}
		if ev := awaitEvent(s.ID(), false); string(ev.Member.Info) != string([]byte{'u', '0' + byte(i)}) {
			t.Fatalf("join event %+v", ev)
		}
	}
	ctx := t.Context()
	ms, err := h.Presence(ctx, "lobby")
	if err != nil || len(ms) != 2 {
		t.Fatalf("Presence = %+v, %v", ms, err)
	}
	for i, m := range ms {
		if m.Node != h.NodeID() || string(m.Info) != string([]byte{'u', '0' + byte(i)}) || m.Since.IsZero() {
			t.Fatalf("member %d: %+v", i, m)
		}
	}
	if n, err := h.PresenceCount(ctx, "lobby"); n != 2 || err != nil {
		t.Fatalf("PresenceCount = %d, %v", n, err)
	}
	c1.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(CloseNormal, ""), time.Now().Add(waitFor))
	awaitEvent(s1.ID(), true)
	if ms, _ := h.Presence(ctx, "lobby"); len(ms) != 1 || ms[0].SessionID != s2.ID() {
		t.Fatalf("after a member left: %+v", ms)
	}
	if ms, err := h.Presence(ctx, "nobody here"); err != nil || len(ms) != 0 {
		t.Fatalf("Presence of an empty room = %+v, %v", ms, err)
	}

	// Refusals, each leaving the rest alone.
	if _, err := h.Presence(ctx, ""); !errors.Is(err, ErrBadName) {
		t.Fatalf("Presence of an unnamed room = %v", err)
	}
	if err := s2.SetPresenceInfo(make([]byte, MaxPresenceInfo+1)); !errors.Is(err, ErrInfoTooLarge) {
		t.Fatalf("SetPresenceInfo too large = %v", err)
	}
	if got := s2.PresenceInfo(); string(got) != "u1" {
		t.Fatalf("a refused SetPresenceInfo changed the info to %q", got)
	}
	off := newTestHub(t, Config{PingInterval: -1})
	if _, err := off.Presence(ctx, "lobby"); !errors.Is(err, ErrNoPresence) {
		t.Fatalf("Presence with Config.Presence off = %v", err)
	}
}

// TestClusterOpsSingleNode: without a broker, another node's session ID is
// not found, and CloseSession works on this node's sessions.
func TestClusterOpsSingleNode(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Config{PingInterval: -1, NodeID: "solo"})
	c, s := h.dial(t)
	for _, id := range []string{"other-1", "solo-zz", "nobody"} {
		if _, err := h.Send(id, Text("x")); !errors.Is(err, ErrSessionNotFound) {
			t.Errorf("Send(%q) = %v", id, err)
		}
		if err := h.Join(id, "r"); !errors.Is(err, ErrSessionNotFound) {
			t.Errorf("Join(%q) = %v", id, err)
		}
		if err := h.Leave(id, "r"); !errors.Is(err, ErrSessionNotFound) {
			t.Errorf("Leave(%q) = %v", id, err)
		}
		if err := h.CloseSession(id, CloseNormal, ""); !errors.Is(err, ErrSessionNotFound) {
			t.Errorf("CloseSession(%q) = %v", id, err)
		}
	}
	if err := h.CloseSession(s.ID(), CloseNoStatus, ""); !errors.Is(err, errBadCloseCode) {
		t.Fatalf("CloseSession with 1005 = %v", err)
	}
	if n, err := h.Send(s.ID(), Text("still open")); n != 1 || err != nil {
		t.Fatalf("Send = %d, %v", n, err)
	}
	readText(t, c, "still open")
	if err := h.CloseSession(s.ID(), 4002, "moved"); err != nil {
		t.Fatal(err)
	}
	if code, reason := awaitClose(t, c); code != 4002 || reason != "moved" {
		t.Fatalf("client saw %d %q", code, reason)
	}
	if st := h.Stats().Cluster; st != (ClusterStats{}) {
		t.Fatalf("a single node has cluster stats %+v", st)
	}
}

// TestShutdownBoundsBrokerCalls: a broker that never answers cannot hold
// Shutdown past its context; what was left is counted.
func TestShutdownBoundsBrokerCalls(t *testing.T) {
	t.Parallel()
	bus := NewMemoryBus()
	stuck := &stuckBroker{Broker: bus.Broker(), entered: make(chan struct{}, 1)}
	h, err := New(Config{NodeID: "n", Broker: stuck, BrokerTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := h.Broadcast(Text("x")); err != nil {
			t.Fatal(err)
		}
	}
	<-stuck.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.Shutdown(ctx) // must return although Publish would wait an hour
	if st := h.Stats().Cluster; st.Failed != 3 {
		t.Fatalf("%+v, want 3 failed", st)
	}
}

// stuckBroker's Publish waits until its ctx ends.
type stuckBroker struct {
	Broker
	entered chan struct{}
}

func (b *stuckBroker) Publish(ctx context.Context, _ Envelope) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}
