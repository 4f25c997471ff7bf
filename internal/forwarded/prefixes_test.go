package forwarded

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

var testTrusted = mustPrefixes(netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"))

func mustPrefixes(ps ...netip.Prefix) Prefixes {
	s, err := NewPrefixes(ps)
	if err != nil {
		panic(err)
	}
	return s
}

func TestNewPrefixes(t *testing.T) {
	t.Parallel()
	s, err := NewPrefixes([]netip.Prefix{
		netip.MustParsePrefix("::ffff:192.168.0.0/112"),         // mapped: stored as 192.168.0.0/16
		netip.PrefixFrom(netip.MustParseAddr("172.16.9.9"), 12), // not masked
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
	for _, a := range []string{"192.168.3.4", "::ffff:192.168.3.4", "172.31.0.1"} {
		if !s.Contains(netip.MustParseAddr(a)) {
			t.Errorf("Contains(%s) = false, want true", a)
		}
	}
	for _, a := range []string{"192.169.0.1", "172.32.0.1", "::ffff:172.32.0.1", "2001:db8::1"} {
		if s.Contains(netip.MustParseAddr(a)) {
			t.Errorf("Contains(%s) = true, want false", a)
		}
	}
	var zero Prefixes
	if zero.Contains(netip.MustParseAddr("10.0.0.1")) || zero.Len() != 0 {
		t.Error("the zero Prefixes trusts something")
	}
}

func TestNewPrefixesErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     []netip.Prefix
		index  int
		reason string
	}{
		{"zero prefix", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}}, 1, "invalid prefix"},
		{"bits out of range", []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("10.0.0.0"), 33)}, 0, "invalid prefix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewPrefixes(tc.in)
			var pe *PrefixError
			if !errors.As(err, &pe) || !errors.Is(err, ErrPrefix) {
				t.Fatalf("NewPrefixes = %v, %v; want a *PrefixError wrapping ErrPrefix", s, err)
			}
			if pe.Index != tc.index || !strings.Contains(pe.Reason, tc.reason) {
				t.Fatalf("error %+v, want index %d and reason containing %q", pe, tc.index, tc.reason)
			}
			if s.Len() != 0 {
				t.Fatalf("a failed NewPrefixes returned %d prefixes", s.Len())
			}
		})
	}
}

func TestWalkForwarded(t *testing.T) {
	t.Parallel()
	const proxy = "10.0.0.1"
	cases := []struct {
		name    string
		peer    string
		header  string
		client  string
		vouched int
	}{
		{"untrusted peer", "198.51.100.9", "for=203.0.113.5", "198.51.100.9", 0},
		{"trusted peer, no header", proxy, "", proxy, 0},
		{"one hop", proxy, "for=203.0.113.5;host=a", "203.0.113.5", 1},
		{"trusted chain", proxy, `for=203.0.113.5, for=10.0.0.7, for="10.0.0.8:80"`, "203.0.113.5", 3},
		{"spoofed left of the client", proxy, "for=1.1.1.1, for=203.0.113.5, for=10.0.0.8", "203.0.113.5", 2},
		{"all hops trusted", proxy, "for=10.0.0.5, for=10.0.0.6", "10.0.0.5", 2},
		{"IPv6 client", "fd00::1", `for="[2001:db8::1]:443"`, "2001:db8::1", 1},
		{"mapped hop folds and is trusted", proxy, `for=203.0.113.5, for="[::ffff:10.0.0.8]"`, "203.0.113.5", 2},
		{"mapped peer", "::ffff:10.0.0.1", "for=203.0.113.5", "203.0.113.5", 1},
		{"unknown stops at the peer", proxy, "for=unknown", proxy, 1},
		{"obfuscated stops at the last trusted hop", proxy, "for=203.0.113.5, for=_x, for=10.0.0.7", "10.0.0.7", 2},
		{"missing for stops", proxy, "proto=https", proxy, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lines []string
			if tc.header != "" {
				lines = []string{tc.header}
			}
			els, err := Parse(lines)
			if err != nil {
				t.Fatal(err)
			}
			client, vouched := testTrusted.WalkForwarded(netip.MustParseAddr(tc.peer), els)
			if client != netip.MustParseAddr(tc.client) || vouched != tc.vouched {
				t.Fatalf("WalkForwarded = %v, %d; want %s, %d", client, vouched, tc.client, tc.vouched)
			}
		})
	}
}

func TestWalkXFF(t *testing.T) {
	t.Parallel()
	const proxy = "10.0.0.1"
	cases := []struct {
		name  string
		peer  string
		lines []string
		want  string
	}{
		{"untrusted peer", "198.51.100.9", []string{"1.2.3.4"}, "198.51.100.9"},
		{"no header", proxy, nil, proxy},
		{"one hop", proxy, []string{"203.0.113.5"}, "203.0.113.5"},
		{"trusted chain", proxy, []string{"203.0.113.5, 10.0.0.7,10.0.0.8"}, "203.0.113.5"},
		{"spoofed left of the client", proxy, []string{"1.1.1.1, garbage, 203.0.113.5, 10.0.0.8"}, "203.0.113.5"},
		{"several lines", proxy, []string{"1.1.1.1, 203.0.113.5", "10.0.0.8"}, "203.0.113.5"},
		{"all trusted", proxy, []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"garbage mid chain", proxy, []string{"203.0.113.5, garbage, 10.0.0.8"}, "10.0.0.8"},
		{"empty element", proxy, []string{"203.0.113.5,, 10.0.0.8"}, "10.0.0.8"},
		{"trailing comma", proxy, []string{"203.0.113.5,"}, proxy},
		{"empty line", proxy, []string{""}, proxy},
		{"mapped trusted hop cannot alias", proxy, []string{"203.0.113.5, ::ffff:10.0.0.8"}, "203.0.113.5"},
		{"zone dropped", proxy, []string{"fe80::1%eth0"}, "fe80::1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := testTrusted.WalkXFF(netip.MustParseAddr(tc.peer), tc.lines)
			if got != netip.MustParseAddr(tc.want) {
				t.Fatalf("WalkXFF(%q) = %v, want %s", tc.lines, got, tc.want)
			}
		})
	}
}

// TestWalkXFFDoesNotAllocate keeps the promise of WalkXFF's doc comment.
func TestWalkXFFDoesNotAllocate(t *testing.T) {
	lines := []string{"1.1.1.1, 203.0.113.5", "[2001:db8::1]:443, 10.0.0.7", "10.0.0.8"}
	peer := netip.MustParseAddr("10.0.0.1")
	if n := testing.AllocsPerRun(100, func() { testTrusted.WalkXFF(peer, lines) }); n != 0 {
		t.Fatalf("WalkXFF allocates %v times per run", n)
	}
}
