package origin

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

type fe = forwardedElement

func TestParseForwarded(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		lines []string
		want  []fe
	}{
		{"empty header", []string{""}, nil},
		{"one pair", []string{"for=192.0.2.60"}, []fe{{forNode: "192.0.2.60"}}},
		{"all pairs", []string{"for=192.0.2.60;proto=http;by=203.0.113.43;host=example.com"},
			[]fe{{forNode: "192.0.2.60", proto: "http", by: "203.0.113.43", host: "example.com"}}},
		{"case-insensitive names", []string{"FOR=a;Host=b;pRoTo=c"}, []fe{{forNode: "a", host: "b", proto: "c"}}},
		{"quoted IPv6 with port", []string{`for="[2001:db8:cafe::17]:4711"`}, []fe{{forNode: "[2001:db8:cafe::17]:4711"}}},
		{"quoted with escapes", []string{`host="a\"b\\c"`}, []fe{{host: `a"b\c`}}},
		{"quoted empty", []string{`host=""`}, []fe{{}}},
		{"quoted separators", []string{`host="a;b,c"`}, []fe{{host: "a;b,c"}}},
		{"list of elements", []string{"for=192.0.2.43, for=198.51.100.17"}, []fe{{forNode: "192.0.2.43"}, {forNode: "198.51.100.17"}}},
		{"whitespace around separators", []string{" for=a ; host=b ,\tfor=c "}, []fe{{forNode: "a", host: "b"}, {forNode: "c"}}},
		{"empty elements skipped", []string{",,for=a,,"}, []fe{{forNode: "a"}}},
		{"empty pairs skipped", []string{";;for=a;;host=b;"}, []fe{{forNode: "a", host: "b"}}},
		{"extension parameter dropped", []string{"for=a;secret=xyz;ext=\"q\""}, []fe{{forNode: "a"}}},
		{"only extension parameter", []string{"ext=1"}, []fe{{}}},
		{"repeated extension parameter", []string{"ext=1;ext=2"}, []fe{{}}},
		{"two lines", []string{"for=a", "for=b;host=c"}, []fe{{forNode: "a"}, {forNode: "b", host: "c"}}},
		{"obfuscated node", []string{"for=_hidden;by=unknown"}, []fe{{forNode: "_hidden", by: "unknown"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseForwarded(tc.lines)
			if err != nil {
				t.Fatalf("parseForwarded(%q): %v", tc.lines, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseForwarded(%q) = %+v, want %+v", tc.lines, got, tc.want)
			}
		})
	}
}

func TestParseForwardedErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		lines []string
		want  error
	}{
		{"no value", []string{"for="}, errFwdValue},
		{"no equals", []string{"for"}, errFwdEquals},
		{"no name", []string{"=a"}, errFwdName},
		{"space before equals", []string{"for =a"}, errFwdEquals},
		{"space after equals", []string{"for= a"}, errFwdValue},
		{"unquoted IPv6", []string{"for=[2001:db8::1]"}, errFwdValue},
		{"unquoted host with port", []string{"host=example.com:8080"}, errFwdSep},
		{"unterminated quote", []string{`host="example.com`}, errFwdQuoted},
		{"quote across lines", []string{`host="a`, `b"`}, errFwdQuoted},
		{"dangling escape", []string{`host="a\`}, errFwdQuoted},
		{"escaped control", []string{"host=\"a\\\x01\""}, errFwdQuoted},
		{"control in quotes", []string{"host=\"a\x00b\""}, errFwdQuoted},
		{"junk after quoted", []string{`host="a"b`}, errFwdSep},
		{"junk after token", []string{"host=a b"}, errFwdSep},
		{"repeated for", []string{"for=a;for=b"}, errFwdRepeated},
		{"repeated host, other case", []string{"host=a;HOST=b"}, errFwdRepeated},
		{"too many elements", []string{strings.Repeat("for=a,", maxForwardedElements+1)}, errFwdTooMany},
		{"too many over lines", append(make([]string, 0), strings.Repeat("for=a,", maxForwardedElements), "for=b"), errFwdTooMany},
		{"error on a later line", []string{"for=a", "for"}, errFwdEquals},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseForwarded(tc.lines)
			if !errors.Is(err, tc.want) {
				t.Fatalf("parseForwarded(%q) = %+v, %v; want error %v", tc.lines, got, err, tc.want)
			}
		})
	}
}

func TestParseNode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string // "" when not an address
	}{
		{"192.0.2.43", "192.0.2.43"},
		{"192.0.2.43:47011", "192.0.2.43"},
		{"192.0.2.43:_port", "192.0.2.43"},
		{"[2001:db8:cafe::17]", "2001:db8:cafe::17"},
		{"[2001:db8:cafe::17]:4711", "2001:db8:cafe::17"},
		{"[::ffff:10.0.0.1]", "10.0.0.1"},
		{"unknown", ""},
		{"_hidden", ""},
		{"", ""},
		{"[2001:db8::1", ""},
		{"[2001:db8::1]x", ""},
		{"[192.0.2.1]", ""},
		{"2001:db8::1", ""},
		{"[fe80::1%eth0]", ""},
		{"example.com", ""},
	}
	for _, tc := range cases {
		got, ok := parseNode(tc.in)
		switch {
		case tc.want == "" && ok:
			t.Errorf("parseNode(%q) = %v, want not an address", tc.in, got)
		case tc.want != "" && (!ok || got != netip.MustParseAddr(tc.want)):
			t.Errorf("parseNode(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}

// serializeForwarded writes elements back as one Forwarded line, every value
// quoted. Used by the fuzz round trip.
func serializeForwarded(els []forwardedElement) string {
	q := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	var b strings.Builder
	for i, e := range els {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "for=%s;by=%s;host=%s;proto=%s", q(e.forNode), q(e.by), q(e.host), q(e.proto))
	}
	return b.String()
}
