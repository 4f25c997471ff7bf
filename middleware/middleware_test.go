package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

func TestWrapServesPageAndSocketOnOnePath(t *testing.T) {
	t.Parallel()
	h := newEchoHub(t, hub.Config{})
	m := newHandler(t, h, middleware.Config{})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "page for "+r.Method)
	})
	mux := http.NewServeMux()
	mux.Handle("/chat", m.Wrap(page))
	srv := serve(t, mux)

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, err := http.NewRequest(method, srv.URL+"/chat", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "page for "+method {
			t.Errorf("%s /chat = %d %q, want 200 %q", method, resp.StatusCode, b, "page for "+method)
		}
	}

	c := mustDial(t, wsURL(srv, "/chat"), nil)
	if got := roundTrip(t, c, "hello"); got != "hello" {
		t.Errorf("echo = %q, want hello", got)
	}
	if got := m.Refusals(); got != (middleware.Refusals{}) {
		t.Errorf("Refusals() = %+v, want none: pages are not refusals", got)
	}
}

// TestUpgradeThroughChiMiddlewares upgrades through middlewares that wrap
// the ResponseWriter: the hub finds the http.Hijacker through their Unwrap
// methods (chi's Logger prints one line per request to stdout).
func TestUpgradeThroughChiMiddlewares(t *testing.T) {
	t.Parallel()
	h := newEchoHub(t, hub.Config{})
	m := newHandler(t, h, middleware.Config{Subprotocols: []string{"chat.v1"}})
	r := chi.NewRouter()
	r.Use(chimw.Logger, chimw.Compress(5))
	r.Get("/ws", m.ServeHTTP)
	srv := serve(t, r)

	// Accept-Encoding makes Compress wrap the writer in its compressing one.
	c := mustDial(t, wsURL(srv, "/ws"), http.Header{"Accept-Encoding": {"gzip, deflate"}}, "chat.v1")
	if c.Subprotocol() != "chat.v1" {
		t.Errorf("subprotocol = %q, want chat.v1", c.Subprotocol())
	}
	for _, msg := range []string{"one", strings.Repeat("two", 1000)} {
		if got := roundTrip(t, c, msg); got != msg {
			t.Errorf("echo = %q, want %q", got, msg)
		}
	}
	if st := h.Stats(); st.Active != 1 || st.Total != 1 {
		t.Errorf("Stats = %d active, %d total; want 1, 1", st.Active, st.Total)
	}
}

// TestTimeoutHandlerCannotWrapWebSocket documents that http.TimeoutHandler
// cannot wrap a WebSocket route: its ResponseWriter buffers the response and
// offers neither Hijack nor Unwrap, so the upgrade cannot take the
// connection. The client gets a clean 500, nothing panics, no session or
// hub slot is left behind (the hub admits the next client of its single
// slot), and goleak in TestMain checks that no goroutine is.
func TestTimeoutHandlerCannotWrapWebSocket(t *testing.T) {
	t.Parallel()
	h := newEchoHub(t, hub.Config{MaxConnections: 1})
	m := newHandler(t, h, middleware.Config{})
	mux := http.NewServeMux()
	mux.Handle("/timeout", http.TimeoutHandler(m, wait, "timed out"))
	mux.Handle("/ws", m)
	srv := serve(t, mux)

	res := dial(t, wsURL(srv, "/timeout"), nil)
	if !errors.Is(res.err, websocket.ErrBadHandshake) {
		t.Fatalf("dial through TimeoutHandler: err = %v, want ErrBadHandshake", res.err)
	}
	if res.resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500 (body %q)", res.resp.StatusCode, res.body)
	}
	if st := h.Stats(); st.Total != 0 || st.Active != 0 {
		t.Errorf("Stats = %d active, %d total; want no session", st.Active, st.Total)
	}
	if got := m.Refusals().Other; got != 1 {
		t.Errorf("Refusals().Other = %d, want 1", got)
	}

	c := mustDial(t, wsURL(srv, "/ws"), nil)
	if got := roundTrip(t, c, "after"); got != "after" {
		t.Errorf("echo = %q, want after", got)
	}
}

// returnedMiddleware reports on done each time the rest of the chain has
// returned, so a test knows the upgrading handler is finished with the
// request while its session lives on.
func returnedMiddleware(done chan<- struct{}) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			done <- struct{}{}
		})
	}
}

// TestChiChainForm is issue 3's composition by hand:
//
//	r.With(ratelimit.Connections(lim), origin.Middleware(oc), auth.Middleware(v)).
//		Get("/ws", handler.ServeHTTP)
//
// with handler = middleware.New(h, Config{}). The origin middleware's
// allowed foreign origin must not be refused again by the handler's default
// same-origin check, and the connection slot must be held by the session
// (not by the request, whose handler returns as soon as the upgrade is
// done) and released when the session ends.
func TestChiChainForm(t *testing.T) {
	t.Parallel()
	lim, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	oc, err := origin.New(origin.Policy{AllowedOrigins: []string{"https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.New(auth.Config{Algorithms: []string{"HS256"}, HMACSecret: testSecret, Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	h := newEchoHub(t, hub.Config{})
	tr := trackSessions(h)
	closed := make(chan *hub.Session, 4)
	h.OnClose(func(s *hub.Session, code int, reason string) { closed <- s })
	handler := newHandler(t, h, middleware.Config{})

	returned := make(chan struct{}, 16)
	r := chi.NewRouter()
	r.With(returnedMiddleware(returned), // test instrumentation only
		ratelimit.Connections(lim), origin.Middleware(oc), auth.Middleware(v)).
		Get("/ws", handler.ServeHTTP)
	srv := serve(t, r)
	awaitReturn := func() {
		t.Helper()
		select {
		case <-returned:
		case <-time.After(wait):
			t.Fatal("handler did not return")
		}
	}

	tok := mint(t, "alice", testAudience, time.Now().Add(time.Hour))
	allowed := func() http.Header {
		hdr := bearer(tok)
		hdr.Set("Origin", "https://app.example.com")
		return hdr
	}

	// Refusals by the chain's own middlewares.
	refusals := []struct {
		name   string
		hdr    http.Header
		status int
	}{
		{"foreign-origin", http.Header{"Origin": {"https://evil.example"}, "Authorization": {"Bearer " + tok}}, http.StatusForbidden},
		{"missing-token", http.Header{"Origin": {"https://app.example.com"}}, http.StatusUnauthorized},
	}
	for _, rc := range refusals {
		res := dial(t, wsURL(srv, "/ws?c="+rc.name), rc.hdr)
		if res.resp == nil || res.resp.StatusCode != rc.status {
			t.Fatalf("%s: dial = %v, want status %d", rc.name, res.err, rc.status)
		}
		awaitReturn()
		if n := lim.Active(); n != 0 {
			t.Errorf("%s: Active() = %d after a refusal, want 0", rc.name, n)
		}
	}

	// The allowed foreign origin is upgraded: not refused by the handler's
	// default same-origin check.
	first := mustDial(t, wsURL(srv, "/ws?c=first"), allowed())
	awaitReturn()
	if got := roundTrip(t, first, "hi"); got != "hi" {
		t.Errorf("echo = %q", got)
	}
	s1 := tr.get(t, "first")
	if tk, ok := auth.TokenFromContext(s1.Context()); !ok || tk.Subject != "alice" {
		t.Errorf("session token = %v, %v; want subject alice", tk, ok)
	}
	// The handler has returned; the session holds the slot.
	if n := lim.Active(); n != 1 {
		t.Fatalf("Active() = %d while the session is open, want 1", n)
	}

	res := dial(t, wsURL(srv, "/ws?c=second"), allowed())
	if res.resp == nil || res.resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second dial: %v, want 503", res.err)
	}
	awaitReturn()
	if res.resp.Header.Get("Retry-After") != "5" {
		t.Errorf("Retry-After = %q, want 5", res.resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(res.body, "too many connections") {
		t.Errorf("body = %q", res.body)
	}

	// End the first session; once it is done (the slot is released by the
	// middleware's OnClose, which runs after the hub's), a new dial succeeds.
	_ = first.Close()
	var ended *hub.Session
	select {
	case ended = <-closed:
	case <-time.After(wait):
		t.Fatal("first session did not end")
	}
	if ended != s1 {
		t.Fatalf("OnClose for %s, want %s", ended.ID(), s1.ID())
	}
	awaitDone(t, ended)
	if n := lim.Active(); n != 0 {
		t.Fatalf("Active() = %d after the session ended, want 0", n)
	}
	third := mustDial(t, wsURL(srv, "/ws?c=third"), allowed())
	awaitReturn()
	if got := roundTrip(t, third, "again"); got != "again" {
		t.Errorf("echo = %q", got)
	}
	if n := lim.Active(); n != 1 {
		t.Errorf("Active() = %d, want 1", n)
	}
}

// TestTokenExpiryHookPanic: OnTokenExpiry runs on a timer's goroutine, where
// a panic would end the process; the handler closes the session with 1011
// instead.
func TestTokenExpiryHookPanic(t *testing.T) {
	t.Parallel()
	v, err := auth.New(auth.Config{Algorithms: []string{"HS256"}, HMACSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	h := newEchoHub(t, hub.Config{})
	called := make(chan struct{}, 1)
	m := newHandler(t, h, middleware.Config{
		Auth: v,
		OnTokenExpiry: func(*hub.Session) time.Time {
			called <- struct{}{}
			panic("application bug")
		},
	})
	srv := serve(t, m)
	c := mustDial(t, wsURL(srv, "/ws"), bearer(mint(t, "carol", testAudience, time.Now().Add(2*time.Second))))
	ce := awaitClose(t, c)
	if ce.Code != hub.CloseServerError {
		t.Errorf("close = %d %q, want %d", ce.Code, ce.Text, hub.CloseServerError)
	}
	select {
	case <-called:
	default:
		t.Error("OnTokenExpiry was not called")
	}
}
