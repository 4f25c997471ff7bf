package middleware_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/ratelimit"
)

// Behind a reverse proxy, TrustedProxies says once which peers may speak
// for the client: the same-origin check then takes the public host and
// scheme from the proxy's Forwarded header, and the client IP (for the
// per-IP limits and ratelimit.ClientIP) from its for= parameter. Here the
// "proxy" is the example's own client on 127.0.0.1.
func ExampleConfig_trustedProxies() {
	h, err := hub.New(hub.Config{})
	if err != nil {
		log.Fatal(err)
	}
	clientIP := make(chan netip.Addr, 1)
	h.OnConnect(func(s *hub.Session) {
		ip, _ := ratelimit.ClientIP(s.Context())
		clientIP <- ip
	})
	ws, err := middleware.New(h, middleware.Config{
		TrustedProxies:  []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		ClientIPHeaders: []string{ratelimit.HeaderForwarded}, // the only header our proxy sets
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	defer srv.Close()

	// What the proxy forwards for a browser on https://chat.example.com.
	hdr := http.Header{
		"Origin":    {"https://chat.example.com"},
		"Forwarded": {`for="203.0.113.5:51000";host=chat.example.com;proto=https`},
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), hdr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("upgraded; client IP", <-clientIP)

	_ = conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: upgraded; client IP 203.0.113.5
}
