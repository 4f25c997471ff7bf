package natsstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	store   *natsstore.Store
	url     string
	dialSeq atomic.Uint64
	waiters sync.Map // dial ID -> chan *hub.Session
}

// dialHeader carries a dial's ID, so that concurrent dials to one hub
// each get their own session.
const dialHeader = "X-Test-Dial"

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

// parseFramed splits what frameTest made; a message that is not framed
// has offset 0 (which the callers' checks refuse).
func parseFramed(s string) (hub.Position, string) {
	head, data, ok := strings.Cut(s, "|")
	off, epoch, ok2 := strings.Cut(head, "@")
	n, err := strconv.ParseUint(off, 10, 64)
	if !ok || !ok2 || err != nil {
		return hub.Position{}, s
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
	th := &testHub{Hub: h, store: st}
	h.OnConnect(func(s *hub.Session) {
		if ch, ok := th.waiters.Load(s.Header().Get(dialHeader)); ok {
			ch.(chan *hub.Session) <- s
		}
	})
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
	id := strconv.FormatUint(th.dialSeq.Add(1), 10)
	ch := make(chan *hub.Session, 1)
	th.waiters.Store(id, ch)
	defer th.waiters.Delete(id)
	d := websocket.Dialer{HandshakeTimeout: wait}
	c, _, err := d.Dial(th.url, http.Header{dialHeader: {id}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	select {
	case s := <-ch:
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
	pos, data := parseFramed(string(b))
	if pos.Offset == 0 {
		t.Fatalf("message %q is not framed", b)
	}
	return pos, data
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
