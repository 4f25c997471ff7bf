package ratelimit_test

import (
	"errors"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/ratelimit"
)

func TestNewHandshakeLimiterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   ratelimit.RateConfig
		field string
	}{
		{name: "negative Rate", cfg: ratelimit.RateConfig{Rate: -1, Burst: 1}, field: "RateConfig.Rate"},
		{name: "NaN Rate", cfg: ratelimit.RateConfig{Rate: rate.Limit(math.NaN()), Burst: 1}, field: "RateConfig.Rate"},
		{name: "negative Burst", cfg: ratelimit.RateConfig{Rate: 1, Burst: -1}, field: "RateConfig.Burst"},
		{name: "zero Burst with Rate", cfg: ratelimit.RateConfig{Rate: 1}, field: "RateConfig.Burst"},
		{name: "negative MaxKeys", cfg: ratelimit.RateConfig{MaxKeys: -1}, field: "RateConfig.MaxKeys"},
		{name: "negative IdleTTL", cfg: ratelimit.RateConfig{IdleTTL: -time.Second}, field: "RateConfig.IdleTTL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ratelimit.NewHandshakeLimiter(tc.cfg)
			if !errors.Is(err, ratelimit.ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want ErrConfig naming %s", err, tc.field)
			}
		})
	}
}

func TestHandshakeLimiterUnlimited(t *testing.T) {
	t.Parallel()
	for _, r := range []rate.Limit{0, rate.Inf} {
		l, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: r})
		if err != nil {
			t.Fatal(err)
		}
		for range 100 {
			if ok, _ := l.Allow(netip.MustParseAddr("203.0.113.1")); !ok {
				t.Fatalf("Rate %v refused", r)
			}
		}
		if n := l.Len(); n != 0 {
			t.Fatalf("Rate %v tracked %d keys, want 0", r, n)
		}
	}
}

func TestHandshakeRetryAfter(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: 1, Burst: 2, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("203.0.113.1")
	for i := range 2 {
		if ok, _ := l.Allow(ip); !ok {
			t.Fatalf("handshake %d refused within the burst", i)
		}
	}
	if ok, retry := l.Allow(ip); ok || retry != time.Second {
		t.Fatalf("Allow = %v, %v; want false, 1s", ok, retry)
	}
	clock.Advance(400 * time.Millisecond)
	if ok, retry := l.Allow(ip); ok || retry != 600*time.Millisecond {
		t.Fatalf("Allow = %v, %v; want false, 600ms", ok, retry)
	}
	clock.Advance(600 * time.Millisecond)
	if ok, _ := l.Allow(ip); !ok {
		t.Fatal("refused after the bucket refilled one token")
	}
	// The IPv4-mapped form is the same client.
	if ok, _ := l.Allow(netip.MustParseAddr("::ffff:203.0.113.1")); ok {
		t.Fatal("mapped address got its own bucket")
	}
}

// TestHandshakesRefusal drives the middleware over a real loopback server.
func TestHandshakesRefusal(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{
		Rate: rate.Every(time.Minute), Burst: 2, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, ratelimit.RealIP(mustLoopbackResolver(t))(ratelimit.Handshakes(l)(newGate())))
	c := newClient(t, "")
	a := map[string]string{"X-Forwarded-For": "203.0.113.1"}
	b := map[string]string{"X-Forwarded-For": "203.0.113.2"}

	tests := []struct {
		name       string
		headers    map[string]string
		status     int
		retryAfter string
		body       string
	}{
		{name: "first of burst", headers: a, status: 200, body: "ok"},
		{name: "second of burst", headers: a, status: 200, body: "ok"},
		{name: "over the rate", headers: a, status: 429, retryAfter: "60", body: "ratelimit: rate limited: handshake rate limit reached\n"},
		{name: "still over the rate", headers: a, status: 429, retryAfter: "60", body: "ratelimit: rate limited: handshake rate limit reached\n"},
		{name: "another IP is unaffected", headers: b, status: 200, body: "ok"},
		{name: "another IP has its own burst", headers: b, status: 200, body: "ok"},
	}
	for _, tc := range tests { // sequential: each step spends tokens
		r := get(c, srv.URL, tc.headers)
		if r.err != nil || r.status != tc.status || r.retryAfter != tc.retryAfter || r.body != tc.body {
			t.Fatalf("%s: got %d, Retry-After %q, body %q, err %v; want %d, %q, %q",
				tc.name, r.status, r.retryAfter, r.body, r.err, tc.status, tc.retryAfter, tc.body)
		}
	}
	clock.Advance(time.Minute)
	if r := get(c, srv.URL, a); r.status != http.StatusOK {
		t.Fatalf("after a minute: %+v, want 200", r)
	}
}

// TestHandshakesRealSourceAddresses keys on the socket address of two
// real loopback sources.
func TestHandshakesRealSourceAddresses(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: rate.Every(time.Hour), Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, ratelimit.Handshakes(l)(newGate()))
	a, b := newClient(t, "127.0.0.2"), newClient(t, "127.0.0.3")
	if r := get(a, srv.URL, nil); r.status != http.StatusOK {
		t.Fatalf("first from 127.0.0.2: %+v", r)
	}
	if r := get(a, srv.URL, nil); r.status != http.StatusTooManyRequests || r.retryAfter != "3600" {
		t.Fatalf("second from 127.0.0.2: %+v, want 429 with Retry-After 3600", r)
	}
	if r := get(b, srv.URL, nil); r.status != http.StatusOK {
		t.Fatalf("first from 127.0.0.3: %+v, want 200", r)
	}
}

// TestHandshakeKeysBounded floods the limiter with distinct IPs: the table
// never passes MaxKeys, an evicted IP that returns starts with a fresh
// bucket and is limited again, and idle buckets expire on the clock.
func TestHandshakeKeysBounded(t *testing.T) {
	t.Parallel()
	const maxKeys = 1000
	clock := newFakeClock()
	l, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{
		Rate: rate.Every(time.Second), Burst: 2, MaxKeys: maxKeys, IdleTTL: time.Minute, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	victim := netip.MustParseAddr("198.51.100.7")
	l.Allow(victim)
	l.Allow(victim)
	if ok, _ := l.Allow(victim); ok {
		t.Fatal("victim not limited after its burst")
	}
	for i := range 100_500 {
		// One address in each of 100,500 /64 networks: distinct keys (all
		// in one /64 they would be a single key).
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 4: byte(i >> 24), 5: byte(i >> 16), 6: byte(i >> 8), 7: byte(i), 15: 1})
		if ok, _ := l.Allow(ip); !ok {
			t.Fatalf("new IP %v refused", ip)
		}
		if n := l.Len(); n > maxKeys {
			t.Fatalf("after %d IPs Len = %d, want <= %d", i+1, n, maxKeys)
		}
	}
	if n := l.Len(); n != maxKeys {
		t.Fatalf("Len = %d, want %d", n, maxKeys)
	}
	// Evicted, the victim is a new address again: a full burst, then limited.
	for i := range 2 {
		if ok, _ := l.Allow(victim); !ok {
			t.Fatalf("returning victim refused at handshake %d", i)
		}
	}
	if ok, _ := l.Allow(victim); ok {
		t.Fatal("returning victim not limited after its burst")
	}
	// Everything idles out after IdleTTL; the next caller finds one bucket.
	clock.Advance(time.Minute)
	if ok, _ := l.Allow(netip.MustParseAddr("203.0.113.9")); !ok {
		t.Fatal("fresh IP refused")
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("Len after IdleTTL = %d, want 1", n)
	}
}

// TestHandshakeIdleTTLCoversRefill: a bucket is never forgotten before it
// has refilled, or forgetting it would hand out tokens early.
func TestHandshakeIdleTTLCoversRefill(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{
		Rate: rate.Every(time.Hour), Burst: 1, IdleTTL: time.Minute, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("203.0.113.1")
	l.Allow(ip)
	clock.Advance(30 * time.Minute)
	l.Allow(netip.MustParseAddr("203.0.113.2")) // runs the idle sweep
	if ok, retry := l.Allow(ip); ok || retry != 30*time.Minute {
		t.Fatalf("Allow = %v, %v after 30m with a 1m IdleTTL; want false, 30m", ok, retry)
	}
}
