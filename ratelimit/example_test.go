package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/ratelimit"
)

// A resolver trusts headers only from its proxies, and walks
// X-Forwarded-For from the right: entries a client wrote itself are left
// of the first untrusted hop and never read.
func ExampleIPResolver() {
	res, err := ratelimit.NewIPResolver([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "X-Forwarded-For")
	if err != nil {
		panic(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/ws", nil)
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.5, 10.0.0.2")

	req.RemoteAddr = "10.0.0.1:4711" // our load balancer
	fmt.Println(res.ClientIP(req))

	req.RemoteAddr = "198.51.100.9:4711" // a client reaching us directly
	fmt.Println(res.ClientIP(req))
	// Output:
	// 203.0.113.5
	// 198.51.100.9
}

// The usual chain in front of a WebSocket route: resolve the client IP,
// limit its handshake rate, then hold a connection slot for the session.
func Example_chain() {
	res, _ := ratelimit.NewIPResolver([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	handshakes, _ := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: 1, Burst: 5})
	conns, _ := ratelimit.NewConnLimiter(ratelimit.ConnConfig{Max: 10_000, PerIP: 1})

	var ws http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Upgrade here; this handler returns when the session ends.
		ip, _ := ratelimit.ClientIP(r.Context())
		fmt.Fprintln(w, "session for", ip)
	})
	h := ratelimit.RealIP(res)(ratelimit.Handshakes(handshakes)(ratelimit.Connections(conns)(ws)))

	serve := func() {
		req := httptest.NewRequest(http.MethodGet, "/ws", nil)
		req.RemoteAddr = "10.0.0.1:4711"
		req.Header.Set("X-Forwarded-For", "203.0.113.5")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Printf("%d Retry-After=%q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}

	serve()
	// While 203.0.113.5 has a session open, its next one is refused.
	release, _ := conns.Acquire(netip.MustParseAddr("203.0.113.5"), "")
	serve()
	release()
	// Output:
	// 200 Retry-After="" session for 203.0.113.5
	// 503 Retry-After="5" ratelimit: too many connections: per-IP limit 1 reached
}

// Users holds a per-user slot after authentication. The user function
// reads whatever the authentication middleware stored.
func ExampleUsers() {
	conns, _ := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerUser: 2})
	user := func(r *http.Request) string { return r.Header.Get("X-Test-User") } // your auth's claims here
	h := ratelimit.Users(conns, user)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	r1, _ := conns.AcquireUser("alice")
	r2, _ := conns.AcquireUser("alice")
	defer r1()
	defer r2()

	req := httptest.NewRequest(http.MethodGet, "/ws", nil)
	req.Header.Set("X-Test-User", "alice")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 503 ratelimit: too many connections: per-user limit 2 reached
}

// ConnLimiter can be used without the middleware; errors.As gives the
// limit that refused and the advised retry delay.
func ExampleConnLimiter_Acquire() {
	l, _ := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: 1, RetryAfter: 10 * time.Second})
	ip := netip.MustParseAddr("203.0.113.5")

	release, _ := l.Acquire(ip, "")
	defer release()

	_, err := l.Acquire(ip, "")
	var le *ratelimit.LimitError
	if errors.As(err, &le) {
		fmt.Println(errors.Is(err, ratelimit.ErrTooManyConnections), le.Scope, le.RetryAfter)
	}
	fmt.Println(l.Active())
	// Output:
	// true per-IP 10s
	// 1
}

// A session reader calls Allow after each inbound message. With Reject the
// error becomes the 1008 close reason.
func ExampleSessionLimiter_Allow() {
	ml, _ := ratelimit.NewMessageLimiter(ratelimit.MessageConfig{
		PerSession: rate.Every(time.Minute), SessionBurst: 3,
		Global: 10_000, GlobalBurst: 1_000,
		Policy: ratelimit.Reject,
	})
	s := ml.Session() // one per session
	for i := range 4 {
		ok, err := s.Allow(context.Background())
		fmt.Println(i, ok, err)
	}
	fmt.Println("rejected:", ml.Rejected())
	// Output:
	// 0 true <nil>
	// 1 true <nil>
	// 2 true <nil>
	// 3 false ratelimit: rate limited: session messages limit reached
	// rejected: 1
}

// Handshake buckets are keyed by IP; Allow also says when to retry.
func ExampleHandshakeLimiter_Allow() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l, _ := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{
		Rate: rate.Every(2 * time.Second), Burst: 1,
		Now: func() time.Time { return now }, // a fixed clock for the example
	})
	ip := netip.MustParseAddr("203.0.113.5")
	fmt.Println(l.Allow(ip))
	fmt.Println(l.Allow(ip))
	// Output:
	// true 0s
	// false 2s
}
