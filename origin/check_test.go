package origin

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// listPolicy is the policy of the allow-list cases. The requests of those
// cases go to host "server.test", so same-origin never interferes.
var listPolicy = Policy{AllowedOrigins: []string{
	"https://app.example.com",
	"http://localhost:8080",
	"https://*.example.org",
	"https://*.example.net:8443",
	"https://bücher.example",
	"https://*.xn--mnchen-3ya.example",
	"http://[::1]:3000",
	"wss://socket.example.io",
	"chrome-extension://abcdefghijklmnop",
}}

var proxyPolicy = Policy{TrustedProxies: []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("fd00::/8"),
}}

type checkCase struct {
	name    string
	policy  Policy
	origins []string // nil: no Origin header
	host    string   // r.Host; "server.test" when empty
	tls     bool
	remote  string // r.RemoteAddr; "203.0.113.50:40000" when empty
	header  http.Header
	reason  string // "" when allowed
}

func runCheckCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tc.policy)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			r := &http.Request{Method: http.MethodGet, Host: tc.host, RemoteAddr: tc.remote, Header: http.Header{}}
			if r.Host == "" {
				r.Host = "server.test"
			}
			if r.RemoteAddr == "" {
				r.RemoteAddr = "203.0.113.50:40000"
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, vs := range tc.header {
				r.Header[k] = vs
			}
			if tc.origins != nil {
				r.Header["Origin"] = tc.origins
			}
			err = c.Check(r)
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("Check(%q) = %v, want allowed", tc.origins, err)
			case tc.reason != "" && err == nil:
				t.Fatalf("Check(%q) allowed, want refusal %q", tc.origins, tc.reason)
			case err != nil:
				if !errors.Is(err, ErrNotAllowed) {
					t.Errorf("error %v does not wrap ErrNotAllowed", err)
				}
				if got := Reason(err); got != tc.reason {
					t.Errorf("Reason = %q, want %q (error: %v)", got, tc.reason, err)
				}
				if !strings.HasPrefix(err.Error(), "origin: not allowed: "+tc.reason) {
					t.Errorf("Error() = %q", err)
				}
			}
		})
	}
}

func one(o string) []string { return []string{o} }

func TestCheckAllowList(t *testing.T) {
	t.Parallel()
	p := listPolicy
	runCheckCases(t, []checkCase{
		// Exact origins.
		{name: "exact", policy: p, origins: one("https://app.example.com")},
		{name: "exact explicit default port", policy: p, origins: one("https://app.example.com:443")},
		{name: "exact upper-case host", policy: p, origins: one("https://APP.Example.COM")},
		{name: "exact upper-case scheme", policy: p, origins: one("HTTPS://app.example.com")},
		{name: "exact port mismatch", policy: p, origins: one("https://app.example.com:8443"), reason: reasonCross},
		{name: "exact scheme mismatch", policy: p, origins: one("http://app.example.com"), reason: reasonCross},
		{name: "exact subdomain not allowed", policy: p, origins: one("https://x.app.example.com"), reason: reasonCross},
		{name: "exact parent not allowed", policy: p, origins: one("https://example.com"), reason: reasonCross},
		{name: "exact with port", policy: p, origins: one("http://localhost:8080")},
		{name: "exact with port given default", policy: p, origins: one("http://localhost"), reason: reasonCross},
		{name: "exact with port other port", policy: p, origins: one("http://localhost:8081"), reason: reasonCross},
		{name: "exact with port other scheme", policy: p, origins: one("https://localhost:8080"), reason: reasonCross},
		{name: "exact IPv6", policy: p, origins: one("http://[::1]:3000")},
		{name: "exact IPv6 long form", policy: p, origins: one("http://[0:0:0:0:0:0:0:1]:3000")},
		{name: "exact IPv6 other port", policy: p, origins: one("http://[::1]:3001"), reason: reasonCross},
		{name: "wss pattern equals https origin", policy: p, origins: one("https://socket.example.io")},
		{name: "wss pattern refuses http origin", policy: p, origins: one("http://socket.example.io"), reason: reasonCross},
		{name: "non-http scheme", policy: p, origins: one("chrome-extension://abcdefghijklmnop")},
		{name: "non-http scheme other id", policy: p, origins: one("chrome-extension://ponmlkjihgfedcba"), reason: reasonCross},

		// Wildcards.
		{name: "wildcard one level", policy: p, origins: one("https://a.example.org")},
		{name: "wildcard two levels", policy: p, origins: one("https://a.b.example.org")},
		{name: "wildcard upper-case", policy: p, origins: one("https://A.EXAMPLE.ORG")},
		{name: "wildcard explicit default port", policy: p, origins: one("https://a.example.org:443")},
		{name: "wildcard apex not matched", policy: p, origins: one("https://example.org"), reason: reasonCross},
		{name: "wildcard dash suffix trick", policy: p, origins: one("https://evil-example.org"), reason: reasonCross},
		{name: "wildcard glued suffix trick", policy: p, origins: one("https://evilexample.org"), reason: reasonCross},
		{name: "wildcard appended domain trick", policy: p, origins: one("https://a.example.org.evil.com"), reason: reasonCross},
		{name: "wildcard appended apex trick", policy: p, origins: one("https://example.org.evil.com"), reason: reasonCross},
		{name: "wildcard trailing dot is another origin", policy: p, origins: one("https://a.example.org."), reason: reasonCross},
		{name: "wildcard port mismatch", policy: p, origins: one("https://a.example.org:8443"), reason: reasonCross},
		{name: "wildcard scheme mismatch", policy: p, origins: one("http://a.example.org"), reason: reasonCross},
		{name: "wildcard IDN label unicode", policy: p, origins: one("https://bücher.example.org")},
		{name: "wildcard IDN label punycode", policy: p, origins: one("https://xn--bcher-kva.example.org")},
		{name: "wildcard with port", policy: p, origins: one("https://a.example.net:8443")},
		{name: "wildcard with port, default given", policy: p, origins: one("https://a.example.net"), reason: reasonCross},
		{name: "wildcard with port, other port", policy: p, origins: one("https://a.example.net:8444"), reason: reasonCross},
		{name: "wildcard punycode pattern, unicode origin", policy: p, origins: one("https://a.münchen.example")},
		{name: "wildcard punycode pattern, punycode origin", policy: p, origins: one("https://a.xn--mnchen-3ya.example")},
		{name: "wildcard never matches an IP", policy: p, origins: one("https://1.2.3.4"), reason: reasonCross},

		// IDNA: the Unicode and punycode forms of a host are equal.
		{name: "IDN unicode pattern, punycode origin", policy: p, origins: one("https://xn--bcher-kva.example")},
		{name: "IDN unicode pattern, unicode origin", policy: p, origins: one("https://bücher.example")},
		{name: "IDN upper-case unicode", policy: p, origins: one("https://BÜCHER.example")},
		{name: "IDN upper-case punycode", policy: p, origins: one("https://XN--BCHER-KVA.example")},
		{name: "IDN fullwidth letters fold", policy: p, origins: one("https://ａｐｐ.example.com")},
		{name: "IDN lookalike", policy: p, origins: one("https://bucher.example"), reason: reasonCross},
		{name: "IDN ideographic full stop is a dot", policy: p, origins: one("https://a.example.org\u3002evil.com"), reason: reasonCross},
		{name: "IDN fullwidth solidus maps to a path", policy: p, origins: one("https://app.example.com\uff0f.evil.com"), reason: reasonMalformed},
		{name: "IDN invalid punycode", policy: p, origins: one("https://xn--a.example.org"), reason: reasonMalformed},
		{name: "IDN ASCII-only punycode", policy: p, origins: one("https://xn--abc-.example.org"), reason: reasonMalformed},
		{name: "IDN zero-width joiner", policy: p, origins: one("https://a\u200db.example.org"), reason: reasonMalformed},

		// Malformed Origin values.
		{name: "userinfo trick", policy: p, origins: one("https://app.example.com@evil.com"), reason: reasonMalformed},
		{name: "userinfo with password", policy: p, origins: one("https://user:pass@app.example.com"), reason: reasonMalformed},
		{name: "backslash trick", policy: p, origins: one(`https://evil.com\@app.example.com`), reason: reasonMalformed},
		{name: "percent-encoded dot", policy: p, origins: one("https://app.example.com%2eevil.com"), reason: reasonMalformed},
		{name: "trailing slash", policy: p, origins: one("https://app.example.com/"), reason: reasonMalformed},
		{name: "path", policy: p, origins: one("https://app.example.com/x"), reason: reasonMalformed},
		{name: "query", policy: p, origins: one("https://app.example.com?x=1"), reason: reasonMalformed},
		{name: "fragment", policy: p, origins: one("https://app.example.com#x"), reason: reasonMalformed},
		{name: "no scheme", policy: p, origins: one("app.example.com"), reason: reasonMalformed},
		{name: "empty scheme", policy: p, origins: one("://app.example.com"), reason: reasonMalformed},
		{name: "bad scheme", policy: p, origins: one("1https://app.example.com"), reason: reasonMalformed},
		{name: "empty host", policy: p, origins: one("https://"), reason: reasonMalformed},
		{name: "empty port", policy: p, origins: one("https://app.example.com:"), reason: reasonMalformed},
		{name: "zero port", policy: p, origins: one("https://app.example.com:0"), reason: reasonMalformed},
		{name: "leading-zero port", policy: p, origins: one("https://app.example.com:0443"), reason: reasonMalformed},
		{name: "port out of range", policy: p, origins: one("https://app.example.com:65536"), reason: reasonMalformed},
		{name: "two ports", policy: p, origins: one("https://app.example.com:443:443"), reason: reasonMalformed},
		{name: "empty label", policy: p, origins: one("https://app..example.com"), reason: reasonMalformed},
		{name: "leading dot", policy: p, origins: one("https://.example.org"), reason: reasonMalformed},
		{name: "space inside", policy: p, origins: one("https://app.example.com evil.com"), reason: reasonMalformed},
		{name: "origin list", policy: p, origins: one("https://evil.com https://app.example.com"), reason: reasonMalformed},
		{name: "control character", policy: p, origins: one("https://app.example.com\x00"), reason: reasonMalformed},
		{name: "invalid UTF-8", policy: p, origins: one("https://app\xff.example.com"), reason: reasonMalformed},
		{name: "short IPv4 form", policy: p, origins: one("http://127.1"), reason: reasonMalformed},
		{name: "hex IPv4 form", policy: p, origins: one("http://0x7f.0.0.1"), reason: reasonMalformed},
		{name: "hex last label", policy: p, origins: one("http://a.b.0x1f"), reason: reasonMalformed},
		{name: "bare 0x last label", policy: p, origins: one("http://a.0x"), reason: reasonMalformed},
		{name: "IPv6 with zone", policy: p, origins: one("http://[fe80::1%25eth0]:3000"), reason: reasonMalformed},
		{name: "IPv6 unterminated", policy: p, origins: one("http://[::1:3000"), reason: reasonMalformed},
		{name: "IPv6 junk after bracket", policy: p, origins: one("http://[::1]x:3000"), reason: reasonMalformed},
		{name: "IPv4 in brackets", policy: p, origins: one("http://[127.0.0.1]:3000"), reason: reasonMalformed},
		{name: "empty value", policy: p, origins: one(""), reason: reasonMalformed},
		{name: "too long", policy: p, origins: one("https://" + strings.Repeat("a.", 600) + "example.org"), reason: reasonMalformed},

		// null, missing, repeated.
		{name: "null refused by default", policy: p, origins: one("null"), reason: reasonNull},
		{name: "NULL is malformed", policy: p, origins: one("NULL"), reason: reasonMalformed},
		{name: "missing allowed by default", policy: p},
		{name: "two Origin headers", policy: p, origins: []string{"https://app.example.com", "https://evil.com"}, reason: reasonMultiple},
		{name: "two identical Origin headers", policy: p, origins: []string{"https://app.example.com", "https://app.example.com"}, reason: reasonMultiple},
		{name: "foreign", policy: p, origins: one("https://evil.com"), reason: reasonCross},
	})
}

func TestCheckSwitches(t *testing.T) {
	t.Parallel()
	runCheckCases(t, []checkCase{
		{name: "null allowed with AllowNull", policy: Policy{AllowNull: true}, origins: one("null")},
		{name: "AllowNull does not allow foreign", policy: Policy{AllowNull: true}, origins: one("https://evil.com"), reason: reasonCross},
		{name: "missing refused with RefuseMissing", policy: Policy{RefuseMissing: true}, reason: reasonMissing},
		{name: "RefuseMissing still allows same-origin", policy: Policy{RefuseMissing: true}, origins: one("http://server.test")},
		{name: "insecure allows foreign", policy: Policy{InsecureAllowAnyOrigin: true}, origins: one("https://evil.com")},
		{name: "insecure allows malformed", policy: Policy{InsecureAllowAnyOrigin: true}, origins: one("https://user@evil.com/x")},
		{name: "insecure allows null", policy: Policy{InsecureAllowAnyOrigin: true}, origins: one("null")},
		{name: "insecure allows missing", policy: Policy{InsecureAllowAnyOrigin: true, RefuseMissing: true}},
	})
}

func TestCheckSameOrigin(t *testing.T) {
	t.Parallel()
	var zero Policy
	runCheckCases(t, []checkCase{
		{name: "http with port", policy: zero, origins: one("http://chat.test:8080"), host: "chat.test:8080"},
		{name: "http default port in Origin only", policy: zero, origins: one("http://chat.test"), host: "chat.test:80"},
		{name: "http default port in Host only", policy: zero, origins: one("http://chat.test:80"), host: "chat.test"},
		{name: "https over TLS", policy: zero, origins: one("https://chat.test"), host: "chat.test", tls: true},
		{name: "https default port in Host", policy: zero, origins: one("https://chat.test"), host: "chat.test:443", tls: true},
		{name: "http Origin to TLS endpoint", policy: zero, origins: one("http://chat.test"), host: "chat.test", tls: true, reason: reasonCross},
		{name: "https Origin to plain endpoint", policy: zero, origins: one("https://chat.test"), host: "chat.test", reason: reasonCross},
		{name: "https Origin to plain endpoint on 443", policy: zero, origins: one("https://chat.test"), host: "chat.test:443", reason: reasonCross},
		{name: "case-insensitive host", policy: zero, origins: one("http://chat.test"), host: "CHAT.Test"},
		{name: "IDN host in punycode, Origin unicode", policy: zero, origins: one("https://bücher.example"), host: "xn--bcher-kva.example", tls: true},
		{name: "IDN host in unicode, Origin punycode", policy: zero, origins: one("https://xn--bcher-kva.example"), host: "bücher.example", tls: true},
		{name: "IPv6 host", policy: zero, origins: one("http://[::1]:8080"), host: "[::1]:8080"},
		{name: "0x-like label is a name", policy: zero, origins: one("http://a.0xg"), host: "a.0xg"},
		{name: "IPv4 host", policy: zero, origins: one("http://127.0.0.1:8080"), host: "127.0.0.1:8080"},
		{name: "port mismatch", policy: zero, origins: one("http://chat.test:8081"), host: "chat.test:8080", reason: reasonCross},
		{name: "subdomain is cross-origin", policy: zero, origins: one("http://a.chat.test"), host: "chat.test", reason: reasonCross},
		{name: "parent is cross-origin", policy: zero, origins: one("http://test"), host: "chat.test", reason: reasonCross},
		{name: "foreign", policy: zero, origins: one("https://evil.com"), host: "chat.test", tls: true, reason: reasonCross},
		{name: "userinfo trick against own host", policy: zero, origins: one("http://chat.test@evil.com"), host: "chat.test", reason: reasonMalformed},
		{name: "malformed Host header", policy: zero, origins: one("http://chat.test"), host: "chat.test/x", reason: reasonCross},
		{name: "list entries add to same-origin", policy: Policy{AllowedOrigins: []string{"https://app.example.com"}}, origins: one("http://chat.test"), host: "chat.test"},
	})
}

func TestCheckProxies(t *testing.T) {
	t.Parallel()
	p := proxyPolicy
	const trusted = "10.1.2.3:5555"
	const untrusted = "203.0.113.9:5555"
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	runCheckCases(t, []checkCase{
		{name: "X-Forwarded trusted", policy: p, remote: trusted, host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com", "X-Forwarded-Proto", "https"), origins: one("https://chat.example.com")},
		{name: "X-Forwarded trusted, backend origin refused", policy: p, remote: trusted, host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com", "X-Forwarded-Proto", "https"), origins: one("http://backend:8080"), reason: reasonCross},
		{name: "X-Forwarded untrusted ignored", policy: p, remote: untrusted, host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com", "X-Forwarded-Proto", "https"), origins: one("https://chat.example.com"), reason: reasonCross},
		{name: "X-Forwarded untrusted, own host still works", policy: p, remote: untrusted, host: "backend:8080",
			header: h("X-Forwarded-Host", "evil.com"), origins: one("http://backend:8080")},
		{name: "X-Forwarded ignored without TrustedProxies", policy: Policy{}, remote: trusted, host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com", "X-Forwarded-Proto", "https"), origins: one("https://chat.example.com"), reason: reasonCross},
		{name: "X-Forwarded-Host with port", policy: p, remote: trusted, host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com:8443", "X-Forwarded-Proto", "https"), origins: one("https://chat.example.com:8443")},
		{name: "X-Forwarded-Proto only", policy: p, remote: trusted, host: "chat.example.com",
			header: h("X-Forwarded-Proto", "https"), origins: one("https://chat.example.com")},
		{name: "X-Forwarded-Proto wss", policy: p, remote: trusted, host: "chat.example.com",
			header: h("X-Forwarded-Proto", "wss"), origins: one("https://chat.example.com")},
		{name: "X-Forwarded-Host list refused", policy: p, remote: trusted, host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com, evil.com"), origins: one("http://chat.example.com"), reason: reasonCross},
		{name: "X-Forwarded-Host repeated refused", policy: p, remote: trusted, host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com", "X-Forwarded-Host", "chat.example.com"), origins: one("http://chat.example.com"), reason: reasonCross},
		{name: "X-Forwarded-Host empty", policy: p, remote: trusted, host: "backend:8080",
			header: h("X-Forwarded-Host", " "), origins: one("http://backend:8080"), reason: reasonCross},
		{name: "X-Forwarded-Host malformed", policy: p, remote: trusted, host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com@evil.com"), origins: one("http://chat.example.com"), reason: reasonCross},
		{name: "trusted peer IPv4-mapped", policy: p, remote: "[::ffff:10.1.2.3]:5555", host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com"), origins: one("http://chat.example.com")},
		{name: "trusted peer IPv6", policy: p, remote: "[fd00::7]:5555", host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com"), origins: one("http://chat.example.com")},
		{name: "peer without port", policy: p, remote: "10.1.2.3", host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com"), origins: one("http://chat.example.com")},
		{name: "unparsable peer is untrusted", policy: p, remote: "proxy.internal:5555", host: "backend:8080",
			header: h("X-Forwarded-Host", "chat.example.com"), origins: one("http://chat.example.com"), reason: reasonCross},

		{name: "Forwarded trusted", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "for=198.51.100.7;host=chat.example.com;proto=https"), origins: one("https://chat.example.com")},
		{name: "Forwarded untrusted ignored", policy: p, remote: untrusted, host: "backend:8080",
			header: h("Forwarded", "for=198.51.100.7;host=chat.example.com;proto=https"), origins: one("https://chat.example.com"), reason: reasonCross},
		{name: "Forwarded quoted IPv6 host", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", `for="[2001:db8::7]:4711";host="[2001:db8::1]:8443";proto=https`), origins: one("https://[2001:db8::1]:8443")},
		{name: "Forwarded case-insensitive names", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "For=198.51.100.7; Host=chat.example.com; PROTO=https"), origins: one("https://chat.example.com")},
		{name: "Forwarded wins over X-Forwarded-Host", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "host=a.example.com;proto=https", "X-Forwarded-Host", "b.example.com"), origins: one("https://b.example.com"), reason: reasonCross},
		{name: "Forwarded host with X-Forwarded-Proto", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "for=198.51.100.7;host=chat.example.com", "X-Forwarded-Proto", "https"), origins: one("https://chat.example.com")},
		{name: "Forwarded chain through trusted hop", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "for=198.51.100.7;host=public.example;proto=https, for=10.0.0.2;host=\"internal:8080\";proto=http"), origins: one("https://public.example")},
		{name: "Forwarded chain, inner host refused", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "for=198.51.100.7;host=public.example;proto=https, for=10.0.0.2;host=\"internal:8080\";proto=http"), origins: one("http://internal:8080"), reason: reasonCross},
		{name: "Forwarded chain on two lines", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "for=198.51.100.7;host=public.example;proto=https", "Forwarded", "for=10.0.0.2"), origins: one("https://public.example")},
		{name: "Forwarded forged left element ignored", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "for=198.51.100.7;host=evil.com;proto=https, for=203.0.113.9;host=public.example;proto=https"), origins: one("https://evil.com"), reason: reasonCross},
		{name: "Forwarded forged left element, real host", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "for=198.51.100.7;host=evil.com;proto=https, for=203.0.113.9;host=public.example;proto=https"), origins: one("https://public.example")},
		{name: "Forwarded unknown for stops the walk", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "host=evil.com, for=unknown;host=public.example"), origins: one("http://public.example")},
		{name: "Forwarded malformed from trusted", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", `for=198.51.100.7;host="chat.example.com`), origins: one("http://backend:8080"), reason: reasonCross},
		{name: "Forwarded repeated parameter", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "host=evil.com;host=backend:8080"), origins: one("http://backend:8080"), reason: reasonCross},
		{name: "Forwarded malformed from untrusted ignored", policy: p, remote: untrusted, host: "backend:8080",
			header: h("Forwarded", `host="`), origins: one("http://backend:8080")},
		{name: "Forwarded bad proto", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", `proto="ht tp"`), origins: one("http://backend:8080"), reason: reasonCross},
		{name: "Forwarded host with userinfo", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", `host="public.example@evil.com"`), origins: one("http://public.example"), reason: reasonCross},
		// The rules shared with ratelimit through internal/forwarded: the
		// stricter of the two former parsers.
		{name: "Forwarded bare for with port is a syntax error", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", "for=10.0.0.2:80;host=public.example;proto=https"), origins: one("https://public.example"), reason: reasonCross},
		{name: "Forwarded bad for port stops the walk", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", `host=evil.com, for="10.0.0.2:99999x";host=public.example`), origins: one("http://public.example")},
		{name: "Forwarded zoned for stops the walk", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", `host=evil.com, for="[fd00::2%eth0]";host=public.example`), origins: one("https://evil.com"), reason: reasonCross},
		{name: "Forwarded over 32 elements from trusted", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", strings.Repeat("for=10.0.0.2, ", 32)+"for=10.0.0.3;host=public.example"), origins: one("http://public.example"), reason: reasonCross},
		{name: "Forwarded at 32 elements from trusted", policy: p, remote: trusted, host: "backend:8080",
			header: h("Forwarded", strings.Repeat("for=10.0.0.2, ", 31)+"for=10.0.0.3;host=public.example"), origins: one("http://public.example")},
		{name: "Forwarded mapped trusted peer", policy: p, remote: "[::ffff:10.1.2.3]:5555", host: "backend:8080",
			header: h("Forwarded", "for=198.51.100.7;host=public.example"), origins: one("http://public.example")},
	})
}

func TestCheckerIsolation(t *testing.T) {
	t.Parallel()
	p := Policy{AllowedOrigins: []string{"https://app.example.com"}}
	c, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	p.AllowedOrigins[0] = "https://evil.com"
	r := &http.Request{Host: "server.test", Header: http.Header{"Origin": {"https://app.example.com"}}}
	if err := c.Check(r); err != nil {
		t.Fatalf("changing the Policy after New changed the Checker: %v", err)
	}
}

func TestPolicyRoundTrip(t *testing.T) {
	t.Parallel()
	p := Policy{
		AllowedOrigins: []string{"https://app.example.com"},
		AllowNull:      true,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	}
	c, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Policy()
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("Policy() = %+v, want %+v", got, p)
	}
	got.AllowedOrigins[0] = "https://evil.com"
	got.TrustedProxies[0] = netip.MustParsePrefix("0.0.0.0/0")
	if again := c.Policy(); !reflect.DeepEqual(again, p) {
		t.Fatalf("changing a returned Policy changed the Checker's: %+v", again)
	}
	// A Checker derived with other proxies trusts them and only them.
	p2 := c.Policy()
	p2.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	c2, err := New(p2)
	if err != nil {
		t.Fatal(err)
	}
	r := func(remote string) *http.Request {
		return &http.Request{Host: "backend:8080", RemoteAddr: remote, Header: http.Header{
			"Origin": {"https://public.example"}, "Forwarded": {"host=public.example;proto=https"}}}
	}
	if err := c2.Check(r("192.0.2.1:1")); err != nil {
		t.Errorf("derived Checker refused its trusted proxy's Forwarded host: %v", err)
	}
	if err := c2.Check(r("10.0.0.1:1")); Reason(err) != reasonCross {
		t.Errorf("derived Checker still trusts the old proxy: %v", err)
	}
}

func TestReasonOfOtherErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nil, errors.New("x"), ErrNotAllowed} {
		if got := Reason(err); got != "" {
			t.Errorf("Reason(%v) = %q, want empty", err, got)
		}
	}
}
