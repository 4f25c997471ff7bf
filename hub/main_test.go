package hub

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	parkAfter = 20 * time.Millisecond // sessions park, and come back, all through the tests
	goleak.VerifyTestMain(m)
}

// waitFor bounds every wait for an event; it is a failure bound, never an
// expected duration.
const waitFor = 10 * time.Second

// dialHeader carries a per-dial ID so that dial can pick its own session out
// of the hub's OnConnect calls.
const dialHeader = "X-Test-Dial"

// closeEvent is what OnClose reported for a session.
type closeEvent struct {
	code   int
	reason string
}

// testHub is a Hub behind an httptest server on loopback whose handler calls
// Accept. Server-side events arrive through OnConnect/OnClose/OnError.
type testHub struct {
	*Hub
	srv *httptest.Server
	url string

	opts       atomic.Pointer[func(*http.Request) AcceptOptions]
	acceptErrs chan error // errors returned by Accept
	errs       chan error // errors reported to OnError

	dialSeq atomic.Uint64
	waiters sync.Map // dial ID → chan *Session
	errBy   sync.Map // session ID → the first error OnError reported for it

	mu     sync.Mutex
	closed map[string]closeEvent // session ID → what OnClose reported
}

// newTestHub starts a hub with cfg behind a loopback httptest server. The
// hub is shut down and the server closed when the test ends.
func newTestHub(t testing.TB, cfg Config) *testHub {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	th := &testHub{
		Hub:        h,
		acceptErrs: make(chan error, 64),
		errs:       make(chan error, 64),
		closed:     make(map[string]closeEvent),
	}
	th.onConnect(nil)
	th.onClose(nil)
	h.OnError(func(s *Session, err error) {
		if s != nil { // errors of the cluster belong to no session
			th.errBy.LoadOrStore(s.ID(), err)
		}
		select {
		case th.errs <- err:
		default:
		}
	})
	th.srv = httptest.NewServer(http.HandlerFunc(th.serve))
	th.url = "ws" + strings.TrimPrefix(th.srv.URL, "http")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		h.Shutdown(ctx) // may report forced sessions; the test has ended
		th.srv.Close()
	})
	return th
}

func (th *testHub) serve(w http.ResponseWriter, r *http.Request) {
	var opts AcceptOptions
	if f := th.opts.Load(); f != nil {
		opts = (*f)(r)
	}
	if _, err := th.Accept(w, r, opts); err != nil {
		select {
		case th.acceptErrs <- err:
		default:
		}
		if errors.Is(err, ErrShuttingDown) || errors.Is(err, ErrFull) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}
}

// acceptOptions sets the AcceptOptions the handler passes for each request.
func (th *testHub) acceptOptions(f func(*http.Request) AcceptOptions) { th.opts.Store(&f) }

// onConnect installs f (which may be nil) as the hub's OnConnect, keeping
// the dial bookkeeping. f runs before dial returns.
func (th *testHub) onConnect(f func(*Session)) {
	th.Hub.OnConnect(func(s *Session) {
		if f != nil {
			f(s)
		}
		if ch, ok := th.waiters.Load(s.Header().Get(dialHeader)); ok {
			ch.(chan *Session) <- s
		}
	})
}

// onClose installs f (which may be nil) as the hub's OnClose, keeping the
// record awaitEnd reads.
func (th *testHub) onClose(f func(*Session, int, string)) {
	th.Hub.OnClose(func(s *Session, code int, reason string) {
		th.mu.Lock()
		th.closed[s.ID()] = closeEvent{code, reason}
		th.mu.Unlock()
		if f != nil {
			f(s, code, reason)
		}
	})
}

// rawDial dials the hub without waiting for OnConnect. The connection is
// closed when the test ends.
func (th *testHub) rawDial(t testing.TB, d *websocket.Dialer, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: waitFor}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, resp, err := d.DialContext(ctx, th.url, hdr)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// dial connects a client and returns it with its server-side session, once
// OnConnect has run for it.
func (th *testHub) dial(t testing.TB) (*websocket.Conn, *Session) {
	t.Helper()
	return th.dialWith(t, nil, nil)
}

func (th *testHub) dialWith(t testing.TB, d *websocket.Dialer, hdr http.Header) (*websocket.Conn, *Session) {
	t.Helper()
	id := strconv.FormatUint(th.dialSeq.Add(1), 10)
	ch := make(chan *Session, 1)
	th.waiters.Store(id, ch)
	defer th.waiters.Delete(id)
	hdr = hdr.Clone()
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set(dialHeader, id)
	c, _, err := th.rawDial(t, d, hdr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	select {
	case s := <-ch:
		return c, s
	case <-time.After(waitFor):
		t.Fatalf("dial %s: OnConnect never ran", id)
	}
	return nil, nil
}

// awaitEnd waits until s has ended and returns what OnClose reported.
func (th *testHub) awaitEnd(t testing.TB, s *Session) closeEvent {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(waitFor):
		t.Fatalf("session %s did not end", s.ID())
	}
	th.mu.Lock()
	ev, ok := th.closed[s.ID()]
	th.mu.Unlock()
	if !ok {
		t.Fatalf("session %s ended without OnClose", s.ID())
	}
	return ev
}

// sessionErr returns what OnError reported for s, which has ended (OnError
// runs before OnClose), or nil.
func (th *testHub) sessionErr(s *Session) error {
	if err, ok := th.errBy.Load(s.ID()); ok {
		return err.(error)
	}
	return nil
}

// wantSessionErr fails unless OnError reported a *SessionError for s, which
// has ended, with code and cause.
func (th *testHub) wantSessionErr(t testing.TB, s *Session, code int, cause error) {
	t.Helper()
	err := th.sessionErr(s)
	var se *SessionError
	if !errors.As(err, &se) || se.Code != code || !errors.Is(err, cause) {
		t.Fatalf("OnError got %v, want a *SessionError with code %d wrapping %q", err, code, cause)
	}
}

// readMsg reads one data message from c.
func readMsg(t testing.TB, c *websocket.Conn) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	typ, p, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ, string(p)
}

// readText reads one message and fails unless it is the text want.
func readText(t testing.TB, c *websocket.Conn, want string) {
	t.Helper()
	typ, got := readMsg(t, c)
	if typ != websocket.TextMessage || got != want {
		t.Fatalf("read %d %.40q, want text %.40q", typ, got, want)
	}
}

// awaitClose reads from c, discarding data messages, until the connection
// ends. It returns the close frame's code and reason, or -1 and the error
// when the connection ended without one.
func awaitClose(t testing.TB, c *websocket.Conn) (code int, reason string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		return -1, err.Error()
	}
}

// awaitErr waits for an OnError report.
func (th *testHub) awaitErr(t testing.TB) error {
	t.Helper()
	select {
	case err := <-th.errs:
		return err
	case <-time.After(waitFor):
		t.Fatal("no OnError report")
	}
	return nil
}

// stalledDialer returns a dialer whose sockets have a tiny receive buffer,
// for clients that never read: the server's writes then block quickly.
func stalledDialer() *websocket.Dialer {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if tc, ok := c.(*net.TCPConn); ok {
			err = tc.SetReadBuffer(4096)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	return &websocket.Dialer{HandshakeTimeout: waitFor, NetDialContext: dial}
}

// shrinkSendBuffer gives the server side of s a tiny kernel send buffer. It
// runs in OnConnect, so it reports with Errorf, never Fatal.
func shrinkSendBuffer(t testing.TB, s *Session) {
	tc, ok := s.fc.Conn.(*net.TCPConn)
	if !ok {
		t.Errorf("server conn is %T", s.fc.Conn)
		return
	}
	if err := tc.SetWriteBuffer(4096); err != nil {
		t.Errorf("SetWriteBuffer: %v", err)
	}
}
