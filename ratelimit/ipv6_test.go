package ratelimit_test

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/ratelimit"
)

func TestIPv6PrefixConfigErrors(t *testing.T) {
	t.Parallel()
	for _, bits := range []int{-1, 129, 1 << 20} {
		_, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: 1, IPv6Prefix: bits})
		if !errors.Is(err, ratelimit.ErrConfig) || !strings.Contains(err.Error(), "ConnConfig.IPv6Prefix") {
			t.Errorf("ConnConfig.IPv6Prefix %d: err = %v, want ErrConfig naming the field", bits, err)
		}
		_, err = ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: 1, Burst: 1, IPv6Prefix: bits})
		if !errors.Is(err, ratelimit.ErrConfig) || !strings.Contains(err.Error(), "RateConfig.IPv6Prefix") {
			t.Errorf("RateConfig.IPv6Prefix %d: err = %v, want ErrConfig naming the field", bits, err)
		}
	}
	for _, bits := range []int{0, 1, 48, 64, 128} {
		if _, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{IPv6Prefix: bits}); err != nil {
			t.Errorf("ConnConfig.IPv6Prefix %d: %v", bits, err)
		}
		if _, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{IPv6Prefix: bits}); err != nil {
			t.Errorf("RateConfig.IPv6Prefix %d: %v", bits, err)
		}
	}
}

// TestConnectionsIPv6Prefix: over a real loopback server, with the client
// address chosen by X-Forwarded-For from a trusted loopback peer, one
// client holds its only per-IP slot; a second address in the same /64 is
// refused as the same client, while other networks and IPv4 clients are
// not affected.
func TestConnectionsIPv6Prefix(t *testing.T) {
	t.Parallel()
	const reason = "ratelimit: too many connections: per-IP limit 1 reached"
	tests := []struct {
		name     string
		prefix   int
		hold     string // the client holding its slot
		refused  []string
		admitted []string
	}{
		{
			name:     "default /64",
			hold:     "2001:db8:1:2::1",
			refused:  []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "[2001:db8:1:2::99]:443", "2001:db8:1:2::1%eth0"},
			admitted: []string{"2001:db8:1:3::1", "2001:db8:2:2::1", "203.0.113.1", "::ffff:203.0.113.2"},
		},
		{
			name:     "/48",
			prefix:   48,
			hold:     "2001:db8:1:2::1",
			refused:  []string{"2001:db8:1:3::1", "2001:db8:1:ffff::1"},
			admitted: []string{"2001:db8:2::1", "203.0.113.1"},
		},
		{
			name:     "/128 counts each address",
			prefix:   128,
			hold:     "2001:db8:1:2::1",
			refused:  []string{"2001:db8:1:2::1"},
			admitted: []string{"2001:db8:1:2::2", "203.0.113.1"},
		},
		{
			name:     "IPv4 stays per address",
			hold:     "203.0.113.1",
			refused:  []string{"203.0.113.1", "::ffff:203.0.113.1"},
			admitted: []string{"203.0.113.2", "2001:db8::1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{
				PerIP: 1, IPv6Prefix: tc.prefix, RetryAfter: 2 * time.Second, Resolver: mustLoopbackResolver(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			g := newGate()
			srv := startServer(t, ratelimit.Connections(l)(g))
			c := newClient(t, "")
			// Cleanups run last-first: on a failure the held request is let
			// go before the server closes, which waits for it.
			releaseOnce := sync.OnceFunc(func() { close(g.release) })
			t.Cleanup(releaseOnce)

			held := goGet(c, srv.URL, map[string]string{"X-Forwarded-For": tc.hold, "X-Hold": "1"})
			<-g.entered
			for _, ip := range tc.refused {
				r := get(c, srv.URL, map[string]string{"X-Forwarded-For": ip})
				if r.err != nil || r.status != http.StatusServiceUnavailable || r.retryAfter != "2" || strings.TrimSpace(r.body) != reason {
					t.Fatalf("%s while %s holds its slot: %+v; want 503, Retry-After 2, %q", ip, tc.hold, r, reason)
				}
				if n := l.Active(); n != 1 {
					t.Fatalf("Active = %d after refusing %s, want 1", n, ip)
				}
			}
			for _, ip := range tc.admitted {
				if r := get(c, srv.URL, map[string]string{"X-Forwarded-For": ip}); r.err != nil || r.status != http.StatusOK {
					t.Fatalf("%s while %s holds its slot: %+v; want 200", ip, tc.hold, r)
				}
			}
			if ips, _ := l.Tracked(); ips != 1 {
				t.Fatalf("Tracked IPs = %d with one client holding a slot, want 1", ips)
			}
			releaseOnce()
			if r := <-held; r.err != nil || r.status != http.StatusOK {
				t.Fatalf("held request = %+v, want 200", r)
			}
			// Released, the network's budget is whole again.
			if r := get(c, srv.URL, map[string]string{"X-Forwarded-For": tc.refused[len(tc.refused)-1]}); r.status != http.StatusOK {
				t.Fatalf("after release: %+v, want 200", r)
			}
			if n, _ := l.Tracked(); n != 0 || l.Active() != 0 {
				t.Fatalf("Tracked %d, Active %d after every request ended, want 0, 0", n, l.Active())
			}
		})
	}
}

// TestHandshakesIPv6Prefix: addresses of one /64 share a handshake bucket
// (the second gets 429 with Retry-After and the reason), other /64s and
// IPv4 clients have their own.
func TestHandshakesIPv6Prefix(t *testing.T) {
	t.Parallel()
	const body = "ratelimit: rate limited: handshake rate limit reached\n"
	tests := []struct {
		name     string
		prefix   int
		first    string
		refused  []string
		admitted []string
	}{
		{
			name:     "default /64",
			first:    "2001:db8:1:2::1",
			refused:  []string{"2001:db8:1:2::2", "2001:db8:1:2:8000::1", "[2001:db8:1:2::3]:80"},
			admitted: []string{"2001:db8:1:3::1", "203.0.113.1", "203.0.113.2"},
		},
		{
			name:     "/56",
			prefix:   56,
			first:    "2001:db8:1:200::1",
			refused:  []string{"2001:db8:1:2ff::1"},
			admitted: []string{"2001:db8:1:300::1", "203.0.113.1"},
		},
		{
			name:     "/128",
			prefix:   128,
			first:    "2001:db8:1:2::1",
			refused:  []string{"2001:db8:1:2::1"},
			admitted: []string{"2001:db8:1:2::2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: rate.Every(time.Hour), Burst: 1, IPv6Prefix: tc.prefix})
			if err != nil {
				t.Fatal(err)
			}
			srv := startServer(t, ratelimit.RealIP(mustLoopbackResolver(t))(ratelimit.Handshakes(l)(newGate())))
			c := newClient(t, "")
			if r := get(c, srv.URL, map[string]string{"X-Forwarded-For": tc.first}); r.status != http.StatusOK {
				t.Fatalf("first from %s: %+v, want 200", tc.first, r)
			}
			for _, ip := range tc.refused {
				r := get(c, srv.URL, map[string]string{"X-Forwarded-For": ip})
				if r.err != nil || r.status != http.StatusTooManyRequests || r.retryAfter != "3600" || r.body != body {
					t.Fatalf("%s after %s spent the burst: %+v; want 429, Retry-After 3600, %q", ip, tc.first, r, body)
				}
			}
			for _, ip := range tc.admitted {
				if r := get(c, srv.URL, map[string]string{"X-Forwarded-For": ip}); r.status != http.StatusOK {
					t.Fatalf("%s: %+v, want 200 (its own bucket)", ip, r)
				}
			}
			if n, want := l.Len(), 1+len(tc.admitted); n != want {
				t.Fatalf("Len = %d, want %d buckets (one for %s's network, one per admitted key)", n, want, tc.first)
			}
		})
	}
}

// TestIPv6KeysBoundedPerNetwork: a client cycling through addresses of its
// /64 holds one key, so it can neither fill MaxKeys nor evict others.
func TestIPv6KeysBoundedPerNetwork(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: rate.Every(time.Hour), Burst: 1, MaxKeys: 10})
	if err != nil {
		t.Fatal(err)
	}
	victim := netip.MustParseAddr("198.51.100.7")
	if ok, _ := l.Allow(victim); !ok {
		t.Fatal("victim refused")
	}
	admitted := 0
	for i := range 10_000 {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 8: byte(i >> 24), 9: byte(i >> 16), 10: byte(i >> 8), 11: byte(i)})
		if ok, _ := l.Allow(ip); ok {
			admitted++
		}
	}
	if admitted != 1 || l.Len() != 2 {
		t.Fatalf("10,000 addresses of one /64: %d admitted, %d keys; want 1 and 2", admitted, l.Len())
	}
	// The victim's spent bucket was not evicted: still limited.
	if ok, _ := l.Allow(victim); ok {
		t.Fatal("victim's bucket was evicted by one /64's addresses")
	}
}
