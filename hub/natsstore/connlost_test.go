package natsstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsstore"
)

// A call waiting for a reply when its connection is lost fails then,
// wrapping ErrServer, instead of waiting for its context: the request
// reached no server (here a proxy swallows it; after a server restart it
// is written to the socket the old server closed), and nats.go does not
// fail a pending request when it reconnects. The swallowed Append
// stored nothing, and the store works again once reconnected.
func TestConnLost(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	px := startProxy(t, ts.url())
	st, err := natsstore.New(natsstore.Config{URL: px.url(), ReconnectWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := hub.HistoryPolicy{Size: 10}
	first, err := st.Append(ctxWait(t), "r", hub.Text("a"), p)
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Append", func(ctx context.Context) error {
			_, err := st.Append(ctx, "r", hub.Text("lost"), p)
			return err
		}},
		{"Read", func(ctx context.Context) error {
			_, err := st.Read(ctx, "r", hub.Position{}, 10)
			return err
		}},
	}
	for _, c := range calls {
		px.hold()
		done := make(chan error, 1)
		go func() { done <- c.call(ctxWait(t)) }()
		select {
		case <-px.swallowed:
		case <-time.After(wait):
			t.Fatalf("%s: no request reached the proxy", c.name)
		}
		before := reconnects(st)
		px.cut()
		select {
		case err := <-done:
			if !errors.Is(err, natsstore.ErrServer) || !errors.Is(err, natsstore.ErrConnLost) {
				t.Fatalf("%s with its connection lost = %v, want ErrServer: connection lost", c.name, err)
			}
		case <-time.After(2 * wait): // ctxWait ends first; this only bounds a hang
			t.Fatalf("%s did not return", c.name)
		}
		awaitReconnected(t, before, st)
	}
	pos, err := st.Append(ctxWait(t), "r", hub.Text("b"), p)
	if err != nil || pos != (hub.Position{Epoch: first.Epoch, Offset: 2}) {
		t.Fatalf("Append after reconnecting = %s, %v; want 2@%s", pos, err, first.Epoch)
	}
	page, err := st.Read(ctxWait(t), "r", hub.Position{}, 10)
	if err != nil || len(page.Entries) != 2 || string(page.Entries[1].Data) != "b" {
		t.Fatalf("Read after reconnecting = %+v, %v; want a and b", page, err)
	}
}

// proxy forwards TCP connections from clients to a NATS server on
// loopback. hold makes it swallow what clients send from then on (a
// request then reaches no server); cut ends hold and closes every
// connection, as a server going away would.
type proxy struct {
	ln        net.Listener
	target    string
	holding   atomic.Bool
	swallowed chan struct{} // one signal per hold: a request was swallowed
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
}

func startProxy(t testing.TB, natsURL string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &proxy{
		ln:        ln,
		target:    strings.TrimPrefix(natsURL, "nats://"),
		swallowed: make(chan struct{}, 1),
		conns:     make(map[net.Conn]struct{}),
	}
	px.wg.Add(1)
	go px.accept()
	t.Cleanup(func() {
		ln.Close()
		px.mu.Lock()
		px.closed = true
		px.mu.Unlock()
		px.cut()
		px.wg.Wait()
	})
	return px
}

func (px *proxy) url() string { return "nats://" + px.ln.Addr().String() }

func (px *proxy) hold() {
	select {
	case <-px.swallowed: // a signal left from an earlier hold
	default:
	}
	px.holding.Store(true)
}

func (px *proxy) cut() {
	px.holding.Store(false)
	px.mu.Lock()
	defer px.mu.Unlock()
	for c := range px.conns {
		c.Close()
	}
}

// track adds c to the connections cut closes, or closes it if the
// proxy is closed.
func (px *proxy) track(c net.Conn) {
	px.mu.Lock()
	defer px.mu.Unlock()
	if px.closed {
		c.Close()
		return
	}
	px.conns[c] = struct{}{}
}

func (px *proxy) untrack(c net.Conn) {
	px.mu.Lock()
	delete(px.conns, c)
	px.mu.Unlock()
	c.Close()
}

func (px *proxy) accept() {
	defer px.wg.Done()
	for {
		c, err := px.ln.Accept()
		if err != nil {
			return // closed
		}
		s, err := net.Dial("tcp", px.target)
		if err != nil {
			c.Close()
			continue
		}
		px.track(c)
		px.track(s)
		px.wg.Add(2)
		go func() { // client to server, unless held
			defer px.wg.Done()
			defer px.untrack(s)
			defer px.untrack(c)
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if px.holding.Load() {
						if bytes.Contains(buf[:n], []byte("PUB ")) {
							select {
							case px.swallowed <- struct{}{}:
							default:
							}
						}
					} else if _, werr := s.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
		go func() { // server to client
			defer px.wg.Done()
			defer px.untrack(c)
			defer px.untrack(s)
			io.Copy(c, s)
		}()
	}
}
