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

// deflateCase is one negotiation a scripted client (Python, Node) is run
// with: its mode (the script's argument), the hub's settings, the answer
// the hub must give and what the session must have negotiated.
type deflateCase struct {
	mode   string
	comp   hub.Compression
	answer string
	want   hub.Deflate
}

// deflateCases are the negotiations of the scripted clients: their default
// offer, small windows both ways (the hub's bounds smaller than asked for
// the client's), takeover refused by the client, and the default offer to a
// hub without takeover, whose bytes the first case is compared with.
var deflateCases = []deflateCase{
	{"default", takeover, "permessage-deflate", hub.Deflate{ServerContextTakeover: true, ClientContextTakeover: true,
		ServerWindowBits: 15, ClientWindowBits: 15, WindowBytes: 64 << 10}},
	{"windows", hub.Compression{Enabled: true, ContextTakeover: true, Threshold: 1, WindowBits: 12, ClientWindowBits: 9},
		"permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
		hub.Deflate{ServerContextTakeover: true, ClientContextTakeover: true, ServerWindowBits: 10, ClientWindowBits: 9, WindowBytes: 1024 + 512}},
	{"no-takeover", takeover, "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		hub.Deflate{ServerWindowBits: 15, ClientWindowBits: 15}},
	{"default", plain, "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
		hub.Deflate{ServerWindowBits: 15, ClientWindowBits: 15}},
}

// runDeflateCases runs every case against its own echo server: run echoes
// 40 messages with the client and returns the answer the client got. It
// checks the answer and the session's negotiation, and that the stream took
// under half the bytes with context takeover.
func runDeflateCases(t *testing.T, run func(*echoServer, deflateCase) string) {
	t.Helper()
	var wire []int64
	for _, tc := range deflateCases {
		es := startEcho(t, tc.comp)
		if answer := run(es, tc); answer != tc.answer {
			t.Errorf("%s: answered %q, want %q", tc.mode, answer, tc.answer)
		}
		if d := es.session(t); d != tc.want {
			t.Errorf("%s: hub negotiated %+v, want %+v", tc.mode, d, tc.want)
		}
		wire = append(wire, es.bytes.Load())
		t.Logf("%s, takeover %v: %d bytes on the wire for 40 echoes", tc.mode, tc.comp.ContextTakeover, es.bytes.Load())
	}
	if wire[0]*2 > wire[3] {
		t.Errorf("the same stream took %d bytes with context takeover, %d without: want under half", wire[0], wire[3])
	}
}
