package ratelimit_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/ratelimit"
)

func TestNewConnLimiterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   ratelimit.ConnConfig
		field string
	}{
		{name: "negative Max", cfg: ratelimit.ConnConfig{Max: -1}, field: "ConnConfig.Max"},
		{name: "negative PerIP", cfg: ratelimit.ConnConfig{PerIP: -1}, field: "ConnConfig.PerIP"},
		{name: "negative PerUser", cfg: ratelimit.ConnConfig{PerUser: -1}, field: "ConnConfig.PerUser"},
		{name: "negative MaxKeys", cfg: ratelimit.ConnConfig{MaxKeys: -1}, field: "ConnConfig.MaxKeys"},
		{name: "negative RetryAfter", cfg: ratelimit.ConnConfig{RetryAfter: -time.Second}, field: "ConnConfig.RetryAfter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ratelimit.NewConnLimiter(tc.cfg)
			if !errors.Is(err, ratelimit.ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want ErrConfig naming %s", err, tc.field)
			}
		})
	}
}

// TestConnectionRefusals drives every connection refusal over a real
// loopback server: a first request holds a slot, a second is refused with
// 503, Retry-After and a reason, and is admitted once the first ends.
func TestConnectionRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        ratelimit.ConnConfig
		hold, next map[string]string // X-Forwarded-For and X-User of each request
		reason     string
	}{
		{
			name:   "global",
			cfg:    ratelimit.ConnConfig{Max: 1},
			hold:   map[string]string{"X-Forwarded-For": "203.0.113.1"},
			next:   map[string]string{"X-Forwarded-For": "203.0.113.2"},
			reason: "ratelimit: too many connections: global limit 1 reached",
		},
		{
			name:   "per IP",
			cfg:    ratelimit.ConnConfig{PerIP: 1},
			hold:   map[string]string{"X-Forwarded-For": "203.0.113.1"},
			next:   map[string]string{"X-Forwarded-For": "203.0.113.1"},
			reason: "ratelimit: too many connections: per-IP limit 1 reached",
		},
		{
			name:   "per IP through mapped address",
			cfg:    ratelimit.ConnConfig{PerIP: 1},
			hold:   map[string]string{"X-Forwarded-For": "203.0.113.1"},
			next:   map[string]string{"X-Forwarded-For": "::ffff:203.0.113.1"},
			reason: "ratelimit: too many connections: per-IP limit 1 reached",
		},
		{
			name:   "IP table full of live keys",
			cfg:    ratelimit.ConnConfig{PerIP: 5, MaxKeys: 1},
			hold:   map[string]string{"X-Forwarded-For": "203.0.113.1"},
			next:   map[string]string{"X-Forwarded-For": "203.0.113.2"},
			reason: "ratelimit: too many connections: IP table full (1 keys with live connections)",
		},
		{
			name:   "per user",
			cfg:    ratelimit.ConnConfig{PerUser: 1},
			hold:   map[string]string{"X-Forwarded-For": "203.0.113.1", "X-User": "alice"},
			next:   map[string]string{"X-Forwarded-For": "203.0.113.2", "X-User": "alice"},
			reason: "ratelimit: too many connections: per-user limit 1 reached",
		},
		{
			name:   "user table full of live keys",
			cfg:    ratelimit.ConnConfig{PerUser: 5, MaxKeys: 1},
			hold:   map[string]string{"X-Forwarded-For": "203.0.113.1", "X-User": "alice"},
			next:   map[string]string{"X-Forwarded-For": "203.0.113.2", "X-User": "bob"},
			reason: "ratelimit: too many connections: user table full (1 keys with live connections)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.RetryAfter = 1500 * time.Millisecond
			cfg.Resolver = mustLoopbackResolver(t)
			l, err := ratelimit.NewConnLimiter(cfg)
			if err != nil {
				t.Fatal(err)
			}
			g := newGate()
			user := func(r *http.Request) string { return r.Header.Get("X-User") }
			srv := startServer(t, ratelimit.Connections(l)(ratelimit.Users(l, user)(g)))
			c := newClient(t, "")

			held := goGet(c, srv.URL, with(tc.hold, "X-Hold", "1"))
			<-g.entered

			got := get(c, srv.URL, tc.next)
			if got.err != nil {
				t.Fatal(got.err)
			}
			if got.status != http.StatusServiceUnavailable || got.retryAfter != "2" || strings.TrimSpace(got.body) != tc.reason {
				t.Fatalf("refusal = %d, Retry-After %q, body %q; want 503, \"2\", %q", got.status, got.retryAfter, got.body, tc.reason)
			}

			close(g.release)
			if r := <-held; r.err != nil || r.status != http.StatusOK {
				t.Fatalf("held request = %+v, want 200", r)
			}
			if r := get(c, srv.URL, tc.next); r.err != nil || r.status != http.StatusOK {
				t.Fatalf("request after release = %+v, want 200", r)
			}
			if n := l.Active(); n != 0 {
				t.Fatalf("Active = %d after every request ended, want 0", n)
			}
			if ips, users := l.Tracked(); ips != 0 || users != 0 {
				t.Fatalf("Tracked = %d, %d after every request ended, want 0, 0", ips, users)
			}
		})
	}
}

// mustLoopbackResolver trusts loopback peers, so tests can choose the
// client address with X-Forwarded-For.
func mustLoopbackResolver(t *testing.T) *ratelimit.IPResolver {
	t.Helper()
	res, err := ratelimit.NewIPResolver([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, "X-Forwarded-For")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for mk, mv := range m {
		out[mk] = mv
	}
	return out
}

// TestConnectionsRefusedIPDoesNotAffectOthers uses two real source
// addresses and no resolver: the socket address is the key.
func TestConnectionsRefusedIPDoesNotAffectOthers(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: 1})
	if err != nil {
		t.Fatal(err)
	}
	g := newGate()
	srv := startServer(t, ratelimit.Connections(l)(g))
	a, b := newClient(t, "127.0.0.2"), newClient(t, "127.0.0.3")

	held := goGet(a, srv.URL, map[string]string{"X-Hold": "1"})
	<-g.entered
	if r := get(a, srv.URL, nil); r.status != http.StatusServiceUnavailable || r.retryAfter != "5" {
		t.Fatalf("second request from 127.0.0.2 = %+v, want 503 with Retry-After 5", r)
	}
	for range 3 {
		if r := get(b, srv.URL, nil); r.err != nil || r.status != http.StatusOK {
			t.Fatalf("request from 127.0.0.3 = %+v, want 200", r)
		}
	}
	close(g.release)
	if r := <-held; r.status != http.StatusOK {
		t.Fatalf("held request = %+v, want 200", r)
	}
	if n := l.Active(); n != 0 {
		t.Fatalf("Active = %d, want 0", n)
	}
}

// TestConnectionsReleaseOnEveryPath checks that no path through the
// middleware leaks a slot: normal and early return, a panic recovered by
// net/http over a real server, and a panic recovered by the caller.
func TestConnectionsReleaseOnEveryPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{name: "normal return", handler: func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }},
		{name: "early return", handler: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("x") == "" {
				http.Error(w, "missing x", http.StatusBadRequest)
				return
			}
			w.Write([]byte("ok"))
		}},
		{name: "panic", handler: func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{Max: 1, PerIP: 1, PerUser: 1})
			if err != nil {
				t.Fatal(err)
			}
			user := func(*http.Request) string { return "alice" }
			h := ratelimit.Connections(l)(ratelimit.Users(l, user)(tc.handler))

			srv := startServer(t, h)
			c := newClient(t, "")
			for range 3 { // a leaked slot would refuse the second request
				r := get(c, srv.URL, nil)
				if r.status == http.StatusServiceUnavailable {
					t.Fatalf("refused after an earlier request: %+v", r)
				}
			}

			func() {
				defer func() { _ = recover() }()
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				h.ServeHTTP(httptest.NewRecorder(), req)
			}()
			if n := l.Active(); n != 0 {
				t.Fatalf("Active = %d, want 0", n)
			}
			if ips, users := l.Tracked(); ips != 0 || users != 0 {
				t.Fatalf("Tracked = %d, %d, want 0, 0", ips, users)
			}
		})
	}
}

func TestAcquireReleaseIdempotent(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: 2})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("203.0.113.1")
	r1, err := l.Acquire(ip, "")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Acquire(ip, "")
	if err != nil {
		t.Fatal(err)
	}
	r1()
	r1()
	if n := l.Active(); n != 1 {
		t.Fatalf("Active = %d after releasing one of two slots twice, want 1", n)
	}
	if _, err := l.Acquire(ip, ""); err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	_, err = l.Acquire(ip, "")
	var le *ratelimit.LimitError
	if !errors.Is(err, ratelimit.ErrTooManyConnections) || !errors.As(err, &le) || le.Scope != ratelimit.ScopePerIP || le.RetryAfter != ratelimit.DefaultRetryAfter {
		t.Fatalf("third Acquire err = %v, want a per-IP LimitError", err)
	}
	r2()
}

// TestConnLimiterConcurrent never admits more than Max at once.
func TestConnLimiterConcurrent(t *testing.T) {
	t.Parallel()
	const limit = 8
	l, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{Max: limit, PerIP: 3, PerUser: 2})
	if err != nil {
		t.Fatal(err)
	}
	var live, peak atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(g % 5)})
			user := []string{"", "alice", "bob"}[g%3]
			for range 300 {
				release, err := l.Acquire(ip, user)
				if err != nil {
					continue
				}
				n := live.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				live.Add(-1)
				release()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Fatalf("peak live = %d, want <= %d", p, limit)
	}
	if n := l.Active(); n != 0 {
		t.Fatalf("Active = %d, want 0", n)
	}
}

// TestConnLimiterKeysBounded floods the limiter with distinct IPs and users
// that keep their slots: the tables stop at MaxKeys and refuse new keys,
// never growing, and recover when connections end.
func TestConnLimiterKeysBounded(t *testing.T) {
	t.Parallel()
	const maxKeys, flood = 1000, 100_500
	l, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: 1, PerUser: 1, MaxKeys: maxKeys})
	if err != nil {
		t.Fatal(err)
	}
	first := netip.AddrFrom4([4]byte{10, 0, 0, 0})
	var releases []func()
	refused := 0
	for i := range flood {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		release, err := l.Acquire(ip, "user-"+ip.String())
		switch {
		case err == nil:
			releases = append(releases, release)
		case errors.Is(err, ratelimit.ErrTooManyConnections):
			refused++
		default:
			t.Fatal(err)
		}
		if ips, users := l.Tracked(); ips > maxKeys || users > maxKeys {
			t.Fatalf("after %d keys Tracked = %d, %d, want <= %d", i+1, ips, users, maxKeys)
		}
	}
	if len(releases) != maxKeys || refused != flood-maxKeys {
		t.Fatalf("admitted %d, refused %d; want %d admitted", len(releases), refused, maxKeys)
	}
	// A live key is never evicted: the first IP still holds its slot.
	if _, err := l.Acquire(first, ""); !errors.Is(err, ratelimit.ErrTooManyConnections) {
		t.Fatalf("first IP again: err = %v, want per-IP refusal", err)
	}
	for _, r := range releases {
		r()
	}
	if ips, users := l.Tracked(); ips != 0 || users != 0 {
		t.Fatalf("Tracked = %d, %d after releasing, want 0, 0", ips, users)
	}
	// The returning IP is admitted again, and limited again.
	release, err := l.Acquire(first, "user-10.0.0.0")
	if err != nil {
		t.Fatalf("first IP after release: %v", err)
	}
	if _, err := l.Acquire(first, ""); !errors.Is(err, ratelimit.ErrTooManyConnections) {
		t.Fatalf("first IP twice: err = %v, want refusal", err)
	}
	release()

	// Keys that come and go one at a time never hold more than one entry.
	for i := range 10_000 {
		ip := netip.AddrFrom4([4]byte{172, byte(i >> 16), byte(i >> 8), byte(i)})
		release, err := l.Acquire(ip, ip.String())
		if err != nil {
			t.Fatal(err)
		}
		if ips, users := l.Tracked(); ips != 1 || users != 1 {
			t.Fatalf("Tracked = %d, %d with one live key, want 1, 1", ips, users)
		}
		release()
	}
}

func TestUsersAnonymousIsUnlimited(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerUser: 1})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := l.AcquireUser("")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.AcquireUser("")
	if err != nil {
		t.Fatal(err)
	}
	r1()
	r2()
	if _, users := l.Tracked(); users != 0 {
		t.Fatalf("anonymous users tracked: %d", users)
	}
}
