package middleware_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait for an event in these tests; it is a safety net
// against hangs, never an assertion on how long something takes.
const wait = 10 * time.Second

// sampleKey is the Sec-WebSocket-Key of RFC 6455 section 1.3.
const sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

// newHub returns a hub that is shut down when the test ends.
func newHub(t testing.TB, cfg hub.Config) *hub.Hub {
	t.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatalf("hub.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, err := h.Shutdown(ctx); err != nil {
			t.Errorf("hub.Shutdown: %v", err)
		}
	})
	return h
}

// newEchoHub returns a hub whose sessions get every message back. The
// message "proto?" is answered with the session's subprotocol instead.
func newEchoHub(t testing.TB, cfg hub.Config) *hub.Hub {
	t.Helper()
	h := newHub(t, cfg)
	h.OnMessage(func(s *hub.Session, m hub.Message) {
		if string(m.Data) == "proto?" {
			_ = s.Send(hub.Text("proto=" + s.Subprotocol()))
			return
		}
		_ = s.Send(m)
	})
	return h
}

func newHandler(t testing.TB, h *hub.Hub, cfg middleware.Config) *middleware.Handler {
	t.Helper()
	m, err := middleware.New(h, cfg)
	if err != nil {
		t.Fatalf("middleware.New: %v", err)
	}
	return m
}

// serve starts an httptest server on 127.0.0.1 that is closed when the
// test ends.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// dialResult is what a gorilla client saw when dialing.
type dialResult struct {
	conn *websocket.Conn // nil when refused
	resp *http.Response  // nil when no HTTP answer came
	body string          // body of a refusal
	err  error
}

// dial dials url with a gorilla client offering protos and sending hdr.
// A connection it returns is closed when the test ends.
func dial(t testing.TB, url string, hdr http.Header, protos ...string) dialResult {
	t.Helper()
	return dialWith(t, &websocket.Dialer{Subprotocols: protos, HandshakeTimeout: wait}, url, hdr)
}

// dialWith dials url with d and returns what the client saw. A connection
// it returns is closed when the test ends.
func dialWith(t testing.TB, d *websocket.Dialer, url string, hdr http.Header) dialResult {
	t.Helper()
	conn, resp, err := d.Dial(url, hdr)
	res := dialResult{conn: conn, resp: resp, err: err}
	if resp != nil && resp.Body != nil {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		res.body = string(b)
	}
	if conn != nil {
		t.Cleanup(func() { _ = conn.Close() })
	}
	return res
}

// mustDial dials and fails the test unless the upgrade succeeded.
func mustDial(t testing.TB, url string, hdr http.Header, protos ...string) *websocket.Conn {
	t.Helper()
	res := dial(t, url, hdr, protos...)
	if res.err != nil {
		status := 0
		if res.resp != nil {
			status = res.resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d, body %q)", url, res.err, status, res.body)
	}
	return res.conn
}

// roundTrip sends msg and returns the next text message the client reads.
func roundTrip(t testing.TB, c *websocket.Conn, msg string) string {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	return readText(t, c)
}

func readText(t testing.TB, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// awaitClose reads until the connection ends and returns the close frame the
// server sent.
func awaitClose(t testing.TB, c *websocket.Conn) *websocket.CloseError {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		ce, ok := err.(*websocket.CloseError)
		if !ok {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce
	}
}

// rawHandshake sends a hand-written request (which Go's clients cannot
// produce: HTTP/1.0, duplicate or broken WebSocket headers) and returns the
// response and its body.
func rawHandshake(t testing.TB, srv *httptest.Server, method, proto string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatalf("net.Dial: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	var b strings.Builder
	fmt.Fprintf(&b, "%s /ws %s\r\nHost: %s\r\n", method, proto, srv.Listener.Addr())
	_ = hdr.Write(&b)
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatalf("write request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(body)
}

// upgradeHeader is the header of a valid handshake, for rawHandshake.
func upgradeHeader() http.Header {
	return http.Header{
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-Websocket-Key":     {sampleKey},
		"Sec-Websocket-Version": {"13"},
	}
}

// Tokens: HS256 with a test-only secret.
var (
	testSecret = []byte("wsgate-middleware-test-secret-32b")
)

const (
	testIssuer   = "https://issuer.test/"
	testAudience = "chat"
)

// mint signs a token for sub, for audience aud, expiring at exp.
func mint(t testing.TB, sub, aud string, exp time.Time) string {
	t.Helper()
	c := jwt.RegisteredClaims{
		Issuer:    testIssuer,
		Subject:   sub,
		Audience:  jwt.ClaimStrings{aud},
		ExpiresAt: jwt.NewNumericDate(exp),
		IssuedAt:  jwt.NewNumericDate(time.Now().Add(-time.Minute)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(testSecret)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// sessions records the hub's sessions by the "c" query parameter of their
// upgrade URL, so a test can find the server side of one of its clients.
type sessions struct {
	mu   sync.Mutex
	byC  map[string]*hub.Session
	seen map[string]chan struct{}
}

// trackSessions installs the hub's OnConnect; then, if set, runs after
// recording each session.
func trackSessions(h *hub.Hub, then ...func(*hub.Session)) *sessions {
	tr := &sessions{byC: make(map[string]*hub.Session), seen: make(map[string]chan struct{})}
	h.OnConnect(func(s *hub.Session) {
		for _, f := range then {
			f(s)
		}
		name := s.URL().Query().Get("c")
		tr.mu.Lock()
		_, dup := tr.byC[name]
		tr.byC[name] = s
		ch := tr.chanLocked(name)
		tr.mu.Unlock()
		if !dup {
			close(ch)
		}
	})
	return tr
}

func (tr *sessions) chanLocked(name string) chan struct{} {
	ch, ok := tr.seen[name]
	if !ok {
		ch = make(chan struct{})
		tr.seen[name] = ch
	}
	return ch
}

// get waits until the client named name is attached and returns its session.
func (tr *sessions) get(t testing.TB, name string) *hub.Session {
	t.Helper()
	tr.mu.Lock()
	ch := tr.chanLocked(name)
	tr.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("session %q never attached", name)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.byC[name]
}

// awaitDone waits until s has ended and run every OnClose (the middleware's,
// which releases connection slots, runs after the hub's).
func awaitDone(t testing.TB, s *hub.Session) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(wait):
		t.Fatalf("session %s did not end", s.ID())
	}
}
