package middleware_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

// New mounts a WebSocket endpoint on a mux. The server prefers chat.v2, so
// a client offering both gets chat.v2 whatever its own order.
func ExampleNew() {
	h, err := hub.New(hub.Config{})
	if err != nil {
		log.Fatal(err)
	}
	h.OnMessage(func(s *hub.Session, m hub.Message) { _ = s.Send(m) })

	ws, err := middleware.New(h, middleware.Config{
		Subprotocols: []string{"chat.v2", "chat.v1"},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	srv := httptest.NewServer(mux) // on 127.0.0.1
	defer srv.Close()

	d := websocket.Dialer{Subprotocols: []string{"chat.v1", "chat.v2"}}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("subprotocol:", conn.Subprotocol())
	_ = conn.WriteMessage(websocket.TextMessage, []byte("hello"))
	_, msg, err := conn.ReadMessage()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("echo:", string(msg))
	_ = conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = h.Shutdown(ctx)
	// Output:
	// subprotocol: chat.v2
	// echo: hello
}

// Wrap serves a page and its socket on one path: WebSocket handshakes are
// upgraded, every other request goes to the page.
func ExampleHandler_Wrap() {
	h, err := hub.New(hub.Config{})
	if err != nil {
		log.Fatal(err)
	}
	h.OnMessage(func(s *hub.Session, m hub.Message) { _ = s.Send(m) })
	ws, err := middleware.New(h, middleware.Config{})
	if err != nil {
		log.Fatal(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<!doctype html><title>chat</title>")
	})
	mux := http.NewServeMux()
	mux.Handle("/chat", ws.Wrap(page))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/chat")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println("page:", string(body))

	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/chat", nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = conn.WriteMessage(websocket.TextMessage, []byte("hi"))
	_, msg, _ := conn.ReadMessage()
	fmt.Println("socket:", string(msg))
	_ = conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = h.Shutdown(ctx)
	// Output:
	// page: <!doctype html><title>chat</title>
	// socket: hi
}

// The one-call form: every check configured on the Handler, applied in the
// order of the data flow (client IP, handshake rate, connection limits,
// origin, token, handshake, subprotocol).
func ExampleConfig() {
	h, err := hub.New(hub.Config{MaxConnections: 10_000})
	if err != nil {
		log.Fatal(err)
	}
	oc, err := origin.New(origin.Policy{AllowedOrigins: []string{"https://app.example.com"}})
	if err != nil {
		log.Fatal(err)
	}
	v, err := auth.New(auth.Config{
		Algorithms: []string{"HS256"},
		HMACSecret: []byte(os.Getenv("JWT_SECRET")),
		Issuer:     "https://issuer.example.com/",
		Audience:   "chat",
	})
	if err != nil {
		log.Fatal(err)
	}
	ips, err := ratelimit.NewIPResolver([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	if err != nil {
		log.Fatal(err)
	}
	handshakes, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: 1, Burst: 10})
	if err != nil {
		log.Fatal(err)
	}
	conns, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{Max: 10_000, PerIP: 20, PerUser: 5})
	if err != nil {
		log.Fatal(err)
	}
	msgs, err := ratelimit.NewMessageLimiter(ratelimit.MessageConfig{
		PerSession: rate.Limit(20), SessionBurst: 40, Policy: ratelimit.Reject,
	})
	if err != nil {
		log.Fatal(err)
	}
	ws, err := middleware.New(h, middleware.Config{
		Subprotocols: []string{"chat.v1"},
		Origin:       oc,
		Auth:         v,
		ClientIP:     ips,
		Handshakes:   handshakes,
		Connections:  conns,
		Messages:     msgs,
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/ws", ws)
}

// The chi chain form: the leaf packages' middlewares in front of a Handler
// with an empty Config. The Handler skips its default same-origin check
// because origin.Middleware has already run, and the session takes over
// the connection slot that ratelimit.Connections holds, until it ends.
func Example_chi() {
	h, err := hub.New(hub.Config{})
	if err != nil {
		log.Fatal(err)
	}
	lim, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{Max: 10_000, PerIP: 20})
	if err != nil {
		log.Fatal(err)
	}
	oc, err := origin.New(origin.Policy{AllowedOrigins: []string{"https://app.example.com"}})
	if err != nil {
		log.Fatal(err)
	}
	v, err := auth.New(auth.Config{Algorithms: []string{"HS256"}, HMACSecret: []byte(os.Getenv("JWT_SECRET"))})
	if err != nil {
		log.Fatal(err)
	}
	handler, err := middleware.New(h, middleware.Config{})
	if err != nil {
		log.Fatal(err)
	}
	r := chi.NewRouter()
	r.With(ratelimit.Connections(lim), origin.Middleware(oc), auth.Middleware(v)).
		Get("/ws", handler.ServeHTTP)
	log.Fatal(http.ListenAndServe(":8080", r))
}
