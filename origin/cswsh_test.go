package origin_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/origin"
)

// echoServer is a cookie-authenticated WebSocket echo endpoint: the kind of
// endpoint cross-site WebSocket hijacking attacks. Its Upgrader accepts any
// Origin, so the origin middleware in front of it is the only defence.
type echoServer struct {
	upgrades atomic.Int32 // handshakes that reached the upgrader
}

func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("session"); err != nil || c.Value != "valid" {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	s.upgrades.Add(1)
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	for {
		mt, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if err := conn.WriteMessage(mt, msg); err != nil {
			return
		}
	}
}

func wsURL(srv *httptest.Server) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// dial opens a socket with the victim's session cookie and the given Origin
// ("" for none, like a non-browser client).
func dial(t *testing.T, srv *httptest.Server, originHeader string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{"Cookie": {"session=valid"}}
	if originHeader != "" {
		h.Set("Origin", originHeader)
	}
	return websocket.DefaultDialer.Dial(wsURL(srv), h)
}

func echoOnce(t *testing.T, conn *websocket.Conn) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
		t.Fatalf("write: %v", err)
	}
	_, msg, err := conn.ReadMessage()
	if err != nil || string(msg) != "ping" {
		t.Fatalf("read = %q, %v; want echo", msg, err)
	}
}

func TestCrossSiteWebSocketHijacking(t *testing.T) {
	t.Parallel()
	c, err := origin.New(origin.Policy{}) // same-origin only
	if err != nil {
		t.Fatal(err)
	}
	app := &echoServer{}
	mux := http.NewServeMux()
	mux.Handle("/ws", c.Middleware(app))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	self := srv.URL // "http://127.0.0.1:port": the origin of pages this server serves

	refused := []struct {
		name, origin, reason string
	}{
		{"foreign site", "https://evil.example", "cross-origin request"},
		{"same host other scheme", "https://" + srv.Listener.Addr().String(), "cross-origin request"},
		{"same host other port", "http://127.0.0.1:1", "cross-origin request"},
		{"userinfo trick", "http://" + srv.Listener.Addr().String() + "@evil.example", "malformed Origin header"},
		{"null origin", "null", "null Origin"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := dial(t, srv, tc.origin)
			if err == nil {
				conn.Close()
				t.Fatal("hijacking dial upgraded")
			}
			if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
				t.Fatalf("dial error = %v, want bad handshake with a response", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status = %d, want 403", resp.StatusCode)
			}
			if got, want := string(body), "origin not allowed: "+tc.reason+"\n"; got != want {
				t.Errorf("body = %q, want %q", got, want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if resp.Header.Get("Upgrade") != "" {
				t.Error("refusal carries an Upgrade header")
			}
		})
	}
	if n := app.upgrades.Load(); n != 0 {
		t.Fatalf("%d refused handshakes reached the upgrader", n)
	}

	t.Run("same-origin upgrades", func(t *testing.T) {
		conn, resp, err := dial(t, srv, self)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status = %d", resp.StatusCode)
		}
		echoOnce(t, conn)
	})
	t.Run("no Origin (Go client) upgrades", func(t *testing.T) {
		conn, _, err := dial(t, srv, "")
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		echoOnce(t, conn)
	})
}

func TestMiddlewareWithChiAndAllowList(t *testing.T) {
	t.Parallel()
	c, err := origin.New(origin.Policy{
		AllowedOrigins: []string{"https://app.example.com", "https://*.example.org"},
		RefuseMissing:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	app := &echoServer{}
	r := chi.NewRouter()
	r.With(origin.Middleware(c)).Get("/ws", app.ServeHTTP)
	srv := httptest.NewServer(r)
	defer srv.Close()

	for _, tc := range []struct {
		name, origin string
		want         int // 0: upgraded
	}{
		{"listed", "https://app.example.com", 0},
		{"wildcard", "https://a.b.example.org", 0},
		{"same-origin", srv.URL, 0},
		{"wildcard apex", "https://example.org", http.StatusForbidden},
		{"suffix trick", "https://app.example.com.evil.example", http.StatusForbidden},
		{"missing refused", "", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := dial(t, srv, tc.origin)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer conn.Close()
				echoOnce(t, conn)
				return
			}
			if err == nil {
				conn.Close()
				t.Fatal("dial upgraded")
			}
			if resp == nil {
				t.Fatalf("dial error %v without response", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestMiddlewareMarksCheckedRequests(t *testing.T) {
	c, err := origin.New(origin.Policy{AllowedOrigins: []string{"https://app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	var sawChecked bool
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawChecked = origin.Checked(r.Context())
	}))
	r := httptest.NewRequest(http.MethodGet, "http://ws.example.com/ws", nil)
	r.Header.Set("Origin", "https://app.example.com")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !sawChecked {
		t.Fatal("an allowed request does not carry the checked mark")
	}
	if origin.Checked(r.Context()) {
		t.Fatal("the original request context was changed")
	}
}
