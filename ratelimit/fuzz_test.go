package ratelimit_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/internal/forwarded"
	"github.com/wsgate/wsgate/ratelimit"
)

// FuzzClientIP feeds arbitrary X-Forwarded-For, Forwarded and X-Real-IP
// values to resolvers behind a trusted or untrusted peer. It checks that
// parsing never panics, that results are normalised, that an untrusted
// peer can never move the result, and that a Forwarded header the shared
// parser refuses is not read at all (the peer is the answer). The
// X-Forwarded-For walk itself is compared with a naive one in
// internal/forwarded's FuzzWalkXFF.
func FuzzClientIP(f *testing.F) {
	f.Add(true, "203.0.113.5, 10.0.0.7", "for=203.0.113.5", "203.0.113.5")
	f.Add(true, "::ffff:10.0.0.1, [2001:db8::1]:443", `for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2`, "")
	f.Add(false, "1.2.3.4", "for=1.2.3.4", "1.2.3.4")
	f.Add(true, "garbage,, 10.0.0.8", `for="\[::1\]";by=_hidden, For=unknown`, "fe80::1%eth0")
	f.Add(true, ",", `for="`, "10.0.0.1:80")

	resolvers := map[string]*ratelimit.IPResolver{}
	for _, h := range []string{"", "X-Forwarded-For", "Forwarded", "X-Real-IP"} {
		var headers []string
		if h != "" {
			headers = []string{h}
		}
		r, err := ratelimit.NewIPResolver(testTrusted, headers...)
		if err != nil {
			f.Fatal(err)
		}
		resolvers[h] = r
	}

	f.Fuzz(func(t *testing.T, trustedPeer bool, xff, fwd, xrip string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		peer := netip.MustParseAddr("198.51.100.9")
		if trustedPeer {
			peer = netip.MustParseAddr("10.0.0.1")
		}
		req.RemoteAddr = netip.AddrPortFrom(peer, 4711).String()
		// Header values split on newlines, like repeated header lines.
		for k, v := range map[string]string{"X-Forwarded-For": xff, "Forwarded": fwd, "X-Real-IP": xrip} {
			if v == "" {
				continue
			}
			for line := range strings.SplitSeq(v, "\n") {
				req.Header.Add(k, line)
			}
		}
		for name, r := range resolvers {
			got := r.ClientIP(req)
			if !got.IsValid() || got.Is4In6() || got.Zone() != "" {
				t.Fatalf("%q resolver: ClientIP = %v, want a valid normalised address", name, got)
			}
			if !trustedPeer && got != peer {
				t.Fatalf("%q resolver: untrusted peer moved the result to %v", name, got)
			}
		}
		if trustedPeer && fwd != "" {
			if _, err := forwarded.Parse(req.Header.Values("Forwarded")); err != nil {
				if got := resolvers["Forwarded"].ClientIP(req); got != peer {
					t.Fatalf("Forwarded refused by the parser (%v) moved the result to %v", err, got)
				}
			}
		}
	})
}
