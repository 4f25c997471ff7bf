package forwarded

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary Forwarded headers (lines split on '\n') to
// Parse and to WalkForwarded. Properties: no panic; an error is one of the
// documented ones and comes with no elements; the bounds hold; serializing
// what was parsed and parsing it again gives the same elements; the walk
// vouches only for elements that exist, never moves for an untrusted peer
// and returns a normalised address.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"for=192.0.2.60;proto=http;by=203.0.113.43",
		`for="[2001:db8:cafe::17]:4711";host="example.com:8443"`,
		"for=192.0.2.43, for=198.51.100.17;host=a.example",
		`host="a\"b";ext=1`,
		"for=a\nfor=b",
		`host="unterminated`,
		"for=10.0.0.2, for=203.0.113.5:80",
	} {
		f.Add(s)
	}
	trustedPeer := netip.MustParseAddr("10.0.0.1")
	untrustedPeer := netip.MustParseAddr("198.51.100.9")
	f.Fuzz(func(t *testing.T, header string) {
		lines := strings.Split(header, "\n")
		els, err := Parse(lines)
		if err != nil {
			if els != nil {
				t.Fatalf("error %v with %d elements", err, len(els))
			}
			if !errors.Is(err, ErrSyntax) && err != ErrTooMany && err != ErrTooLong {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if len(els) > MaxElements || len(header) > MaxBytes+len(lines) {
			t.Fatalf("%d elements from %d bytes accepted; bounds are %d and %d", len(els), len(header), MaxElements, MaxBytes)
		}
		for _, e := range els {
			for _, n := range []string{e.For, e.By} {
				if a, ok := ParseNode(n); ok && (!a.IsValid() || a.Is4In6() || a.Zone() != "") {
					t.Fatalf("ParseNode(%q) = %v, not normalised", n, a)
				}
			}
		}
		client, vouched := testTrusted.WalkForwarded(trustedPeer, els)
		if vouched > len(els) || !client.IsValid() || client.Is4In6() || client.Zone() != "" {
			t.Fatalf("WalkForwarded = %v, %d for %d elements", client, vouched, len(els))
		}
		if client != trustedPeer && !strings.Contains(strings.ToLower(header), "for") {
			t.Fatalf("WalkForwarded moved to %v without a for= parameter", client)
		}
		if c, v := testTrusted.WalkForwarded(untrustedPeer, els); c != untrustedPeer || v != 0 {
			t.Fatalf("untrusted peer: WalkForwarded = %v, %d", c, v)
		}
		line := serialize(els)
		if len(line) > MaxBytes {
			return // quoting every value can pass the byte bound
		}
		again, err := Parse([]string{line})
		if err != nil {
			t.Fatalf("re-parsing %q: %v", line, err)
		}
		if len(els) == 0 {
			els = nil
		}
		if !reflect.DeepEqual(again, els) {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", header, again, els)
		}
	})
}

// FuzzWalkXFF compares the allocation-free X-Forwarded-For walk with the
// obvious one (join the lines, split on commas, walk right to left) and
// checks that an untrusted peer's header is ignored.
func FuzzWalkXFF(f *testing.F) {
	for _, s := range []struct {
		trusted bool
		xff     string
	}{
		{true, "203.0.113.5, 10.0.0.7"},
		{true, "::ffff:10.0.0.1, [2001:db8::1]:443"},
		{false, "1.2.3.4"},
		{true, "garbage,, 10.0.0.8"},
		{true, ","},
		{true, "198.51.100.1\n[2001:db8::1]:443, fd00::2"},
		{true, "fe80::1%eth0, 10.0.0.8:80"},
	} {
		f.Add(s.trusted, s.xff)
	}
	f.Fuzz(func(t *testing.T, trustedPeer bool, xff string) {
		peer := netip.MustParseAddr("198.51.100.9")
		if trustedPeer {
			peer = netip.MustParseAddr("10.0.0.1")
		}
		lines := strings.Split(xff, "\n")
		got := testTrusted.WalkXFF(peer, lines)
		if !got.IsValid() || got.Is4In6() || got.Zone() != "" {
			t.Fatalf("WalkXFF = %v, want a valid normalised address", got)
		}
		if !trustedPeer {
			if got != peer {
				t.Fatalf("untrusted peer moved the result to %v", got)
			}
			return
		}
		if want := naiveXFF(peer, lines); got != want {
			t.Fatalf("WalkXFF = %v, naive walk = %v for %q", got, want, lines)
		}
	})
}

// naiveXFF is the obvious implementation of the X-Forwarded-For walk.
func naiveXFF(peer netip.Addr, lines []string) netip.Addr {
	hops := strings.Split(strings.Join(lines, ","), ",")
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := naiveParse(strings.Trim(hops[i], " \t"))
		if !ok {
			return last
		}
		if !naiveTrusted(a) {
			return a
		}
		last = a
	}
	return last
}

func naiveParse(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

func naiveTrusted(a netip.Addr) bool {
	return netip.MustParsePrefix("10.0.0.0/8").Contains(a) || netip.MustParsePrefix("fd00::/8").Contains(a)
}
