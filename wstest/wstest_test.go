package wstest

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newHub(t *testing.T, cfg hub.Config) *hub.Hub {
	t.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestBroadcastReachesEveryClient(t *testing.T) {
	t.Parallel()
	h := newHub(t, hub.Config{})
	h.OnMessage(func(s *hub.Session, m hub.Message) { h.Broadcast(m) })
	srv := NewServer(t, h, middleware.Config{})
	a, b := srv.Dial(t), srv.Dial(t)
	srv.AwaitSessions(t, 2)

	a.SendText(t, "hi")
	for _, c := range []*Conn{a, b} {
		if got := c.ReadText(t); got != "hi" {
			t.Fatalf("read %q, want hi", got)
		}
	}
	b.SendJSON(t, map[string]int{"n": 1})
	for _, c := range []*Conn{a, b} {
		var v struct{ N int }
		c.ReadJSON(t, &v)
		if v.N != 1 {
			t.Fatalf("decoded %+v", v)
		}
	}
	a.Send(t, hub.Binary([]byte{0, 1}))
	if m := b.Read(t); m.Type != hub.BinaryMessage || string(m.Data) != "\x00\x01" {
		t.Fatalf("read %v %q", m.Type, m.Data)
	}
}

func TestAwaitClose(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		end        func(srv *Server, s *hub.Session)
		wantCode   int
		wantReason string
	}{
		{"kicked", func(_ *Server, s *hub.Session) { s.Close(hub.ClosePolicy, "kicked") }, 1008, "kicked"},
		{"shutdown", func(srv *Server, _ *hub.Session) {
			go srv.Hub.Shutdown(context.Background())
		}, 1001, "server shutting down"},
		{"dropped", func(_ *Server, s *hub.Session) { s.Disconnect() }, 1006, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, hub.Config{})
			srv := NewServer(t, h, middleware.Config{})
			c := srv.Dial(t)
			s := srv.AwaitSessions(t, 1)[0]
			s.Send(hub.Text("before"))
			tc.end(srv, s)
			code, reason := c.AwaitClose(t)
			if code != tc.wantCode || reason != tc.wantReason {
				t.Fatalf("close %d %q, want %d %q", code, reason, tc.wantCode, tc.wantReason)
			}
			srv.AwaitSessions(t, 0)
		})
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	h := newHub(t, hub.Config{})
	oc, err := origin.New(origin.Policy{AllowedOrigins: []string{"https://app.example"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(t, h, middleware.Config{Origin: oc, Subprotocols: []string{"v1"}, RequireSubprotocol: true})
	cases := []struct {
		name   string
		opts   []DialOption
		status int
		body   string
	}{
		{"foreign origin", []DialOption{Origin("https://evil.example"), Subprotocols("v1")}, 403, "cross-origin"},
		{"no subprotocol", []DialOption{Origin("https://app.example")}, 400, "no supported subprotocol"},
		{"wrong subprotocol", []DialOption{Subprotocols("v2")}, 400, "no supported subprotocol"},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				resp := srv.DialRefused(t, tc.opts...)
				body := readBody(resp)
				if resp.StatusCode != tc.status || !strings.Contains(body, tc.body) {
					t.Fatalf("got %d %q, want %d with %q", resp.StatusCode, body, tc.status, tc.body)
				}
			})
		}
	})
	c := srv.Dial(t, Origin("https://app.example"), Subprotocols("v2", "v1"))
	if c.Subprotocol() != "v1" || c.Response().StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("subprotocol %q status %d", c.Subprotocol(), c.Response().StatusCode)
	}
	if r := srv.Handler.Refusals(); r.Origin != 1 || r.Handshake != 2 {
		t.Fatalf("refusals %+v, want 1 origin and 2 handshake", r)
	}
}

func TestHeadersPathAndMembers(t *testing.T) {
	t.Parallel()
	h := newHub(t, hub.Config{})
	h.OnConnect(func(s *hub.Session) {
		h.Join(s.ID(), s.URL().Query().Get("room"))
		s.Send(hub.Text(s.Header().Get("X-Name") + " in " + s.URL().Path))
	})
	srv := NewServer(t, h, middleware.Config{})
	ada := srv.Dial(t, Path("/chat?room=lobby"), Header("X-Name", "ada"))
	if got := ada.ReadText(t); got != "ada in /chat" {
		t.Fatalf("welcome %q", got)
	}
	srv.Dial(t, Path("/chat?room=lobby"))
	srv.Dial(t, Path("/chat?room=attic"))
	if ids := srv.AwaitMembers(t, "lobby", 2); len(ids) != 2 {
		t.Fatalf("members %v", ids)
	}
	sessions := srv.AwaitSessions(t, 3)
	for i := 1; i < len(sessions); i++ {
		if sessions[i].ConnectedAt().Before(sessions[i-1].ConnectedAt()) {
			t.Fatal("sessions not oldest first")
		}
	}
	ada.Close()
	srv.AwaitMembers(t, "lobby", 1)
	srv.AwaitSessions(t, 2)
}

func TestTLSAndMiddleware(t *testing.T) {
	t.Parallel()
	h := newHub(t, hub.Config{})
	h.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
	var mu sync.Mutex
	var seen []string
	tag := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, name)
				mu.Unlock()
				next.ServeHTTP(w, r)
			})
		}
	}
	srv := NewServer(t, h, middleware.Config{}, WithTLS(), WithMiddleware(tag("outer"), tag("inner")))
	if !strings.HasPrefix(srv.URL, "wss://") || !strings.HasPrefix(srv.HTTPURL, "https://") {
		t.Fatalf("URLs %s %s", srv.URL, srv.HTTPURL)
	}
	c := srv.Dial(t, Compression())
	c.SendText(t, strings.Repeat("x", 1000))
	if got := c.ReadText(t); len(got) != 1000 {
		t.Fatalf("echo of %d bytes", len(got))
	}
	resp, err := srv.Client().Get(srv.HTTPURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET: %d, want 400", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(seen, ","); got != "outer,inner,outer,inner" {
		t.Fatalf("middlewares ran as %s", got)
	}
}

// recorder is a testing.TB whose Fatal ends only the goroutine it runs on
// and records the message, to test that the helpers fail well.
type recorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.msg = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

// failure runs f with a recorder on its own goroutine and returns the
// failure message, "" if f did not fail.
func failure(t *testing.T, f func(tb testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msg
}

func TestFailuresAreReported(t *testing.T) {
	t.Parallel()
	h := newHub(t, hub.Config{})
	srv := NewServer(t, h, middleware.Config{})
	cases := []struct {
		name string
		f    func(tb testing.TB)
		want string
	}{
		{"read times out", func(tb testing.TB) {
			// A short Timeout would bound the dial too, which a loaded
			// machine can take longer than: shorten it for the read only.
			c := srv.Dial(tb, Timeout(time.Minute))
			if c.timeout != time.Minute {
				tb.Fatalf("Timeout(1m) gave the Conn %v", c.timeout)
			}
			c.timeout = 20 * time.Millisecond
			c.Read(tb)
		}, "waiting for a message"},
		{"read after a close", func(tb testing.TB) {
			c := srv.Dial(tb, Path("/kick"))
			c.Read(tb)
		}, `closed with 1008 "kicked"`},
		{"binary is not text", func(tb testing.TB) {
			c := srv.Dial(tb, Path("/binary"))
			c.ReadText(tb)
		}, "want text"},
		{"refused dial", func(tb testing.TB) {
			srv.Dial(tb, Origin("https://evil.example"))
		}, "403 Forbidden"},
		{"upgrade when a refusal was expected", func(tb testing.TB) {
			srv.DialRefused(tb)
		}, "upgraded, want a refusal"},
	}
	h.OnConnect(func(s *hub.Session) {
		switch s.URL().Path {
		case "/kick":
			s.Close(hub.ClosePolicy, "kicked")
		case "/binary":
			s.Send(hub.Binary([]byte{1}))
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := failure(t, tc.f); !strings.Contains(got, tc.want) {
				t.Fatalf("failure %q, want it to mention %q", got, tc.want)
			}
		})
	}
}
