package hub

import (
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestMemoryBus(t *testing.T) {
	t.Parallel()
	bus := NewMemoryBus()
	a := newTestHub(t, Config{PingInterval: -1, Broker: bus.Broker(), NodeID: "node-a"})
	b := newTestHub(t, Config{PingInterval: -1, Broker: bus.Broker()})
	// Peers 0 and 1 are on node A, 2 and 3 on node B.
	p := append(dialPeers(t, a, 2), dialPeers(t, b, 2)...)
	id := func(i int) string { return p[i].s.ID() }
	for i := range p {
		p[i].s.Set("n", i)
	}
	seen := map[string]bool{}
	for i := range p {
		if seen[id(i)] {
			t.Fatalf("session ID %s used twice", id(i))
		}
		seen[id(i)] = true
	}
	if !strings.HasPrefix(id(0), "node-a-") || a.NodeID() == b.NodeID() || b.NodeID() == "" {
		t.Fatalf("IDs %q %q, nodes %q %q", id(0), id(2), a.NodeID(), b.NodeID())
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Join(id(0), "r"))
	must(b.Join(id(3), "r"))
	must(b.Subscribe(id(2), "x.*"))
	must(a.Subscribe(id(1), "x.>"))
	odd := Where(func(s *Session) bool { v, _ := s.Get("n"); return v.(int)%2 == 1 })

	cases := []struct {
		name  string
		from  *testHub
		route func(m Message) (int, error)
		local int // sessions reached on the publishing node
		want  []int
	}{
		{"broadcast from A", a, func(m Message) (int, error) { return a.Broadcast(m) }, 2, []int{0, 1, 2, 3}},
		{"broadcast from B", b, func(m Message) (int, error) { return b.Broadcast(m) }, 2, []int{0, 1, 2, 3}},
		{"except across nodes", a, func(m Message) (int, error) { return a.Broadcast(m, Except(id(0), id(3))) }, 1, []int{1, 2}},
		{"where stays local", a, func(m Message) (int, error) { return a.Broadcast(m, odd) }, 1, []int{1}},
		{"room from A", a, func(m Message) (int, error) { return a.SendToRoom("r", m) }, 1, []int{0, 3}},
		{"room from B except", b, func(m Message) (int, error) { return b.SendToRoom("r", m, Except(id(0))) }, 1, []int{3}},
		{"publish from A", a, func(m Message) (int, error) { return a.Publish("x.y", m) }, 1, []int{1, 2}},
		{"publish from B, tail only", b, func(m Message) (int, error) { return b.Publish("x.y.z", m) }, 0, []int{1}},
		{"send from A to B", a, func(m Message) (int, error) { return a.Send(id(3), m) }, 0, []int{3}},
		{"send from B to A", b, func(m Message) (int, error) { return b.Send(id(0), m) }, 0, []int{0}},
		{"send local", a, func(m Message) (int, error) { return a.Send(id(1), m) }, 1, []int{1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := Text(tc.name)
			n, err := tc.route(m)
			if err != nil || n != tc.local {
				t.Fatalf("got %d, %v; want %d local sessions", n, err, tc.local)
			}
			expectFrom(t, tc.from.Hub, p, tc.want, m)
		})
	}

	// A hub that has shut down leaves the bus; the other keeps working.
	codes := make(chan int, 2)
	for _, x := range p[2:] {
		go func() { code, _ := awaitClose(t, x.c); codes <- code }()
	}
	if res, err := b.Shutdown(t.Context()); err != nil || res.Drained != 2 {
		t.Fatalf("Shutdown = %+v, %v", res, err)
	}
	for range 2 {
		if code := <-codes; code != CloseGoingAway {
			t.Fatalf("B's client saw %d", code)
		}
	}
	if n, err := a.Broadcast(Text("after B left")); n != 2 || err != nil {
		t.Fatalf("Broadcast = %d, %v", n, err)
	}
	expectDelivery(t, p[:2], []int{0, 1}, Text("after B left"))

	// Node names are unique on a bus.
	if _, err := New(Config{Broker: bus.Broker(), NodeID: "node-a"}); err == nil {
		t.Fatal("a second node-a joined the bus")
	}
}

// expectFrom checks that exactly the peers listed in want received m, routed
// through from: the sentinels are sent by from too, so on other nodes they
// follow m through the same outbox and broker, in order.
func expectFrom(t *testing.T, from *Hub, peers []peer, want []int, m Message) {
	t.Helper()
	for _, p := range peers {
		if _, err := from.Send(p.s.ID(), Text("sentinel")); err != nil {
			t.Fatalf("sentinel: %v", err)
		}
	}
	for i, p := range peers {
		if slices.Contains(want, i) {
			typ, got := readMsg(t, p.c)
			if typ != int(m.Type) || got != string(m.Data) {
				t.Fatalf("peer %d read %d %q, want %d %q", i, typ, got, m.Type, m.Data)
			}
		}
		if typ, got := readMsg(t, p.c); typ != websocket.TextMessage || got != "sentinel" {
			t.Fatalf("peer %d read %d %q, want the sentinel (want=%v)", i, typ, got, want)
		}
	}
}
