package forwarded

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type el = Element

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		lines []string
		want  []el
	}{
		{"no lines", nil, nil},
		{"empty header", []string{""}, nil},
		{"one pair", []string{"for=192.0.2.60"}, []el{{For: "192.0.2.60"}}},
		{"all pairs", []string{"for=192.0.2.60;proto=http;by=203.0.113.43;host=example.com"},
			[]el{{For: "192.0.2.60", Proto: "http", By: "203.0.113.43", Host: "example.com"}}},
		{"case-insensitive names", []string{"FOR=a;Host=b;pRoTo=c"}, []el{{For: "a", Host: "b", Proto: "c"}}},
		{"quoted IPv6 with port", []string{`for="[2001:db8:cafe::17]:4711"`}, []el{{For: "[2001:db8:cafe::17]:4711"}}},
		{"quoted with escapes", []string{`host="a\"b\\c"`}, []el{{Host: `a"b\c`}}},
		{"escaped brackets", []string{`for="\[2001:db8::1\]"`}, []el{{For: "[2001:db8::1]"}}},
		{"quoted empty", []string{`host=""`}, []el{{}}},
		{"quoted separators", []string{`host="a;b,c"`}, []el{{Host: "a;b,c"}}},
		{"obs-text in quotes", []string{"host=\"caf\xc3\xa9\""}, []el{{Host: "caf\xc3\xa9"}}},
		{"list of elements", []string{"for=192.0.2.43, for=198.51.100.17"}, []el{{For: "192.0.2.43"}, {For: "198.51.100.17"}}},
		{"whitespace around separators", []string{" for=a ; host=b ,\tfor=c "}, []el{{For: "a", Host: "b"}, {For: "c"}}},
		{"empty elements skipped", []string{",,for=a,,"}, []el{{For: "a"}}},
		{"empty pairs skipped", []string{";;for=a;;host=b;"}, []el{{For: "a", Host: "b"}}},
		{"extension parameter dropped", []string{"for=a;secret=xyz;ext=\"q\""}, []el{{For: "a"}}},
		{"only extension parameter", []string{"ext=1"}, []el{{}}},
		{"repeated extension parameter", []string{"ext=1;ext=2"}, []el{{}}},
		{"two lines", []string{"for=a", "for=b;host=c"}, []el{{For: "a"}, {For: "b", Host: "c"}}},
		{"obfuscated node", []string{"for=_hidden;by=unknown"}, []el{{For: "_hidden", By: "unknown"}}},
		{"at the element bound", []string{strings.Repeat("for=a,", MaxElements)}, manyFor("a", MaxElements)},
		{"at the byte bound", []string{"host=" + strings.Repeat("a", MaxBytes-len("host="))}, []el{{Host: strings.Repeat("a", MaxBytes-len("host="))}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.lines)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.lines, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.lines, got, tc.want)
			}
		})
	}
}

func manyFor(node string, n int) []el {
	out := make([]el, n)
	for i := range out {
		out[i].For = node
	}
	return out
}

// TestParseErrors: every refusal fails the whole header, with the error
// that names the problem.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		lines []string
		want  error // a specific error; all syntax errors also match ErrSyntax
	}{
		{"no value", []string{"for="}, errValue},
		{"no equals", []string{"for"}, errEquals},
		{"no name", []string{"=a"}, errName},
		{"space before equals", []string{"for =a"}, errEquals},
		{"space after equals", []string{"for= a"}, errValue},
		{"unquoted IPv6", []string{"for=[2001:db8::1]"}, errValue},
		{"unquoted IPv4 with port", []string{"for=192.0.2.1:8080"}, errSep},
		{"unquoted host with port", []string{"host=example.com:8080"}, errSep},
		{"unterminated quote", []string{`host="example.com`}, errQuoted},
		{"quote across lines", []string{`host="a`, `b"`}, errQuoted},
		{"dangling escape", []string{`host="a\`}, errQuoted},
		{"escaped control", []string{"host=\"a\\\x01\""}, errQuoted},
		{"control in quotes", []string{"host=\"a\x00b\""}, errQuoted},
		{"junk after quoted", []string{`host="a"b`}, errSep},
		{"junk after token", []string{"host=a b"}, errSep},
		{"repeated for", []string{"for=a;for=b"}, errRepeated},
		{"repeated host, other case", []string{"host=a;HOST=b"}, errRepeated},
		{"too many elements", []string{strings.Repeat("for=a,", MaxElements+1)}, ErrTooMany},
		{"too many over lines", []string{strings.Repeat("for=a,", MaxElements), "for=b"}, ErrTooMany},
		{"too long", []string{"host=" + strings.Repeat("a", MaxBytes-len("host=")+1)}, ErrTooLong},
		{"too long over lines", []string{"for=a", strings.Repeat(",", MaxBytes)}, ErrTooLong},
		{"error on a later line", []string{"for=a", "for"}, errEquals},
		{"good elements before an error", []string{"for=192.0.2.1, for=192.0.2.2, garbage"}, errEquals},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.lines)
			if !errors.Is(err, tc.want) || got != nil {
				t.Fatalf("Parse(%q) = %+v, %v; want no elements and error %v", tc.lines, got, err, tc.want)
			}
			if _, ok := tc.want.(syntaxError); ok && !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not match ErrSyntax", tc.lines, err)
			}
		})
	}
}

// serialize writes elements back as one Forwarded line, every value
// quoted. Used by the fuzz round trip.
func serialize(els []Element) string {
	q := func(s string) string {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	var b strings.Builder
	for i, e := range els {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "for=%s;by=%s;host=%s;proto=%s", q(e.For), q(e.By), q(e.Host), q(e.Proto))
	}
	return b.String()
}
