package interop

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/testdeps"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every wait for an event; it is a failure bound, never an
// expected duration.
const waitFor = 20 * time.Second

// echoServer is a hub that echoes every message, behind a loopback server
// that counts the bytes of every connection both ways.
type echoServer struct {
	hub      *hub.Hub
	url      string // http://127.0.0.1:port
	sessions chan hub.Deflate
	bytes    atomic.Int64
}

func startEcho(t *testing.T, comp hub.Compression) *echoServer {
	t.Helper()
	h, err := hub.New(hub.Config{PingInterval: -1, Compression: comp})
	if err != nil {
		t.Fatal(err)
	}
	es := &echoServer{hub: h, sessions: make(chan hub.Deflate, 4)}
	h.OnConnect(func(s *hub.Session) {
		d, _ := s.Deflate()
		es.sessions <- d
	})
	h.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) { h.Accept(w, r, hub.AcceptOptions{}) })
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(echoPage))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = &countingListener{Listener: srv.Listener, n: &es.bytes}
	srv.Start()
	es.url = srv.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	})
	return es
}

func (es *echoServer) wsURL() string { return "ws" + strings.TrimPrefix(es.url, "http") + "/ws" }

// session returns what the next session negotiated.
func (es *echoServer) session(t *testing.T) hub.Deflate {
	t.Helper()
	select {
	case d := <-es.sessions:
		return d
	case <-time.After(waitFor):
		t.Fatal("no session")
	}
	return hub.Deflate{}
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// need returns the path of a program the test needs (the first of names
// found); when none is, the test skips, or fails when WSGATE_REQUIRE_DEPS=1
// (as in CI).
func need(t *testing.T, install string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testdeps.Missing(t, names[0], "interop tests", install)
	return ""
}

// takeover and plain are the two compression settings every client is
// tried with.
var (
	takeover = hub.Compression{Enabled: true, ContextTakeover: true, Threshold: 1}
	plain    = hub.Compression{Enabled: true, Threshold: 1}
)
