package brokertest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
)

// hubNode is a hub on the cluster behind a loopback HTTP server, with what
// its callbacks reported.
type hubNode struct {
	*hub.Hub
	url      string
	dials    atomic.Uint64
	waiters  sync.Map // dial ID → chan *hub.Session
	errs     chan error
	presence chan hub.PresenceEvent
	brokerEv chan hub.BrokerEvent
}

// newHub starts a hub with cfg; a nil cfg.Broker gets one from the cluster.
// The hub is shut down when the test ends.
func newHub(t *testing.T, c Cluster, cfg hub.Config) *hubNode {
	t.Helper()
	if cfg.Broker == nil {
		cfg.Broker = c.Broker(t)
	}
	cfg.PingInterval = -1
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatalf("hub.New: %v", err)
	}
	n := &hubNode{
		Hub:      h,
		errs:     make(chan error, 256),
		presence: make(chan hub.PresenceEvent, 256),
		brokerEv: make(chan hub.BrokerEvent, 16),
	}
	h.OnConnect(func(s *hub.Session) {
		if ch, ok := n.waiters.Load(s.Header().Get("X-Dial")); ok {
			ch.(chan *hub.Session) <- s
		}
	})
	h.OnError(func(_ *hub.Session, err error) {
		select {
		case n.errs <- err:
		default:
		}
	})
	h.OnPresence(func(ev hub.PresenceEvent) {
		select {
		case n.presence <- ev:
		default:
		}
	})
	h.OnBroker(func(ev hub.BrokerEvent) {
		select {
		case n.brokerEv <- ev:
		default: // never block the hub's event goroutine
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := h.Accept(w, r, hub.AcceptOptions{}); err != nil && !errors.Is(err, hub.ErrShuttingDown) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	n.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Wait)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	})
	return n
}

// dial connects a client and returns it with its session, once OnConnect
// has run for it.
func (n *hubNode) dial(t *testing.T) (*websocket.Conn, *hub.Session) {
	t.Helper()
	id := strconv.FormatUint(n.dials.Add(1), 10)
	ch := make(chan *hub.Session, 1)
	n.waiters.Store(id, ch)
	defer n.waiters.Delete(id)
	d := websocket.Dialer{HandshakeTimeout: Wait}
	c, _, err := d.Dial(n.url, http.Header{"X-Dial": {id}})
	if err != nil {
		t.Fatalf("dial %s: %v", n.NodeID(), err)
	}
	t.Cleanup(func() { c.Close() })
	select {
	case s := <-ch:
		return c, s
	case <-time.After(Wait):
		t.Fatalf("dial %s: no session", n.NodeID())
	}
	return nil, nil
}

func read(t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(Wait))
	_, p, err := c.ReadMessage()
	if err != nil || string(p) != want {
		t.Fatalf("client read %q, %v; want %q", p, err, want)
	}
}

func awaitClose(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(Wait))
	for {
		_, p, err := c.ReadMessage()
		if err == nil {
			t.Fatalf("client read %q, want a close", p)
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		t.Fatalf("connection ended without a close frame: %v", err)
	}
}

// eventually polls cond until it holds, bounded by Wait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, Wait)
		}
		time.Sleep(10 * time.Millisecond) // polling state another goroutine changes
	}
}

func mustRoute(t *testing.T, wantLocal int) func(int, error) {
	return func(n int, err error) {
		t.Helper()
		if err != nil || n != wantLocal {
			t.Fatalf("routing call = %d, %v; want %d local sessions, nil", n, err, wantLocal)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// hubsRoute: every kind of routing from one hub reaches a client of another.
func hubsRoute(t *testing.T, c Cluster) {
	ha := newHub(t, c, hub.Config{NodeID: "node-a"})
	hb := newHub(t, c, hub.Config{NodeID: "node-b"})
	_, sa := ha.dial(t)
	cb, sb := hb.dial(t)
	must(t, hb.Join(sb.ID(), "lobby"))
	must(t, hb.Subscribe(sb.ID(), "prices.>"))
	steps := []struct {
		name string
		send func() (int, error)
	}{
		{"broadcast", func() (int, error) { return ha.Broadcast(hub.Text("broadcast"), hub.Except(sa.ID())) }},
		{"room", func() (int, error) { return ha.SendToRoom("lobby", hub.Text("room")) }},
		{"topic", func() (int, error) { return ha.Publish("prices.eu.btc", hub.Text("topic")) }},
		{"session", func() (int, error) { return ha.Send(sb.ID(), hub.Text("session")) }},
	}
	for _, st := range steps {
		mustRoute(t, 0)(st.send())
		read(t, cb, st.name)
	}
	// Except applies on the remote node too; Where keeps a call local.
	ha.Broadcast(hub.Text("not for b"), hub.Except(sb.ID()))
	ha.Broadcast(hub.Text("local only"), hub.Where(func(*hub.Session) bool { return true }))
	ha.Broadcast(hub.Binary([]byte("last")))
	read(t, cb, "last")
}

// hubInterest: a node with no member of a room receives none of its
// envelopes.
func hubInterest(t *testing.T, c Cluster) {
	ha := newHub(t, c, hub.Config{NodeID: "node-a"})
	hb := newHub(t, c, hub.Config{NodeID: "node-b"})
	hc := newHub(t, c, hub.Config{NodeID: "node-c"})
	cb, sb := hb.dial(t)
	cc, _ := hc.dial(t)
	must(t, hb.Join(sb.ID(), "r"))
	must(t, hb.Subscribe(sb.ID(), "t.*"))
	for i := range 5 {
		mustRoute(t, 0)(ha.SendToRoom("r", hub.Text(fmt.Sprint("r", i))))
		mustRoute(t, 0)(ha.Publish("t.x", hub.Text(fmt.Sprint("t", i))))
	}
	mustRoute(t, 0)(ha.Broadcast(hub.Text("sentinel")))
	for i := range 5 {
		read(t, cb, fmt.Sprint("r", i))
		read(t, cb, fmt.Sprint("t", i))
	}
	read(t, cb, "sentinel")
	read(t, cc, "sentinel")
	if got := hc.Stats().Cluster.Received; got != 1 {
		t.Fatalf("node-c, with no member in room r or topic t.*, received %d envelopes, want 1 (the broadcast)", got)
	}
	if got := hb.Stats().Cluster.Received; got != 11 {
		t.Fatalf("node-b received %d envelopes, want 11", got)
	}
	if got := hb.Stats().Cluster.Subscriptions; got != 2 {
		t.Fatalf("node-b holds %d subscriptions, want 2", got)
	}
	// The last member leaving unsubscribes the node.
	must(t, hb.Leave(sb.ID(), "r"))
	must(t, hb.Unsubscribe(sb.ID(), "t.*"))
	eventually(t, "node-b unsubscribes", func() bool { return hb.Stats().Cluster.Subscriptions == 0 })
	mustRoute(t, 0)(ha.SendToRoom("r", hub.Text("gone")))
	mustRoute(t, 0)(ha.Broadcast(hub.Text("sentinel 2")))
	read(t, cb, "sentinel 2")
	if got := hb.Stats().Cluster.Received; got != 12 {
		t.Fatalf("node-b received %d envelopes after leaving, want 12", got)
	}
}

// hubJoinThenPublish: a message sent from another node right after Join
// (or Subscribe) returned reaches the session, for concurrent joins of one
// room and for leave-then-join races too.
func hubJoinThenPublish(t *testing.T, c Cluster) {
	ha := newHub(t, c, hub.Config{NodeID: "node-a"})
	// node-b's subscriptions take a while: a Join that did not wait for
	// them would lose the message sent right after it.
	hb := newHub(t, c, hub.Config{NodeID: "node-b", Broker: &wrapper{Broker: c.Broker(t), slow: 20 * time.Millisecond}})
	cb, sb := hb.dial(t)
	for i := range 20 {
		room := fmt.Sprint("room-", i)
		must(t, hb.Join(sb.ID(), room))
		mustRoute(t, 0)(ha.SendToRoom(room, hub.Text(room)))
		read(t, cb, room)
		pattern, subject := fmt.Sprintf("t.%d.*", i), fmt.Sprintf("t.%d.x", i)
		must(t, hb.Subscribe(sb.ID(), pattern))
		mustRoute(t, 0)(ha.Publish(subject, hub.Text(subject)))
		read(t, cb, subject)
		must(t, hb.Leave(sb.ID(), room))
		must(t, hb.Unsubscribe(sb.ID(), pattern))
	}

	// Concurrent first joins of one room all wait for the subscription.
	const n = 4
	conns := make([]*websocket.Conn, n)
	ids := make([]string, n)
	for i := range n {
		var s *hub.Session
		conns[i], s = hb.dial(t)
		ids[i] = s.ID()
	}
	for round := range 5 {
		room := fmt.Sprint("shared-", round)
		errs := make(chan error, n)
		for _, id := range ids {
			go func() { errs <- hb.Join(id, room) }()
		}
		for range n {
			must(t, <-errs)
		}
		mustRoute(t, 0)(ha.SendToRoom(room, hub.Text(room)))
		for _, c := range conns {
			read(t, c, room)
		}
	}

	// Leave then join at once: the node ends subscribed.
	for i := range 10 {
		must(t, hb.Join(sb.ID(), "flip"))
		must(t, hb.Leave(sb.ID(), "flip"))
		must(t, hb.Join(sb.ID(), "flip"))
		msg := fmt.Sprint("flip-", i)
		mustRoute(t, 0)(ha.SendToRoom("flip", hub.Text(msg)))
		read(t, cb, msg)
		must(t, hb.Leave(sb.ID(), "flip"))
	}
}

// hubClusterOps: another node's session can be sent to, moved between
// rooms and closed.
func hubClusterOps(t *testing.T, c Cluster) {
	ha := newHub(t, c, hub.Config{NodeID: "node-a"})
	hb := newHub(t, c, hub.Config{NodeID: "node-b"})
	cb, sb := hb.dial(t)
	mustRoute(t, 0)(ha.Send(sb.ID(), hub.Text("direct")))
	read(t, cb, "direct")

	must(t, ha.Join(sb.ID(), "ops"))
	eventually(t, "the remote Join is applied and subscribed", func() bool {
		return slices.Equal(hb.Members("ops"), []string{sb.ID()}) && hb.Stats().Cluster.Subscriptions == 1
	})
	mustRoute(t, 0)(ha.SendToRoom("ops", hub.Text("to ops")))
	read(t, cb, "to ops")
	must(t, ha.Leave(sb.ID(), "ops"))
	eventually(t, "the remote Leave is applied", func() bool { return len(hb.Members("ops")) == 0 })

	for _, id := range []string{"nobody", "node-a-zzz", ""} {
		if _, err := ha.Send(id, hub.Text("x")); !errors.Is(err, hub.ErrSessionNotFound) {
			t.Errorf("Send(%q) = %v, want ErrSessionNotFound", id, err)
		}
		if err := ha.Join(id, "ops"); !errors.Is(err, hub.ErrSessionNotFound) {
			t.Errorf("Join(%q) = %v, want ErrSessionNotFound", id, err)
		}
		if err := ha.CloseSession(id, 4000, ""); !errors.Is(err, hub.ErrSessionNotFound) {
			t.Errorf("CloseSession(%q) = %v, want ErrSessionNotFound", id, err)
		}
	}
	if err := ha.CloseSession(sb.ID(), 1005, ""); err == nil {
		t.Error("CloseSession with code 1005 (not sendable) was accepted")
	}

	must(t, ha.CloseSession(sb.ID(), 4001, "bye"))
	if code, reason := awaitClose(t, cb); code != 4001 || reason != "bye" {
		t.Fatalf("client saw close %d %q, want 4001 bye", code, reason)
	}
}

// hubWithoutSessions: a hub with no sessions at all publishes to the others.
func hubWithoutSessions(t *testing.T, c Cluster) {
	hp := newHub(t, c, hub.Config{NodeID: "publisher"})
	hb := newHub(t, c, hub.Config{NodeID: "node-b"})
	cb, sb := hb.dial(t)
	must(t, hb.Join(sb.ID(), "r"))
	must(t, hb.Subscribe(sb.ID(), "t.>"))
	mustRoute(t, 0)(hp.Broadcast(hub.Text("all")))
	mustRoute(t, 0)(hp.SendToRoom("r", hub.Text("room")))
	mustRoute(t, 0)(hp.Publish("t.x", hub.Text("topic")))
	mustRoute(t, 0)(hp.Send(sb.ID(), hub.Text("session")))
	for _, want := range []string{"all", "room", "topic", "session"} {
		read(t, cb, want)
	}
	if st := hp.Stats().Cluster; st.Published != 4 || st.Refused != 0 || st.Failed != 0 {
		t.Fatalf("publisher's cluster stats %+v", st)
	}
}

// hubOutboxFull: a full outbox refuses with ErrRemote, counts it, reports
// it, and still delivers locally; what was queued goes out in order.
func hubOutboxFull(t *testing.T, c Cluster) {
	g := &wrapper{Broker: c.Broker(t), gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	ha := newHub(t, c, hub.Config{NodeID: "node-a", Broker: g, OutboxSize: 1, BrokerTimeout: 6 * Wait})
	hb := newHub(t, c, hub.Config{NodeID: "node-b"})
	ca, _ := ha.dial(t)
	cb, _ := hb.dial(t)
	mustRoute(t, 1)(ha.Broadcast(hub.Text("m1")))
	select {
	case <-g.entered: // the outbox goroutine holds m1 in Publish
	case <-time.After(Wait):
		t.Fatal("Publish never called")
	}
	mustRoute(t, 1)(ha.Broadcast(hub.Text("m2"))) // fills the outbox
	n, err := ha.Broadcast(hub.Text("m3"))
	if n != 1 || !errors.Is(err, hub.ErrRemote) {
		t.Fatalf("Broadcast into a full outbox = %d, %v; want 1 local session and ErrRemote", n, err)
	}
	if st := ha.Stats().Cluster; st.Refused != 1 || st.Outbox != 1 {
		t.Fatalf("cluster stats %+v, want Refused 1, Outbox 1", st)
	}
	select {
	case err := <-ha.errs:
		var re *hub.RemoteError
		if !errors.As(err, &re) || !errors.Is(err, hub.ErrRemote) || re.Lost != 1 {
			t.Fatalf("OnError got %v, want a *RemoteError for 1 envelope", err)
		}
	case <-time.After(Wait):
		t.Fatal("the refusal was not reported to OnError")
	}
	for _, m := range []string{"m1", "m2", "m3"} {
		read(t, ca, m) // local delivery happened every time
	}
	close(g.gate)
	eventually(t, "the outbox drains", func() bool { return ha.Stats().Cluster.Outbox == 0 })
	mustRoute(t, 1)(ha.Broadcast(hub.Text("m4")))
	for _, m := range []string{"m1", "m2", "m4"} {
		read(t, cb, m)
	}
	eventually(t, "published count", func() bool { return ha.Stats().Cluster.Published == 3 })
}

// hubNothingAfterClose: Shutdown hands over what the outbox holds, then
// closes the broker; routing then returns ErrClosed and nothing reaches the
// broker after Close. When Shutdown's context ends first, what is left is
// counted as failed.
func hubNothingAfterClose(t *testing.T, c Cluster) {
	w := &wrapper{Broker: c.Broker(t)}
	ha := newHub(t, c, hub.Config{NodeID: "node-a", Broker: w})
	hb := newHub(t, c, hub.Config{NodeID: "node-b"})
	cb, sb := hb.dial(t)
	must(t, hb.Join(sb.ID(), "r"))
	for i := range 10 {
		mustRoute(t, 0)(ha.SendToRoom("r", hub.Text(fmt.Sprint(i))))
	}
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if _, err := ha.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		read(t, cb, fmt.Sprint(i))
	}
	calls := []struct {
		name string
		err  func() error
	}{
		{"Broadcast", func() error { _, err := ha.Broadcast(hub.Text("x")); return err }},
		{"SendToRoom", func() error { _, err := ha.SendToRoom("r", hub.Text("x")); return err }},
		{"Publish", func() error { _, err := ha.Publish("t.x", hub.Text("x")); return err }},
		{"Send", func() error { _, err := ha.Send(sb.ID(), hub.Text("x")); return err }},
		{"CloseSession", func() error { return ha.CloseSession(sb.ID(), 4000, "") }},
		{"Join", func() error { return ha.Join(sb.ID(), "r") }},
		{"Leave", func() error { return ha.Leave(sb.ID(), "r") }},
	}
	for _, call := range calls {
		if err := call.err(); !errors.Is(err, hub.ErrClosed) {
			t.Errorf("%s after Shutdown = %v, want ErrClosed", call.name, err)
		}
	}
	w.check(t)

	// A broker that does not answer: Shutdown's context bounds the wait.
	g := &wrapper{Broker: c.Broker(t), gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	hg := newHub(t, c, hub.Config{NodeID: "node-g", Broker: g, BrokerTimeout: 6 * Wait})
	for i := range 3 {
		mustRoute(t, 0)(hg.SendToRoom("r", hub.Text(fmt.Sprint(i))))
	}
	<-g.entered
	sctx, scancel := context.WithCancel(context.Background())
	scancel()
	hg.Shutdown(sctx)
	if st := hg.Stats().Cluster; st.Failed != 3 || st.Published != 0 {
		t.Fatalf("after Shutdown gave up: %+v, want 3 failed", st)
	}
	g.check(t)
	close(g.gate)
}

// wrapper wraps a cluster's broker to watch (and hold) the hub's calls.
type wrapper struct {
	hub.Broker
	gate    chan struct{} // when set, Publish waits for it to close (or ctx)
	slow    time.Duration // Subscribe waits this long first: a slow server
	entered chan struct{} // told each time Publish starts
	mute    atomic.Bool   // presence updates are dropped (a dead node)

	mu         sync.Mutex
	closes     int
	afterClose []string
}

var _ hub.PresenceBroker = (*wrapper)(nil)

func (w *wrapper) call(name string) {
	w.mu.Lock()
	if w.closes > 0 {
		w.afterClose = append(w.afterClose, name)
	}
	w.mu.Unlock()
}

func (w *wrapper) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closes != 1 || len(w.afterClose) > 0 {
		t.Fatalf("Close called %d times; calls after Close: %q", w.closes, w.afterClose)
	}
}

func (w *wrapper) Publish(ctx context.Context, e hub.Envelope) error {
	w.call("Publish")
	if w.entered != nil {
		w.entered <- struct{}{}
	}
	if w.gate != nil {
		select {
		case <-w.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return w.Broker.Publish(ctx, e)
}

func (w *wrapper) Subscribe(ctx context.Context, ch hub.Channel) error {
	w.call("Subscribe")
	if w.slow > 0 {
		select {
		case <-time.After(w.slow):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return w.Broker.Subscribe(ctx, ch)
}

func (w *wrapper) Unsubscribe(ctx context.Context, ch hub.Channel) error {
	w.call("Unsubscribe")
	return w.Broker.Unsubscribe(ctx, ch)
}

func (w *wrapper) Close() error {
	w.mu.Lock()
	w.closes++
	w.mu.Unlock()
	return w.Broker.Close()
}

func (w *wrapper) presence() (hub.PresenceBroker, bool) {
	pb, ok := w.Broker.(hub.PresenceBroker)
	return pb, ok && !w.mute.Load()
}

func (w *wrapper) AddPresence(ctx context.Context, room string, ms []hub.Member, ttl time.Duration) error {
	w.call("AddPresence")
	if pb, ok := w.presence(); ok {
		return pb.AddPresence(ctx, room, ms, ttl)
	}
	return nil
}

func (w *wrapper) RemovePresence(ctx context.Context, room string, ids []string) error {
	w.call("RemovePresence")
	if pb, ok := w.presence(); ok {
		return pb.RemovePresence(ctx, room, ids)
	}
	return nil
}

func (w *wrapper) Presence(ctx context.Context, room string) ([]hub.Member, error) {
	return w.Broker.(hub.PresenceBroker).Presence(ctx, room)
}

func (w *wrapper) PresenceCount(ctx context.Context, room string) (int, error) {
	return w.Broker.(hub.PresenceBroker).PresenceCount(ctx, room)
}
