package redisstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/redisbroker"
)

// frameTest puts the position in front of the message: "offset@epoch|data".
func frameTest(_ string, pos hub.Position, m hub.Message) hub.Message {
	return hub.Text(strconv.FormatUint(pos.Offset, 10) + "@" + pos.Epoch + "|" + string(m.Data))
}

// parseFramed splits what frameTest made.
func parseFramed(s string) (hub.Position, string, error) {
	head, data, ok := strings.Cut(s, "|")
	off, epoch, ok2 := strings.Cut(head, "@")
	n, err := strconv.ParseUint(off, 10, 64)
	if !ok || !ok2 || err != nil {
		return hub.Position{}, "", errors.New("message " + strconv.Quote(s) + " is not framed")
	}
	return hub.Position{Epoch: epoch, Offset: n}, data, nil
}

// hubNode is a hub with a redisbroker and a Store on one Redis, behind a
// loopback HTTP server.
type hubNode struct {
	*hub.Hub
	url     string
	dials   atomic.Uint64
	waiters sync.Map // dial ID → chan *hub.Session
	broker  chan hub.BrokerEvent
}

// nodeOpts says how startNode builds a node.
type nodeOpts struct {
	prefix string
	policy hub.HistoryPolicy // for rooms named "h-..."
	queue  int               // MaxQueuedMessages; zero means 4096
	// timeout is HistoryConfig.Timeout and the broker's; zero means 5s.
	timeout time.Duration
}

// startNode starts a hub named name, shut down when the test ends.
func startNode(t *testing.T, client redis.UniversalClient, name string, o nodeOpts) *hubNode {
	t.Helper()
	b, err := redisbroker.New(redisbroker.Config{Client: client, Prefix: o.prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	st := newStore(t, client, o.prefix)
	if o.queue == 0 {
		o.queue = 4096
	}
	h, err := hub.New(hub.Config{
		NodeID:            name,
		Broker:            b,
		PingInterval:      -1,
		MaxQueuedMessages: o.queue,
		MaxQueuedBytes:    16 << 20,
		BrokerTimeout:     o.timeout,
		History: hub.HistoryConfig{
			Policy: func(room string) hub.HistoryPolicy {
				if strings.HasPrefix(room, "h-") {
					return o.policy
				}
				return hub.HistoryPolicy{}
			},
			Store:   st,
			Frame:   frameTest,
			Timeout: o.timeout,
		},
	})
	if err != nil {
		t.Fatalf("hub.New: %v", err)
	}
	n := &hubNode{Hub: h, broker: make(chan hub.BrokerEvent, 16)}
	h.OnBroker(func(ev hub.BrokerEvent) {
		select {
		case n.broker <- ev:
		default: // never block the hub's event goroutine
		}
	})
	h.OnConnect(func(s *hub.Session) {
		if ch, ok := n.waiters.Load(s.Header().Get("X-Dial")); ok {
			ch.(chan *hub.Session) <- s
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, hub.AcceptOptions{})
	}))
	n.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	})
	return n
}

// dial connects a client and returns it with its session, once OnConnect
// has run for it. Safe to call from any goroutine: it returns an error
// instead of failing the test.
func (n *hubNode) dial(t *testing.T) (*websocket.Conn, *hub.Session, error) {
	id := strconv.FormatUint(n.dials.Add(1), 10)
	ch := make(chan *hub.Session, 1)
	n.waiters.Store(id, ch)
	defer n.waiters.Delete(id)
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	c, _, err := d.Dial(n.url, http.Header{"X-Dial": {id}})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { c.Close() })
	select {
	case s := <-ch:
		return c, s, nil
	case <-time.After(waitFor):
		return nil, nil, errors.New("dial " + n.NodeID() + ": no session")
	}
}

// mustDial is dial for the test's goroutine.
func (n *hubNode) mustDial(t *testing.T) (*websocket.Conn, *hub.Session) {
	t.Helper()
	c, s, err := n.dial(t)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// readFramed reads one framed message.
func readFramed(t *testing.T, c *websocket.Conn) (hub.Position, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	pos, data, err := parseFramed(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return pos, data
}

// awaitBroker waits for the node's next broker event and fails unless it
// says up (or down, as asked).
func (n *hubNode) awaitBroker(t *testing.T, up bool) {
	t.Helper()
	select {
	case ev := <-n.broker:
		if ev.Up != up {
			t.Fatalf("%s: broker event %+v, want Up=%v", n.NodeID(), ev, up)
		}
	case <-time.After(waitFor):
		t.Fatalf("%s: no broker event (want Up=%v)", n.NodeID(), up)
	}
}

// clientConn is a test client.
type clientConn struct{ *websocket.Conn }

// read reads one framed message.
func (c *clientConn) read(t *testing.T) (hub.Position, string) {
	t.Helper()
	return readFramed(t, c.Conn)
}

// readRaw reads one message and fails unless it is want.
func (c *clientConn) readRaw(t *testing.T, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	_, b, err := c.ReadMessage()
	if err != nil || string(b) != want {
		t.Fatalf("read %q, %v; want %q", b, err, want)
	}
}
