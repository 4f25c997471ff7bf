package origin

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/forwarded"
)

// fuzzPolicy is the policy FuzzCheck runs against.
var fuzzPolicy = Policy{
	AllowedOrigins: []string{"https://app.example.com", "https://*.example.org", "http://localhost:8080"},
	TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
}

// FuzzCheck feeds arbitrary Origin and Host values to Check. Properties: no
// panic; a refusal wraps ErrNotAllowed and has a reason; an allowed Origin
// has no userinfo, path, query or fragment and its host is really one of
// the allowed ones (or the request's own); and the canonical form of a
// parsed origin parses back to itself.
func FuzzCheck(f *testing.F) {
	for _, s := range [][2]string{
		{"https://app.example.com", "server.test"},
		{"https://a.b.example.org", "server.test"},
		{"https://a.example.org.evil.com", "server.test"},
		{"https://example.com@evil.com", "example.com"},
		{"http://chat.test:8080", "chat.test:8080"},
		{"https://bücher.example", "xn--bcher-kva.example"},
		{"http://[::1]:80", "[::1]"},
		{"null", "server.test"},
	} {
		f.Add(s[0], s[1])
	}
	c, err := New(fuzzPolicy)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, originHeader, host string) {
		r := &http.Request{
			Host:       host,
			RemoteAddr: "192.0.2.1:1234",
			Header:     http.Header{"Origin": {originHeader}},
		}
		err := c.Check(r)
		if err2 := c.Check(r); (err == nil) != (err2 == nil) {
			t.Fatalf("Check is not deterministic: %v then %v", err, err2)
		}
		if o, perr := parseOrigin(originHeader); perr == nil {
			again, perr := parseOrigin(o.String())
			if perr != nil || again != o {
				t.Fatalf("canonical form %q of %q parses to %+v, %v; want %+v", o.String(), originHeader, again, perr, o)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrNotAllowed) || Reason(err) == "" {
				t.Fatalf("refusal %v: not ErrNotAllowed or no reason", err)
			}
			return
		}
		// Allowed: check it independently of the parser.
		i := strings.Index(originHeader, "://")
		if i < 0 {
			t.Fatalf("allowed Origin %q has no scheme", originHeader)
		}
		rest := originHeader[i+3:]
		if strings.ContainsAny(rest, "@/\\?#% \t\r\n") {
			t.Fatalf("allowed Origin %q has userinfo, path, query, fragment or junk", originHeader)
		}
		o, err := parseOrigin(originHeader)
		if err != nil {
			t.Fatalf("allowed Origin %q does not parse: %v", originHeader, err)
		}
		switch {
		case o.scheme == "https" && o.host == "app.example.com" && o.port == "443":
		case o.scheme == "http" && o.host == "localhost" && o.port == "8080":
		case o.scheme == "https" && o.port == "443" && strings.HasSuffix(o.host, ".example.org") &&
			len(o.host) > len(".example.org") && !strings.Contains(o.host, ".."):
		default:
			self, err := c.selfOrigin(r)
			if err != nil || self != o {
				t.Fatalf("allowed Origin %q (%+v) is neither listed nor the request's own (%+v, %v)", originHeader, o, self, err)
			}
			if !strings.EqualFold(stripPort(rest), stripPort(host)) && !strings.ContainsFunc(rest+host, func(r rune) bool { return r >= 0x80 }) &&
				!strings.Contains(strings.ToLower(rest+host), "xn--") && !o.ip {
				t.Fatalf("allowed same-origin %q for Host %q: hosts differ", originHeader, host)
			}
		}
	})
}

// stripPort removes a trailing ":digits" from an authority.
func stripPort(a string) string {
	if i := strings.LastIndexByte(a, ':'); i >= 0 && !strings.Contains(a[i:], "]") {
		return a[:i]
	}
	return a
}

// FuzzForwarded feeds arbitrary Forwarded headers (lines split on '\n') to
// the request's own origin, from a trusted and from an untrusted peer. The
// grammar itself is fuzzed in internal/forwarded; this checks origin's use
// of it. Properties: no panic; from an untrusted peer the header changes
// nothing; from a trusted peer a header the parser refuses makes the own
// origin unknown (fail closed), and an accepted one gives the same answer
// twice.
func FuzzForwarded(f *testing.F) {
	for _, s := range []string{
		"for=192.0.2.60;proto=http;by=203.0.113.43",
		`for="[2001:db8:cafe::17]:4711";host="example.com:8443"`,
		"for=192.0.2.43, for=198.51.100.17;host=a.example",
		`host="a\"b";ext=1`,
		"for=a\nfor=b",
		`host="unterminated`,
	} {
		f.Add(s)
	}
	c, err := New(fuzzPolicy)
	if err != nil {
		f.Fatal(err)
	}
	request := func(remote string, lines []string) *http.Request {
		r := &http.Request{Host: "backend.test:8080", RemoteAddr: remote, Header: http.Header{}}
		for _, l := range lines {
			r.Header.Add("Forwarded", l)
		}
		return r
	}
	plain, err := c.selfOrigin(request("198.51.100.9:1", nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		lines := strings.Split(header, "\n")
		if self, err := c.selfOrigin(request("198.51.100.9:1", lines)); err != nil || self != plain {
			t.Fatalf("untrusted peer's Forwarded changed the own origin to %+v, %v", self, err)
		}
		self, err := c.selfOrigin(request("10.0.0.1:1", lines))
		if _, perr := forwarded.Parse(lines); perr != nil {
			if err == nil {
				t.Fatalf("header refused by the parser (%v) gave own origin %+v", perr, self)
			}
			return
		}
		again, err2 := c.selfOrigin(request("10.0.0.1:1", lines))
		if self != again || (err == nil) != (err2 == nil) {
			t.Fatalf("selfOrigin is not deterministic: %+v, %v then %+v, %v", self, err, again, err2)
		}
	})
}
