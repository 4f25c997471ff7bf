package natsbroker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
)

// testHub is a hub on the NATS cluster behind a loopback HTTP server.
type testHub struct {
	*hub.Hub
	url       string
	connected chan *hub.Session
}

func newTestHub(t *testing.T, ts *testServer, node string) *testHub {
	t.Helper()
	b, err := natsbroker.New(natsbroker.Config{URL: ts.url(), ReconnectWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(hub.Config{NodeID: node, Broker: b, PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	th := &testHub{Hub: h, connected: make(chan *hub.Session, 1)}
	h.OnConnect(func(s *hub.Session) { th.connected <- s })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, hub.AcceptOptions{})
	}))
	th.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		h.Shutdown(c)
		srv.Close()
	})
	return th
}

// dial connects one real WebSocket client and returns it with its session.
func (th *testHub) dial(t *testing.T) (*websocket.Conn, *hub.Session) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait}
	c, _, err := d.Dial(th.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	select {
	case s := <-th.connected:
		return c, s
	case <-time.After(wait):
		t.Fatal("no session")
		return nil, nil
	}
}

// readUntil returns what the client reads until it has read both "end a"
// and "end c" (each publisher's last message), without them.
func readUntil(t *testing.T, c *websocket.Conn) []string {
	t.Helper()
	var out []string
	ends := 0
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v (after %q)", err, out)
		}
		if strings.HasPrefix(string(p), "end ") {
			if ends++; ends == 2 {
				return out
			}
			continue
		}
		out = append(out, string(p))
	}
}

// Three hubs on one NATS server, real clients, rooms and topics whose
// names are NATS syntax: each client receives exactly what the hub's rules
// select, once, and nothing else.
func TestHubsRouteNATSSyntaxNames(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ha, hb, hc := newTestHub(t, ts, "node-a"), newTestHub(t, ts, "node.b"), newTestHub(t, ts, "node>c")
	ca, sa := ha.dial(t)
	cb, sb := hb.dial(t)
	cc, sc := hc.dial(t)
	long := strings.Repeat("é", 128) // 256 bytes, the hub's longest room name
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ha.Join(sa.ID(), "a.b c>*ü"))
	must(ha.Subscribe(sa.ID(), "prices.*.ü"))
	must(hb.Join(sb.ID(), "a.b"))
	must(hb.Join(sb.ID(), long))
	must(hb.Subscribe(sb.ID(), "prices.>"))
	must(hb.Subscribe(sb.ID(), "prices.eu.*")) // overlaps prices.>: still once
	must(hc.Join(sc.ID(), "*"))

	send := []struct {
		what string
		do   func() (int, error)
	}{
		{"room a.b c>*ü", func() (int, error) { return hc.SendToRoom("a.b c>*ü", hub.Text("room a.b c>*ü")) }},
		{"room a.b", func() (int, error) { return hc.SendToRoom("a.b", hub.Text("room a.b")) }},
		{"room a", func() (int, error) { return hc.SendToRoom("a", hub.Text("room a")) }},
		{"room *", func() (int, error) { return ha.SendToRoom("*", hub.Text("room *")) }},
		{"room long", func() (int, error) { return ha.SendToRoom(long, hub.Text("room long")) }},
		{"topic prices.eu.ü", func() (int, error) { return hc.Publish("prices.eu.ü", hub.Text("topic prices.eu.ü")) }},
		{"topic prices.eu.u", func() (int, error) { return hc.Publish("prices.eu.u", hub.Text("topic prices.eu.u")) }},
		{"topic prices.ü", func() (int, error) { return hc.Publish("prices.ü", hub.Text("topic prices.ü")) }},
		{"send b", func() (int, error) { return hc.Send(sb.ID(), hub.Text("send b")) }},
		{"send c", func() (int, error) { return ha.Send(sc.ID(), hub.Text("send c")) }},
		{"end a", func() (int, error) { return ha.Broadcast(hub.Text("end a")) }},
		{"end c", func() (int, error) { return hc.Broadcast(hub.Text("end c")) }},
	}
	for _, s := range send {
		if _, err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
	}
	want := map[string][]string{
		"a": {"room a.b c>*ü", "topic prices.eu.ü"},
		"b": {"room a.b", "room long", "topic prices.eu.ü", "topic prices.eu.u", "topic prices.ü", "send b"},
		"c": {"room *", "send c"},
	}
	// Each client's messages come from two publishers (hub a and hub c),
	// each ending with its "end": compare as sets; the order within one
	// publisher is checked by the broker tests.
	for name, c := range map[string]*websocket.Conn{"a": ca, "b": cb, "c": cc} {
		got := readUntil(t, c)
		slices.Sort(got)
		w := slices.Clone(want[name])
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("client on %s got %q\nwant %q", name, got, w)
		}
	}
}
