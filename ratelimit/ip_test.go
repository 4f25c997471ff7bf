package ratelimit_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/ratelimit"
)

var testTrusted = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("fd00::/8"),
}

func mustResolver(t testing.TB, headers ...string) *ratelimit.IPResolver {
	t.Helper()
	r, err := ratelimit.NewIPResolver(testTrusted, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestIPResolverClientIP(t *testing.T) {
	t.Parallel()
	const (
		proxy     = "10.0.0.1:4711"
		stranger  = "198.51.100.9:4711"
		xff       = "X-Forwarded-For"
		xrip      = "X-Real-IP"
		forwarded = "Forwarded"
	)
	tests := []struct {
		name    string
		headers []string // resolver headers; nil means the default
		nilRes  bool     // use a nil *IPResolver
		remote  string
		req     map[string][]string
		want    string // "" means the zero netip.Addr
	}{
		{name: "untrusted peer without headers", remote: stranger, want: "198.51.100.9"},
		{name: "untrusted peer spoofing XFF", remote: stranger, req: map[string][]string{xff: {"1.2.3.4"}}, want: "198.51.100.9"},
		{name: "untrusted peer spoofing every header", remote: stranger, req: map[string][]string{xff: {"1.2.3.4"}, xrip: {"1.2.3.4"}, forwarded: {"for=1.2.3.4"}}, want: "198.51.100.9"},
		{name: "nil resolver ignores headers", nilRes: true, remote: proxy, req: map[string][]string{xff: {"1.2.3.4"}}, want: "10.0.0.1"},
		{name: "trusted peer without headers", remote: proxy, want: "10.0.0.1"},
		{name: "trusted peer one hop", remote: proxy, req: map[string][]string{xff: {"203.0.113.5"}}, want: "203.0.113.5"},
		{name: "trusted chain", remote: proxy, req: map[string][]string{xff: {"203.0.113.5, 10.0.0.7,10.0.0.8"}}, want: "203.0.113.5"},
		{name: "spoofed entries left of the client", remote: proxy, req: map[string][]string{xff: {"1.1.1.1, 2.2.2.2, 203.0.113.5, 10.0.0.8"}}, want: "203.0.113.5"},
		{name: "multiple XFF headers", remote: proxy, req: map[string][]string{xff: {"1.1.1.1, 203.0.113.5", "10.0.0.8"}}, want: "203.0.113.5"},
		{name: "multiple XFF headers client in last", remote: proxy, req: map[string][]string{xff: {"1.1.1.1", "203.0.113.5, 10.0.0.8"}}, want: "203.0.113.5"},
		{name: "every hop trusted gives leftmost", remote: proxy, req: map[string][]string{xff: {"10.0.0.5, 10.0.0.6"}}, want: "10.0.0.5"},
		{name: "IPv6 client", remote: proxy, req: map[string][]string{xff: {"2001:db8::1"}}, want: "2001:db8::1"},
		{name: "IPv6 trusted peer and hop", remote: "[fd00::1]:443", req: map[string][]string{xff: {"2001:db8::1, fd00::2"}}, want: "2001:db8::1"},
		{name: "IPv6 with port and brackets", remote: proxy, req: map[string][]string{xff: {"[2001:db8::1]:443"}}, want: "2001:db8::1"},
		{name: "IPv6 bracketed without port", remote: proxy, req: map[string][]string{xff: {"[2001:db8::1]"}}, want: "2001:db8::1"},
		{name: "IPv4 with port", remote: proxy, req: map[string][]string{xff: {"203.0.113.5:4711"}}, want: "203.0.113.5"},
		{name: "IPv6 zone dropped", remote: proxy, req: map[string][]string{xff: {"fe80::1%eth0"}}, want: "fe80::1"},
		{name: "mapped client folds to IPv4", remote: proxy, req: map[string][]string{xff: {"::ffff:203.0.113.5"}}, want: "203.0.113.5"},
		{name: "mapped trusted peer", remote: "[::ffff:10.0.0.1]:80", req: map[string][]string{xff: {"203.0.113.5"}}, want: "203.0.113.5"},
		{name: "mapped trusted hop cannot alias", remote: proxy, req: map[string][]string{xff: {"203.0.113.5, ::ffff:10.0.0.8"}}, want: "203.0.113.5"},
		{name: "mapped untrusted peer folds", remote: "[::ffff:198.51.100.9]:80", req: map[string][]string{xff: {"1.2.3.4"}}, want: "198.51.100.9"},
		{name: "garbage XFF keeps the peer", remote: proxy, req: map[string][]string{xff: {"garbage"}}, want: "10.0.0.1"},
		{name: "garbage mid chain stops at last good hop", remote: proxy, req: map[string][]string{xff: {"203.0.113.5, garbage, 10.0.0.8"}}, want: "10.0.0.8"},
		{name: "empty element stops", remote: proxy, req: map[string][]string{xff: {"203.0.113.5,, 10.0.0.8"}}, want: "10.0.0.8"},
		{name: "trailing comma stops", remote: proxy, req: map[string][]string{xff: {"203.0.113.5,"}}, want: "10.0.0.1"},
		{name: "empty XFF value", remote: proxy, req: map[string][]string{xff: {""}}, want: "10.0.0.1"},
		{name: "unknown stops", remote: proxy, req: map[string][]string{xff: {"unknown"}}, want: "10.0.0.1"},
		{name: "hostname stops", remote: proxy, req: map[string][]string{xff: {"client.example.com"}}, want: "10.0.0.1"},
		{name: "garbage in a later XFF header", remote: proxy, req: map[string][]string{xff: {"203.0.113.5", "nope"}}, want: "10.0.0.1"},

		{name: "forwarded simple", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {"for=203.0.113.5"}}, want: "203.0.113.5"},
		{name: "forwarded quoted IPv6 with port", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="[2001:db8:cafe::17]:4711"`}}, want: "2001:db8:cafe::17"},
		{name: "forwarded quoted IPv6 without port", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="[2001:db8:cafe::17]"`}}, want: "2001:db8:cafe::17"},
		{name: "forwarded quoted IPv4 with port", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="203.0.113.5:80"`}}, want: "203.0.113.5"},
		// RFC 7239 wants a node with a port quoted; a bare one is a syntax
		// error, and a syntax error fails the whole header (the rule the
		// origin check has always applied, now shared).
		{name: "forwarded bare IPv4 with port is a syntax error", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for=203.0.113.5:80`}}, want: "10.0.0.1"},
		{name: "forwarded syntax error left of good elements", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for=1.1.1.1:80, for=203.0.113.5`}}, want: "10.0.0.1"},
		{name: "forwarded syntax error on a later line", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {"for=203.0.113.5", "for"}}, want: "10.0.0.1"},
		{name: "forwarded zoned IPv6 stops", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="[2001:db8::1%eth0]"`}}, want: "10.0.0.1"},
		{name: "forwarded obfuscated port", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="203.0.113.5:_p1"`}}, want: "203.0.113.5"},
		{name: "forwarded chain with params", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for=1.1.1.1, for=198.51.100.1;proto=https;by=10.0.0.1, for="10.0.0.7:8080";host="a,b"`}}, want: "198.51.100.1"},
		{name: "forwarded multiple headers", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {"for=198.51.100.1", "for=10.0.0.7"}}, want: "198.51.100.1"},
		{name: "forwarded name case-insensitive", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {"For=203.0.113.5"}}, want: "203.0.113.5"},
		{name: "forwarded escaped quoted string", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="\[2001:db8::1\]"`}}, want: "2001:db8::1"},
		{name: "forwarded mapped IPv6 folds", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="[::ffff:203.0.113.5]"`}}, want: "203.0.113.5"},
		{name: "forwarded unbracketed IPv6 stops", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="2001:db8::1"`}}, want: "10.0.0.1"},
		{name: "forwarded unknown stops", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {"for=unknown"}}, want: "10.0.0.1"},
		{name: "forwarded obfuscated node stops", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {"for=203.0.113.5, for=_hidden"}}, want: "10.0.0.1"},
		{name: "forwarded unterminated quote", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="[2001:db8::1]`}}, want: "10.0.0.1"},
		{name: "forwarded without for", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {"proto=https"}}, want: "10.0.0.1"},
		{name: "forwarded duplicate for", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {"for=1.1.1.1;for=203.0.113.5"}}, want: "10.0.0.1"},
		{name: "forwarded bad port", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {`for="203.0.113.5:123456"`}}, want: "10.0.0.1"},
		{name: "forwarded garbage mid chain", headers: []string{forwarded}, remote: proxy, req: map[string][]string{forwarded: {"for=203.0.113.5, for=x, for=10.0.0.7"}}, want: "10.0.0.7"},
		{name: "forwarded from untrusted peer", headers: []string{forwarded}, remote: stranger, req: map[string][]string{forwarded: {"for=203.0.113.5"}}, want: "198.51.100.9"},

		{name: "x-real-ip", headers: []string{xrip}, remote: proxy, req: map[string][]string{xrip: {"203.0.113.5"}}, want: "203.0.113.5"},
		{name: "x-real-ip last value wins", headers: []string{xrip}, remote: proxy, req: map[string][]string{xrip: {"1.1.1.1", "203.0.113.5"}}, want: "203.0.113.5"},
		{name: "x-real-ip garbage", headers: []string{xrip}, remote: proxy, req: map[string][]string{xrip: {"203.0.113.5, 1.1.1.1"}}, want: "10.0.0.1"},
		{name: "x-real-ip only ignores XFF", headers: []string{xrip}, remote: proxy, req: map[string][]string{xff: {"1.2.3.4"}}, want: "10.0.0.1"},
		{name: "default precedence XFF over X-Real-IP", remote: proxy, req: map[string][]string{xff: {"203.0.113.5"}, xrip: {"1.2.3.4"}}, want: "203.0.113.5"},
		{name: "default falls back to X-Real-IP", remote: proxy, req: map[string][]string{xrip: {"203.0.113.6"}, forwarded: {"for=1.2.3.4"}}, want: "203.0.113.6"},
		{name: "default falls back to Forwarded", remote: proxy, req: map[string][]string{forwarded: {"for=203.0.113.7"}}, want: "203.0.113.7"},

		{name: "remote addr bare IP", remote: "10.0.0.1", req: map[string][]string{xff: {"203.0.113.5"}}, want: "203.0.113.5"},
		{name: "remote addr unparsable", remote: "pipe", req: map[string][]string{xff: {"203.0.113.5"}}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var res *ratelimit.IPResolver
			if !tc.nilRes {
				res = mustResolver(t, tc.headers...)
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remote
			for k, vs := range tc.req {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
			got := res.ClientIP(req)
			if tc.want == "" {
				if got.IsValid() {
					t.Fatalf("ClientIP = %v, want the zero Addr", got)
				}
				return
			}
			if got != netip.MustParseAddr(tc.want) {
				t.Fatalf("ClientIP = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestForwardedLongTrustedChainFailsClosed(t *testing.T) {
	t.Parallel()
	res := mustResolver(t, "Forwarded")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "10.0.0.1:1"
	// The client is followed by 100 trusted hops: more elements than a
	// Forwarded header may hold (32), so the header is not read at all and
	// the peer, a trusted proxy, is the answer. At the bound it is read.
	hops := []string{"for=203.0.113.5"}
	for range 100 {
		hops = append(hops, "for=10.0.0.9")
	}
	req.Header.Set("Forwarded", strings.Join(hops, ", "))
	if got := res.ClientIP(req); got != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("ClientIP = %v, want 10.0.0.1", got)
	}
	req.Header.Set("Forwarded", strings.Join(hops[:32], ", "))
	if got := res.ClientIP(req); got != netip.MustParseAddr("203.0.113.5") {
		t.Fatalf("at the bound: ClientIP = %v, want 203.0.113.5", got)
	}
}

func TestNewIPResolverErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trusted []netip.Prefix
		headers []string
		field   string
	}{
		{name: "zero prefix", trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}}, field: "trusted[1]"},
		{name: "unknown header", headers: []string{"X-Forwarded-For", "X-Client-IP"}, field: "headers[1]"},
		{name: "duplicate header", headers: []string{"forwarded", "Forwarded"}, field: "headers[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ratelimit.NewIPResolver(tc.trusted, tc.headers...)
			if !errors.Is(err, ratelimit.ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want ErrConfig naming %s", err, tc.field)
			}
		})
	}
}

func TestIPResolverMappedPrefix(t *testing.T) {
	t.Parallel()
	res, err := ratelimit.NewIPResolver([]netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")})
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"10.1.2.3", "::ffff:10.1.2.3"} {
		if !res.Trusted(netip.MustParseAddr(ip)) {
			t.Errorf("Trusted(%s) = false, want true", ip)
		}
	}
	if res.Trusted(netip.MustParseAddr("11.0.0.1")) {
		t.Error("Trusted(11.0.0.1) = true, want false")
	}
}

func TestRealIPStoresAddress(t *testing.T) {
	t.Parallel()
	res := mustResolver(t)
	tests := []struct {
		name   string
		remote string
		xff    string
		want   string
	}{
		{name: "resolved through proxy", remote: "10.0.0.1:1", xff: "203.0.113.5", want: "203.0.113.5"},
		{name: "direct client", remote: "198.51.100.9:1", xff: "203.0.113.5", want: "198.51.100.9"},
		{name: "unparsable remote stores nothing", remote: "@", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got netip.Addr
			var stored bool
			h := ratelimit.RealIP(res)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got, stored = ratelimit.ClientIP(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remote
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if tc.want == "" {
				if stored {
					t.Fatalf("ClientIP stored %v, want nothing", got)
				}
				return
			}
			if !stored || got != netip.MustParseAddr(tc.want) {
				t.Fatalf("ClientIP = %v, %v; want %s, true", got, stored, tc.want)
			}
		})
	}
}
