package natsstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
	"github.com/wsgate/wsgate/hub/natsstore"
)

// testHub is one node: a hub with its own natsbroker and natsstore on the
// test server, behind a loopback HTTP server.
type testHub struct {
	*hub.Hub
	store     *natsstore.Store
	url       string
	connected chan *hub.Session
}

// nodeConfig describes a node; zero fields take the test defaults.
type nodeConfig struct {
	name    string
	size    int  // history Size of the rooms "h-..."
	single  bool // no broker: one node alone
	maxQ    int
	storage natsstore.Config
}

// frameTest puts the position in front of the message: "offset@epoch|data".
func frameTest(_ string, pos hub.Position, m hub.Message) hub.Message {
	return hub.Text(strconv.FormatUint(pos.Offset, 10) + "@" + pos.Epoch + "|" + string(m.Data))
}

// parseFramed splits what frameTest made.
func parseFramed(t testing.TB, s string) (hub.Position, string) {
	t.Helper()
	head, data, ok := strings.Cut(s, "|")
	off, epoch, ok2 := strings.Cut(head, "@")
	n, err := strconv.ParseUint(off, 10, 64)
	if !ok || !ok2 || err != nil {
		t.Fatalf("message %q is not framed", s)
	}
	return hub.Position{Epoch: epoch, Offset: n}, data
}

func newNode(t testing.TB, ts *testServer, nc nodeConfig) *testHub {
	t.Helper()
	if nc.size == 0 {
		nc.size = 10_000
	}
	if nc.maxQ == 0 {
		nc.maxQ = 4096
	}
	st := newStore(t, ts, nc.storage)
	cfg := hub.Config{
		NodeID:            nc.name,
		PingInterval:      -1,
		MaxQueuedMessages: nc.maxQ,
		MaxQueuedBytes:    16 << 20,
		History: hub.HistoryConfig{
			Policy: func(room string) hub.HistoryPolicy {
				if strings.HasPrefix(room, "h-") {
					return hub.HistoryPolicy{Size: nc.size}
				}
				return hub.HistoryPolicy{}
			},
			Store:   st,
			Frame:   frameTest,
			Timeout: wait,
		},
	}
	if !nc.single {
		b, err := natsbroker.New(natsbroker.Config{URL: ts.url(), ReconnectWait: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Broker = b
	}
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	th := &testHub{Hub: h, store: st, connected: make(chan *hub.Session, 1)}
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
func (th *testHub) dial(t testing.TB) (*websocket.Conn, *hub.Session) {
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

// readFramed reads one framed message.
func readFramed(t testing.TB, c *websocket.Conn) (hub.Position, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return parseFramed(t, string(b))
}

// sendEventually sends until the store takes the message (bounded): after
// a server restart the store's connection comes back on its own.
func sendEventually(t testing.TB, th *testHub, room, data string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		_, err := th.SendToRoom(room, hub.Text(data))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("SendToRoom %q: %v", data, err)
		}
		time.Sleep(10 * time.Millisecond) // polling the reconnection
	}
}
