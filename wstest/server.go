package wstest

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
)

// DefaultTimeout bounds every wait of this package unless a Timeout option
// says otherwise: dialing, reading, awaiting a close or a session count, and
// shutting the hub down in cleanup. It is a failure bound, never an
// expected duration.
const DefaultTimeout = 10 * time.Second

// Server is a hub served over loopback by an httptest server.
type Server struct {
	// Hub is the hub sessions attach to.
	Hub *hub.Hub
	// Handler is the middleware handler NewServer built; nil for Serve.
	Handler *middleware.Handler
	// URL is the WebSocket base URL, "ws://127.0.0.1:PORT" (or wss://
	// with WithTLS), without a path.
	URL string
	// HTTPURL is the same address with http:// or https://, for ordinary
	// requests.
	HTTPURL string

	ts  *httptest.Server
	tls *tls.Config // trusts the server's certificate; nil without TLS
}

// ServerOption changes how NewServer and Serve start the server.
type ServerOption func(*serverConfig)

type serverConfig struct {
	tls bool
	mws []func(http.Handler) http.Handler
}

// WithTLS serves over TLS with httptest's certificate; Server.Dial and
// Server.Client trust it.
func WithTLS() ServerOption { return func(c *serverConfig) { c.tls = true } }

// WithMiddleware wraps the handler in mws, the first one outermost, as a
// router would: to test the WebSocket route behind the middlewares the
// application puts in front of it.
func WithMiddleware(mws ...func(http.Handler) http.Handler) ServerOption {
	return func(c *serverConfig) { c.mws = append(c.mws, mws...) }
}

// NewServer serves h through a middleware.Handler built from cfg, on every
// path. It fails the test if cfg is invalid. Cleanup shuts the hub down
// (closing the remaining sessions with 1001) and closes the server.
func NewServer(t testing.TB, h *hub.Hub, cfg middleware.Config, opts ...ServerOption) *Server {
	t.Helper()
	ws, err := middleware.New(h, cfg)
	if err != nil {
		t.Fatalf("wstest: %v", err)
	}
	s := Serve(t, h, ws, opts...)
	s.Handler = ws
	return s
}

// Serve serves handler, which attaches its sessions to h: a router, an
// application's whole http.Handler, or a middleware.Handler built by hand.
// Cleanup shuts h down and closes the server.
func Serve(t testing.TB, h *hub.Hub, handler http.Handler, opts ...ServerOption) *Server {
	t.Helper()
	if h == nil || handler == nil {
		t.Fatal("wstest: Serve needs a hub and a handler")
	}
	var cfg serverConfig
	for _, o := range opts {
		o(&cfg)
	}
	for i := len(cfg.mws) - 1; i >= 0; i-- {
		handler = cfg.mws[i](handler)
	}
	ts := httptest.NewUnstartedServer(handler)
	if cfg.tls {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	s := &Server{Hub: h, HTTPURL: ts.URL, ts: ts}
	s.URL = "ws" + strings.TrimPrefix(ts.URL, "http")
	if cfg.tls {
		s.tls = ts.Client().Transport.(*http.Transport).TLSClientConfig
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		h.Shutdown(ctx)
		ts.Close()
	})
	return s
}

// Client returns an HTTP client for the server (trusting its certificate
// under WithTLS), for the application's ordinary routes.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Dial connects a client to the server, at the path given by Path (default
// "/"). It fails the test if the upgrade fails.
func (s *Server) Dial(t testing.TB, opts ...DialOption) *Conn {
	t.Helper()
	return Dial(t, s.URL, s.options(opts)...)
}

// TryDial is Dial for a handshake that may be refused: it returns the
// server's response (with its body readable) and the error instead of
// failing the test.
func (s *Server) TryDial(t testing.TB, opts ...DialOption) (*Conn, *http.Response, error) {
	t.Helper()
	return TryDial(t, s.URL, s.options(opts)...)
}

// DialRefused dials expecting a refusal and returns the server's answer;
// it fails the test if the upgrade succeeds or no HTTP answer came.
func (s *Server) DialRefused(t testing.TB, opts ...DialOption) *http.Response {
	t.Helper()
	return DialRefused(t, s.URL, s.options(opts)...)
}

// options puts the server's TLS trust before the caller's options, which
// may replace it.
func (s *Server) options(opts []DialOption) []DialOption {
	if s.tls == nil {
		return opts
	}
	return append([]DialOption{TLSConfig(s.tls)}, opts...)
}

// AwaitSessions waits until the hub holds exactly n sessions and returns
// them, oldest first. A session counts once it is attached, just before
// the hub's OnConnect runs (see the package documentation), and until it
// leaves the hub, in the same step as its close code is counted in
// hub.Stats; its OnClose runs after that, so await its Done channel for
// what OnClose does.
func (s *Server) AwaitSessions(t testing.TB, n int) []*hub.Session {
	t.Helper()
	var got []*hub.Session
	Await(t, "the hub to hold "+strconv.Itoa(n)+" sessions", func() bool {
		got = got[:0]
		for _, id := range s.Hub.SessionIDs() {
			if sess, ok := s.Hub.Session(id); ok {
				got = append(got, sess)
			}
		}
		return len(got) == n
	})
	slices.SortFunc(got, func(a, b *hub.Session) int {
		if c := a.ConnectedAt().Compare(b.ConnectedAt()); c != 0 {
			return c
		}
		return strings.Compare(a.ID(), b.ID())
	})
	return got
}

// AwaitMembers waits until the room has exactly n members on this node and
// returns their session IDs, sorted.
func (s *Server) AwaitMembers(t testing.TB, room string, n int) []string {
	t.Helper()
	var ids []string
	Await(t, "room "+room+" to have "+strconv.Itoa(n)+" members", func() bool {
		ids = s.Hub.Members(room)
		return len(ids) == n
	})
	return ids
}

// Await calls cond every few milliseconds until it returns true, and fails
// the test if that takes longer than DefaultTimeout. what says what is
// awaited, for the failure message.
func Await(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(DefaultTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("wstest: gave up after %v waiting for %s", DefaultTimeout, what)
		}
	}
}
