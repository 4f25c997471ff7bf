package hub

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gorilla/websocket"
)

// peer is a client and its server-side session.
type peer struct {
	c *websocket.Conn
	s *Session
}

func dialPeers(t *testing.T, th *testHub, n int) []peer {
	t.Helper()
	ps := make([]peer, n)
	for i := range ps {
		ps[i].c, ps[i].s = th.dial(t)
	}
	return ps
}

// expectDelivery checks that exactly the peers listed in want received m
// (once) and the others nothing: each peer is then sent a sentinel, which a
// peer that did not receive m reads first.
func expectDelivery(t *testing.T, peers []peer, want []int, m Message) {
	t.Helper()
	for _, p := range peers {
		if err := p.s.Send(Text("sentinel")); err != nil {
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
		typ, got := readMsg(t, p.c)
		if typ != websocket.TextMessage || got != "sentinel" {
			t.Fatalf("peer %d read %d %q, want the sentinel (want=%v)", i, typ, got, want)
		}
	}
}

func TestRouting(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	got := make(chan struct{}, 16)
	th.OnMessage(func(*Session, Message) { got <- struct{}{} })
	p := dialPeers(t, th, 5)
	for i, role := range []string{"admin", "user", "admin", "", "user"} {
		if role != "" {
			p[i].s.Set("role", role)
		}
	}
	// p3 is the only peer that has sent a message.
	if err := p[3].c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	<-got
	for _, i := range []int{0, 1, 4} {
		if err := th.Join(p[i].s.ID(), "r"); err != nil {
			t.Fatal(err)
		}
	}
	subs := []struct {
		peer    int
		pattern string
	}{
		{0, "prices.*.btc"}, {0, "prices.>"}, // two patterns for one session
		{1, "prices.>"}, {2, "prices.eu.btc"}, {3, "prices.us.*"},
	}
	for _, sub := range subs {
		if err := th.Subscribe(p[sub.peer].s.ID(), sub.pattern); err != nil {
			t.Fatal(err)
		}
	}
	id := func(i int) string { return p[i].s.ID() }
	isRole := func(r string) RouteOption {
		return Where(func(s *Session) bool { v, _ := s.Get("role"); return v == r })
	}
	fakes := make([]string, 9)
	for i := range fakes {
		fakes[i] = fmt.Sprintf("nobody-%d", i)
	}

	cases := []struct {
		name  string
		route func(m Message) (int, error)
		want  []int
	}{
		{"broadcast", func(m Message) (int, error) { return th.Broadcast(m) }, []int{0, 1, 2, 3, 4}},
		{"broadcast except two", func(m Message) (int, error) {
			return th.Broadcast(m, Except(id(1), id(3)))
		}, []int{0, 2, 4}},
		{"broadcast except many", func(m Message) (int, error) {
			return th.Broadcast(m, Except(append([]string{id(0)}, fakes...)...))
		}, []int{1, 2, 3, 4}},
		{"broadcast except repeated", func(m Message) (int, error) {
			return th.Broadcast(m, Except(id(0)), Except(id(4)))
		}, []int{1, 2, 3}},
		{"broadcast where metadata", func(m Message) (int, error) { return th.Broadcast(m, isRole("admin")) }, []int{0, 2}},
		{"broadcast where connection time", func(m Message) (int, error) {
			cut := p[2].s.ConnectedAt()
			return th.Broadcast(m, Where(func(s *Session) bool { return !s.ConnectedAt().Before(cut) }))
		}, []int{2, 3, 4}},
		{"broadcast where counters", func(m Message) (int, error) {
			return th.Broadcast(m, Where(func(s *Session) bool { return s.Counters().MessagesReceived > 0 }))
		}, []int{3}},
		{"broadcast where and except", func(m Message) (int, error) {
			return th.Broadcast(m, isRole("admin"), Except(id(0)))
		}, []int{2}},
		{"broadcast binary", func(m Message) (int, error) { return th.Broadcast(Binary(m.Data)) }, []int{0, 1, 2, 3, 4}},
		{"room", func(m Message) (int, error) { return th.SendToRoom("r", m) }, []int{0, 1, 4}},
		{"room except", func(m Message) (int, error) { return th.SendToRoom("r", m, Except(id(4))) }, []int{0, 1}},
		{"room where", func(m Message) (int, error) { return th.SendToRoom("r", m, isRole("user")) }, []int{1, 4}},
		{"room unknown", func(m Message) (int, error) { return th.SendToRoom("nobody-here", m) }, nil},
		{"topic star and tail, one copy each", func(m Message) (int, error) { return th.Publish("prices.eu.btc", m) }, []int{0, 1, 2}},
		{"topic tail only", func(m Message) (int, error) { return th.Publish("prices.eu.eth", m) }, []int{0, 1}},
		{"topic star last", func(m Message) (int, error) { return th.Publish("prices.us.eth", m) }, []int{0, 1, 3}},
		{"topic longer than star", func(m Message) (int, error) { return th.Publish("prices.us.btc.spot", m) }, []int{0, 1}},
		{"topic tail needs a token", func(m Message) (int, error) { return th.Publish("prices", m) }, nil},
		{"topic no match", func(m Message) (int, error) { return th.Publish("news.eu.btc", m) }, nil},
		{"topic except", func(m Message) (int, error) { return th.Publish("prices.eu.btc", m, Except(id(0))) }, []int{1, 2}},
		{"send by id", func(m Message) (int, error) { return th.Send(id(4), m) }, []int{4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := Text("msg: " + tc.name)
			n, err := tc.route(m)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tc.want) {
				t.Fatalf("queued for %d sessions, want %d", n, len(tc.want))
			}
			if tc.name == "broadcast binary" {
				m = Binary(m.Data)
			}
			expectDelivery(t, p, tc.want, m)
		})
	}

	refusals := []struct {
		name string
		call func() (int, error)
		want error
	}{
		{"send unknown id", func() (int, error) { return th.Send("nobody", Text("x")) }, ErrSessionNotFound},
		{"publish wildcard subject", func() (int, error) { return th.Publish("prices.*", Text("x")) }, ErrBadName},
		{"publish empty subject", func() (int, error) { return th.Publish("", Text("x")) }, ErrBadName},
		{"room empty name", func() (int, error) { return th.SendToRoom("", Text("x")) }, ErrBadName},
		{"bad message type", func() (int, error) { return th.Broadcast(Message{Type: 9, Data: []byte("x")}) }, errBadType},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.call()
			if n != 0 || !errors.Is(err, tc.want) {
				t.Fatalf("got %d, %v; want 0, %v", n, err, tc.want)
			}
		})
	}
	// Nothing was delivered by the refused calls.
	expectDelivery(t, p, nil, Message{})
}
