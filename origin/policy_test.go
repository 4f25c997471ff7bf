package origin

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/forwarded"
)

func TestNewErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		policy Policy
		want   string // substring of the error
	}{
		{"star alone", Policy{AllowedOrigins: []string{"*"}}, `AllowedOrigins[0] "*": "*" alone is not a pattern: set InsecureAllowAnyOrigin`},
		{"null", Policy{AllowedOrigins: []string{"null"}}, `AllowedOrigins[0] "null": "null" is not a pattern: set AllowNull`},
		{"index named", Policy{AllowedOrigins: []string{"https://ok.example", "https://bad.example/"}}, `AllowedOrigins[1] "https://bad.example/": path not allowed`},
		{"no scheme", Policy{AllowedOrigins: []string{"example.com"}}, `AllowedOrigins[0] "example.com": no "scheme://"`},
		{"bad scheme", Policy{AllowedOrigins: []string{"ht_tp://example.com"}}, "invalid scheme"},
		{"empty host", Policy{AllowedOrigins: []string{"https://"}}, "empty host"},
		{"userinfo", Policy{AllowedOrigins: []string{"https://user@example.com"}}, "userinfo not allowed"},
		{"query", Policy{AllowedOrigins: []string{"https://example.com?a"}}, "query not allowed"},
		{"fragment", Policy{AllowedOrigins: []string{"https://example.com#a"}}, "fragment not allowed"},
		{"bad port", Policy{AllowedOrigins: []string{"https://example.com:99999"}}, "invalid port"},
		{"wildcard TLD", Policy{AllowedOrigins: []string{"https://*.com"}}, "top-level domain"},
		{"wildcard two stars", Policy{AllowedOrigins: []string{"https://*.*.example.com"}}, "whole leftmost label"},
		{"wildcard partial label", Policy{AllowedOrigins: []string{"https://a*.example.com"}}, "whole leftmost label"},
		{"wildcard without dot", Policy{AllowedOrigins: []string{"https://*example.com"}}, "whole leftmost label"},
		{"wildcard inner label", Policy{AllowedOrigins: []string{"https://a.*.example.com"}}, "whole leftmost label"},
		{"wildcard port", Policy{AllowedOrigins: []string{"https://example.com:*"}}, "whole leftmost label"},
		{"wildcard over IPv4", Policy{AllowedOrigins: []string{"https://*.192.0.2.1"}}, "not an IP address"},
		{"wildcard over IPv6", Policy{AllowedOrigins: []string{"https://*.[::1]"}}, "not an IP address"},
		{"wildcard path", Policy{AllowedOrigins: []string{"https://*.example.com/"}}, "path not allowed"},
		{"bad IDN", Policy{AllowedOrigins: []string{"https://xn--a.example"}}, "invalid international domain name"},
		{"zero prefix", Policy{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}}}, "TrustedProxies[1]: invalid prefix"},
		{"prefix bits out of range", Policy{TrustedProxies: []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("10.0.0.0"), 33)}}, "TrustedProxies[0]: invalid prefix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tc.policy)
			if err == nil {
				t.Fatalf("New(%+v) = %v, want error", tc.policy, c)
			}
			if !errors.Is(err, ErrBadPattern) {
				t.Errorf("error %v does not wrap ErrBadPattern", err)
			}
			if !strings.HasPrefix(err.Error(), "origin: bad pattern: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestNewValid(t *testing.T) {
	t.Parallel()
	for _, p := range []string{
		"https://example.com",
		"HTTPS://Example.COM:443",
		"http://localhost:8080",
		"https://*.example.com",
		"https://*.example.com:8443",
		"http://*.localhost:3000",
		"wss://*.bücher.example",
		"http://127.0.0.1:8080",
		"http://[::1]:8080",
		"chrome-extension://abcdefghijklmnop",
		"https://example.com.",
	} {
		if _, err := New(Policy{AllowedOrigins: []string{p}}); err != nil {
			t.Errorf("New with %q: %v", p, err)
		}
	}
}

func TestTrustedProxyNormalization(t *testing.T) {
	t.Parallel()
	c, err := New(Policy{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("::ffff:10.0.0.0/104"), // IPv4-mapped form of 10.0.0.0/8
		netip.MustParsePrefix("192.168.1.77/24"),     // host bits set
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		remote string
		want   bool
	}{
		{"10.9.8.7:1", true},
		{"[::ffff:10.9.8.7]:1", true},
		{"192.168.1.1:1", true},
		{"192.168.2.1:1", false},
		{"11.0.0.1:1", false},
		{"[fe80::1%eth0]:1", false},
		{"", false},
	} {
		peer, ok := forwarded.ParseRemoteAddr(tc.remote)
		if got := ok && c.proxies.Contains(peer); got != tc.want {
			t.Errorf("trustedPeer(%q) = %v, want %v", tc.remote, got, tc.want)
		}
	}
}
