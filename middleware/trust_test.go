package middleware_test

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

// Two loopback sources: the proxy the endpoint trusts and a stranger.
const (
	proxyIP    = "127.0.0.2"
	strangerIP = "127.0.0.3"
)

var trustedProxies = []netip.Prefix{netip.MustParsePrefix(proxyIP + "/32")}

// dialFrom dials url from the loopback address local with hdr and returns
// what the client saw. A connection is closed when the test ends.
func dialFrom(t *testing.T, local, url string, hdr http.Header) dialResult {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(local, "0"))
	if err != nil {
		t.Skipf("cannot use loopback address %s as a source: %v", local, err)
	}
	_ = ln.Close()
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return dialWith(t, &websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: wait}, url, hdr)
}

func status(r dialResult) int {
	if r.resp == nil {
		return 0
	}
	return r.resp.StatusCode
}

// TestTrustedProxiesFeedsOriginAndClientIP: one TrustedProxies value makes
// the same-origin check honour the proxy's Forwarded host= and proto= and
// the per-IP connection limit key on the forwarded client; the same headers
// from an untrusted peer are ignored by both.
func TestTrustedProxiesFeedsOriginAndClientIP(t *testing.T) {
	t.Parallel()
	h := newEchoHub(t, hub.Config{})
	tr := trackSessions(h)
	conns, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: 1, RetryAfter: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := newHandler(t, h, middleware.Config{
		TrustedProxies:  trustedProxies,
		ClientIPHeaders: []string{ratelimit.HeaderForwarded},
		Connections:     conns,
	})
	srv := serve(t, m)
	url := wsURL(srv, "/ws")
	public := http.Header{ // what the trusted proxy says about client 203.0.113.5
		"Origin":    {"https://chat.example.com"},
		"Forwarded": {"for=203.0.113.5;host=chat.example.com;proto=https"},
	}
	const perIP = "ratelimit: too many connections: per-IP limit 1 reached"

	// Through the proxy: allowed as same-origin (r.Host is 127.0.0.1:port,
	// the public origin comes from Forwarded), keyed on 203.0.113.5.
	a := dialFrom(t, proxyIP, url+"?c=a", public)
	if a.err != nil {
		t.Fatalf("client through the trusted proxy: %v (status %d, %q)", a.err, status(a), a.body)
	}
	if ip, ok := ratelimit.ClientIP(tr.get(t, "a").Context()); !ok || ip != netip.MustParseAddr("203.0.113.5") {
		t.Fatalf("session's client IP = %v, %v; want 203.0.113.5", ip, ok)
	}
	// The same client again: its per-IP slot is taken.
	if r := dialFrom(t, proxyIP, url+"?c=a2", public); status(r) != http.StatusServiceUnavailable ||
		r.resp.Header.Get("Retry-After") != "2" || strings.TrimSpace(r.body) != perIP {
		t.Fatalf("same forwarded client again: status %d, Retry-After %q, body %q; want 503, 2, %q",
			status(r), r.resp.Header.Get("Retry-After"), r.body, perIP)
	}
	// Another client through the same proxy has its own budget: the key is
	// the forwarded client, not the proxy.
	other := public.Clone()
	other.Set("Forwarded", `for="203.0.113.6:4711";host=chat.example.com;proto=https`)
	b := dialFrom(t, proxyIP, url+"?c=b", other)
	if b.err != nil {
		t.Fatalf("second client through the proxy: %v (status %d, %q)", b.err, status(b), b.body)
	}

	// A stranger sending the very same headers: the origin check ignores
	// Forwarded (own origin is http://127.0.0.1:port, so 403) ...
	if r := dialFrom(t, strangerIP, url+"?c=s0", public); status(r) != http.StatusForbidden ||
		!strings.Contains(r.body, "cross-origin") {
		t.Fatalf("stranger with the proxy's headers: status %d, body %q; want 403 cross-origin", status(r), r.body)
	}
	// ... and so does the limit: 203.0.113.5's slot is full, yet the
	// stranger is admitted under its own address.
	spoof := http.Header{"Origin": {srv.URL}, "Forwarded": public["Forwarded"]}
	s := dialFrom(t, strangerIP, url+"?c=s", spoof)
	if s.err != nil {
		t.Fatalf("stranger with its real origin: %v (status %d, %q)", s.err, status(s), s.body)
	}
	if ip, _ := ratelimit.ClientIP(tr.get(t, "s").Context()); ip != netip.MustParseAddr(strangerIP) {
		t.Fatalf("stranger's client IP = %v, want its socket address %s", ip, strangerIP)
	}
	if r := dialFrom(t, strangerIP, url+"?c=s2", spoof); status(r) != http.StatusServiceUnavailable || strings.TrimSpace(r.body) != perIP {
		t.Fatalf("stranger again: status %d, body %q; want 503 %q", status(r), r.body, perIP)
	}

	want := middleware.Refusals{Origin: 1, Capacity: 2}
	if got := m.Refusals(); got != want {
		t.Fatalf("Refusals() = %+v, want %+v", got, want)
	}
	if n := conns.Active(); n != 3 {
		t.Fatalf("Active = %d, want 3 (a, b, s)", n)
	}
	// The admitted sessions were not disturbed by the refusals.
	for _, c := range []*websocket.Conn{a.conn, b.conn, s.conn} {
		if got := roundTrip(t, c, "still here"); got != "still here" {
			t.Fatalf("echo = %q", got)
		}
	}
}

// TestTrustedProxiesWithOriginPolicy: an Origin checker without proxies of
// its own keeps its allowed origins and gains TrustedProxies; the handshake
// limit keys on the client named by X-Forwarded-For.
func TestTrustedProxiesWithOriginPolicy(t *testing.T) {
	t.Parallel()
	h := newEchoHub(t, hub.Config{})
	oc, err := origin.New(origin.Policy{AllowedOrigins: []string{"https://partner.example"}})
	if err != nil {
		t.Fatal(err)
	}
	hs, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: rate.Every(time.Hour), Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	m := newHandler(t, h, middleware.Config{
		Origin:          oc,
		TrustedProxies:  trustedProxies,
		ClientIPHeaders: []string{ratelimit.HeaderXForwardedFor},
		Handshakes:      hs,
	})
	url := wsURL(serve(t, m), "/ws")
	hdr := func(originHdr, client string) http.Header {
		return http.Header{
			"Origin":            {originHdr},
			"X-Forwarded-Proto": {"https"},
			"X-Forwarded-Host":  {"chat.example.com"},
			"X-Forwarded-For":   {client},
		}
	}
	if r := dialFrom(t, proxyIP, url, hdr("https://chat.example.com", "203.0.113.5")); r.err != nil {
		t.Fatalf("same-origin through the proxy: %v (status %d, %q)", r.err, status(r), r.body)
	}
	if r := dialFrom(t, proxyIP, url, hdr("https://partner.example", "2001:db8:7:7::1")); r.err != nil {
		t.Fatalf("listed origin through the proxy: %v (status %d, %q)", r.err, status(r), r.body)
	}
	// The handshake bucket of 203.0.113.5 is spent; another address of
	// the IPv6 client's /64 shares its bucket too.
	for _, client := range []string{"203.0.113.5", "2001:db8:7:7::2"} {
		if r := dialFrom(t, proxyIP, url, hdr("https://chat.example.com", client)); status(r) != http.StatusTooManyRequests {
			t.Fatalf("%s again: status %d, body %q; want 429", client, status(r), r.body)
		}
	}
	if r := dialFrom(t, proxyIP, url, hdr("https://chat.example.com", "203.0.113.6")); r.err != nil {
		t.Fatalf("another client: %v (status %d, %q)", r.err, status(r), r.body)
	}
	if got := m.Refusals(); got != (middleware.Refusals{Rate: 2}) {
		t.Fatalf("Refusals() = %+v, want 2 rate refusals", got)
	}
}

func TestTrustedProxiesConfigErrors(t *testing.T) {
	t.Parallel()
	h := newHub(t, hub.Config{})
	res, err := ratelimit.NewIPResolver(trustedProxies)
	if err != nil {
		t.Fatal(err)
	}
	withProxies, err := origin.New(origin.Policy{TrustedProxies: trustedProxies})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		cfg   middleware.Config
		names []string // what the error must mention
	}{
		{"ClientIP and TrustedProxies", middleware.Config{TrustedProxies: trustedProxies, ClientIP: res}, []string{"ClientIP", "TrustedProxies"}},
		{"Origin with its own proxies", middleware.Config{TrustedProxies: trustedProxies, Origin: withProxies}, []string{"Origin", "TrustedProxies"}},
		{"invalid prefix", middleware.Config{TrustedProxies: []netip.Prefix{trustedProxies[0], {}}}, []string{"TrustedProxies[1]"}},
		{"headers without proxies", middleware.Config{ClientIPHeaders: []string{"Forwarded"}}, []string{"ClientIPHeaders", "TrustedProxies"}},
		{"unknown header", middleware.Config{TrustedProxies: trustedProxies, ClientIPHeaders: []string{"X-Client-IP"}}, []string{"ClientIPHeaders", "X-Client-IP"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := middleware.New(h, tc.cfg)
			if !errors.Is(err, middleware.ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
			for _, n := range tc.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %s", err, n)
				}
			}
		})
	}
	// The old places alone are still accepted.
	if _, err := middleware.New(h, middleware.Config{ClientIP: res, Origin: withProxies}); err != nil {
		t.Fatalf("ClientIP and Origin's own TrustedProxies without TrustedProxies: %v", err)
	}
}
