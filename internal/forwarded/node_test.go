package forwarded

import (
	"net/netip"
	"testing"
)

func TestParseNode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string // "" when not an address
	}{
		{"192.0.2.43", "192.0.2.43"},
		{"192.0.2.43:47011", "192.0.2.43"},
		{"192.0.2.43:0", "192.0.2.43"},
		{"192.0.2.43:_port", "192.0.2.43"},
		{"192.0.2.43:_a.b-c_1", "192.0.2.43"},
		{"[2001:db8:cafe::17]", "2001:db8:cafe::17"},
		{"[2001:db8:cafe::17]:4711", "2001:db8:cafe::17"},
		{"[2001:db8:cafe::17]:_p", "2001:db8:cafe::17"},
		{"[::ffff:10.0.0.1]", "10.0.0.1"},
		{"unknown", ""},
		{"_hidden", ""},
		{"", ""},
		{"192.0.2.43:", ""},
		{"192.0.2.43:123456", ""},
		{"192.0.2.43:80x", ""},
		{"192.0.2.43:_", ""},
		{"192.0.2.43:_a/b", ""},
		{"192.0.2.43:80:80", ""},
		{"[2001:db8::1]:", ""},
		{"[2001:db8::1]:port", ""},
		{"[2001:db8::1", ""},
		{"[2001:db8::1]x", ""},
		{"[192.0.2.1]", ""},
		{"2001:db8::1", ""},
		{"[fe80::1%eth0]", ""},
		{"example.com", ""},
		{"192.0.2", ""},
	}
	for _, tc := range cases {
		got, ok := ParseNode(tc.in)
		switch {
		case tc.want == "" && ok:
			t.Errorf("ParseNode(%q) = %v, want not an address", tc.in, got)
		case tc.want != "" && (!ok || got != netip.MustParseAddr(tc.want)):
			t.Errorf("ParseNode(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}

func TestParseAddr(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string // "" when not an address
	}{
		{"203.0.113.5", "203.0.113.5"},
		{" 203.0.113.5\t", "203.0.113.5"},
		{"203.0.113.5:4711", "203.0.113.5"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"fe80::1%eth0", "fe80::1"},
		{"::ffff:203.0.113.5", "203.0.113.5"},
		{"[::ffff:203.0.113.5]:80", "203.0.113.5"},
		{"", ""},
		{"unknown", ""},
		{"client.example.com", ""},
		{"[203.0.113.5]", ""},
		{"203.0.113.5, 10.0.0.1", ""},
	}
	for _, tc := range cases {
		got, ok := ParseAddr(tc.in)
		switch {
		case tc.want == "" && ok:
			t.Errorf("ParseAddr(%q) = %v, want not an address", tc.in, got)
		case tc.want != "" && (!ok || got != netip.MustParseAddr(tc.want)):
			t.Errorf("ParseAddr(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}

func TestParseRemoteAddr(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
	}{
		{"10.0.0.1:4711", "10.0.0.1"},
		{"10.0.0.1", "10.0.0.1"},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1"},
		{"[fe80::1%eth0]:80", "fe80::1"},
		{"pipe", ""},
		{"@", ""},
		{"", ""},
	}
	for _, tc := range cases {
		got, ok := ParseRemoteAddr(tc.in)
		switch {
		case tc.want == "" && ok:
			t.Errorf("ParseRemoteAddr(%q) = %v, want not an address", tc.in, got)
		case tc.want != "" && (!ok || got != netip.MustParseAddr(tc.want)):
			t.Errorf("ParseRemoteAddr(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}
