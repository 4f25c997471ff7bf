package hub

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestSanitizeExtensions(t *testing.T) {
	cases := []struct {
		name   string
		offers []string // header lines
		want   string   // resulting header; "" means removed
	}{
		{"browser offer", []string{"permessage-deflate; client_max_window_bits"}, deflateOffer},
		{"all parameters", []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=9"}, deflateOffer},
		{"quoted value", []string{`permessage-deflate; client_max_window_bits="10"`}, deflateOffer},
		{"quoted-pair", []string{`permessage-deflate; client_max_window_bits="1\5"`}, deflateOffer},
		{"tabs and spaces", []string{"permessage-deflate\t;\tclient_max_window_bits = 12 ,"}, deflateOffer},
		{"second offer", []string{"permessage-deflate; server_max_window_bits=12, permessage-deflate; client_max_window_bits"}, deflateOffer},
		{"second line", []string{"x-webkit-deflate-frame", "permessage-deflate"}, deflateOffer},
		{"empty elements", []string{", ,permessage-deflate,,"}, deflateOffer},
		{"other extension only", []string{"x-webkit-deflate-frame"}, ""},
		{"server window below 15", []string{"permessage-deflate; server_max_window_bits=14"}, ""},
		{"server window without value", []string{"permessage-deflate; server_max_window_bits"}, ""},
		{"client window 16", []string{"permessage-deflate; client_max_window_bits=16"}, ""},
		{"client window 7", []string{"permessage-deflate; client_max_window_bits=7"}, ""},
		{"leading zero", []string{"permessage-deflate; client_max_window_bits=09"}, ""},
		{"unknown parameter", []string{"permessage-deflate; mux"}, ""},
		{"repeated parameter", []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, ""},
		{"value on a flag", []string{`permessage-deflate; client_no_context_takeover=""`}, ""},
		{"uppercase name", []string{"Permessage-Deflate"}, ""},
		{"uppercase parameter", []string{"permessage-deflate; Client_Max_Window_Bits"}, ""},
		{"quoted non-token", []string{`permessage-deflate; client_max_window_bits="1 0"`}, ""},
		{"unterminated quote", []string{`permessage-deflate; client_max_window_bits="10`}, ""},
		{"empty parameter", []string{"permessage-deflate;"}, ""},
		{"garbage after offer", []string{"permessage-deflate garbage"}, ""},
		{"malformed after a good offer", []string{"permessage-deflate, ;x"}, ""},
		{"too many parameters", []string{"permessage-deflate" + strings.Repeat("; client_no_context_takeover", maxExtParams+1)}, ""},
		{"empty", []string{""}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			for _, o := range tc.offers {
				r.Header.Add("Sec-WebSocket-Extensions", o)
			}
			before := r.Header.Clone()
			got := sanitizeExtensions(r)
			if vals := got.Header.Values(extensionsHeader); tc.want == "" && len(vals) != 0 || tc.want != "" && !slices.Equal(vals, []string{tc.want}) {
				t.Fatalf("%q sanitized to %q, want %q", tc.offers, vals, tc.want)
			}
			if !slices.Equal(r.Header.Values(extensionsHeader), before.Values(extensionsHeader)) {
				t.Fatal("the caller's request was modified")
			}
		})
	}
}

func TestSanitizeExtensionsKeepsRequest(t *testing.T) {
	for _, offers := range [][]string{nil, {deflateOffer}} {
		r := httptest.NewRequest("GET", "/", nil)
		for _, o := range offers {
			r.Header.Add("Sec-WebSocket-Extensions", o)
		}
		if got := sanitizeExtensions(r); got != r {
			t.Errorf("%q: request copied, want it passed through", offers)
		}
	}
}

// formatExtensions writes parsed extensions back in canonical form.
func formatExtensions(v string) (string, bool) {
	var b strings.Builder
	ok := scanExtensions(v, func(name string, params []extParam) bool {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
		for _, p := range params {
			b.WriteString("; " + p.name)
			if p.hasValue {
				b.WriteString("=" + p.value)
			}
		}
		return true
	})
	return b.String(), ok
}

func FuzzExtensions(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate",
		"permessage-deflate; client_max_window_bits",
		`permessage-deflate; server_max_window_bits="15"; client_no_context_takeover`,
		"permessage-deflate; server_max_window_bits=10, permessage-deflate",
		"x-webkit-deflate-frame, permessage-deflate; foo",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Sec-WebSocket-Extensions", v)
		got := sanitizeExtensions(r)
		vals := got.Header.Values(extensionsHeader)
		switch {
		case len(vals) == 0:
		case len(vals) == 1 && vals[0] == deflateOffer:
			if sanitizeExtensions(got) != got {
				t.Fatal("sanitizing is not idempotent")
			}
		default:
			t.Fatalf("%q sanitized to %q", v, vals)
		}
		// A well-formed value written back in canonical form parses to
		// the same extensions and gets the same answer.
		canon, ok := formatExtensions(v)
		if !ok {
			return
		}
		again, ok := formatExtensions(canon)
		if !ok || again != canon {
			t.Fatalf("%q → %q → %q (ok=%v)", v, canon, again, ok)
		}
		if acceptableDeflateOffer([]string{v}) != acceptableDeflateOffer([]string{canon}) {
			t.Fatalf("%q and its canonical form %q get different answers", v, canon)
		}
	})
}
