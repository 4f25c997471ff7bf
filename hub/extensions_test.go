package hub

import (
	"bytes"
	"strings"
	"testing"
)

// negotiate runs the negotiation on header lines; "" means declined.
func negotiate(offers []string, c Compression) (Deflate, string) {
	p, resp, ok := negotiateDeflate(offers, &c)
	if !ok {
		return Deflate{}, ""
	}
	return p, resp
}

const (
	noTakeover = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
)

func TestNegotiateDeflate(t *testing.T) {
	cases := []struct {
		name   string
		offers []string // header lines
		want   string   // the response; "" means declined
	}{
		{"browser offer", []string{"permessage-deflate; client_max_window_bits"}, noTakeover},
		{"all parameters", []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=9"}, noTakeover + "; server_max_window_bits=15"},
		{"quoted value", []string{`permessage-deflate; client_max_window_bits="10"`}, noTakeover},
		{"quoted-pair", []string{`permessage-deflate; client_max_window_bits="1\5"`}, noTakeover},
		{"tabs and spaces", []string{"permessage-deflate\t;\tclient_max_window_bits = 12 ,"}, noTakeover},
		{"server window below 15", []string{"permessage-deflate; server_max_window_bits=10"}, noTakeover + "; server_max_window_bits=10"},
		{"server window 8", []string{"permessage-deflate; server_max_window_bits=8"}, noTakeover + "; server_max_window_bits=8"},
		{"first of two offers", []string{"permessage-deflate; server_max_window_bits=12, permessage-deflate; client_max_window_bits"}, noTakeover + "; server_max_window_bits=12"},
		{"bad offer then good", []string{"permessage-deflate; mux, permessage-deflate"}, noTakeover},
		{"second line", []string{"x-webkit-deflate-frame", "permessage-deflate"}, noTakeover},
		{"empty elements", []string{", ,permessage-deflate,,"}, noTakeover},
		{"other extension only", []string{"x-webkit-deflate-frame"}, ""},
		{"server window without value", []string{"permessage-deflate; server_max_window_bits"}, ""},
		{"server window 16", []string{"permessage-deflate; server_max_window_bits=16"}, ""},
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
			if _, got := negotiate(tc.offers, Compression{Enabled: true}); got != tc.want {
				t.Fatalf("%q answered %q, want %q", tc.offers, got, tc.want)
			}
		})
	}
}

// TestNegotiateContextTakeover follows RFC 7692 section 7.1 with context
// takeover on: who takes over, which windows, what the response says.
func TestNegotiateContextTakeover(t *testing.T) {
	const pmd = "permessage-deflate"
	takeover := Compression{Enabled: true, ContextTakeover: true}
	small := Compression{Enabled: true, ContextTakeover: true, WindowBits: 12, ClientWindowBits: 11}
	cases := []struct {
		name  string
		offer string
		c     Compression
		want  string
		p     Deflate // WindowBytes is checked against the rest
	}{
		{"bare offer", pmd, takeover, pmd,
			Deflate{ServerContextTakeover: true, ClientContextTakeover: true, ServerWindowBits: 15, ClientWindowBits: 15}},
		{"Chromium and Node ws", pmd + "; client_max_window_bits", takeover, pmd,
			Deflate{ServerContextTakeover: true, ClientContextTakeover: true, ServerWindowBits: 15, ClientWindowBits: 15}},
		{"client refuses ours", pmd + "; server_no_context_takeover", takeover, pmd + "; server_no_context_takeover",
			Deflate{ClientContextTakeover: true, ServerWindowBits: 15, ClientWindowBits: 15}},
		{"client gives up its own", pmd + "; client_no_context_takeover", takeover, pmd + "; client_no_context_takeover",
			Deflate{ServerContextTakeover: true, ServerWindowBits: 15, ClientWindowBits: 15}},
		{"client's smaller server window wins", pmd + "; server_max_window_bits=10", small, pmd + "; client_no_context_takeover; server_max_window_bits=10",
			Deflate{ServerContextTakeover: true, ServerWindowBits: 10, ClientWindowBits: 15}},
		{"our smaller server window", pmd + "; server_max_window_bits=14", small, pmd + "; client_no_context_takeover; server_max_window_bits=12",
			Deflate{ServerContextTakeover: true, ServerWindowBits: 12, ClientWindowBits: 15}},
		{"server window unasked stays unsaid", pmd + "; client_max_window_bits", small, pmd + "; client_max_window_bits=11",
			Deflate{ServerContextTakeover: true, ClientContextTakeover: true, ServerWindowBits: 12, ClientWindowBits: 11}},
		{"client window below our bound", pmd + "; client_max_window_bits=9", small, pmd,
			Deflate{ServerContextTakeover: true, ClientContextTakeover: true, ServerWindowBits: 12, ClientWindowBits: 9}},
		{"client window above our bound", pmd + "; client_max_window_bits=13", small, pmd + "; client_max_window_bits=11",
			Deflate{ServerContextTakeover: true, ClientContextTakeover: true, ServerWindowBits: 12, ClientWindowBits: 11}},
		{"client window cannot be bounded", pmd, small, pmd + "; client_no_context_takeover",
			Deflate{ServerContextTakeover: true, ServerWindowBits: 12, ClientWindowBits: 15}},
		{"Python websockets", pmd + "; server_max_window_bits=12; client_max_window_bits=12", takeover, pmd + "; server_max_window_bits=12",
			Deflate{ServerContextTakeover: true, ClientContextTakeover: true, ServerWindowBits: 12, ClientWindowBits: 12}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, got := negotiate([]string{tc.offer}, tc.c)
			want := tc.p
			want.WindowBytes = p.WindowBytes
			if got != tc.want || p != want {
				t.Fatalf("%q answered %q %+v, want %q %+v", tc.offer, got, p, tc.want, want)
			}
			// The answer is one well-formed permessage-deflate extension.
			n := 0
			if !scanExtensions(got, func(name string, _ []extParam) bool { n++; return name == pmd }) || n != 1 {
				t.Fatalf("answer %q is not one permessage-deflate extension", got)
			}
			wantBytes := 0
			if p.ServerContextTakeover {
				wantBytes += 1 << p.ServerWindowBits
			}
			if p.ClientContextTakeover {
				wantBytes += 1 << p.ClientWindowBits
			}
			if p.WindowBytes != wantBytes {
				t.Fatalf("WindowBytes %d, want %d", p.WindowBytes, wantBytes)
			}
		})
	}
}

func TestRemember(t *testing.T) {
	var w []byte
	var all []byte
	for i, n := range []int{3, 0, 5, 9, 1, 20, 2, 7} {
		msg := bytes.Repeat([]byte{byte('a' + i)}, n)
		all = append(all, msg...)
		w = remember(w, msg, 8)
		want := all[max(0, len(all)-8):]
		if !bytes.Equal(w, want) || cap(w) > 8 {
			t.Fatalf("after %d: window %q (cap %d), want %q", i, w, cap(w), want)
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
		c := Compression{Enabled: true, ContextTakeover: true, WindowBits: 12, ClientWindowBits: 10}
		p, resp, ok := negotiateDeflate([]string{v}, &c)
		if ok {
			// The answer is one extension with valid, unrepeated parameters
			// and windows within what was configured.
			n := 0
			valid := scanExtensions(resp, func(name string, params []extParam) bool {
				n++
				_, good := parseDeflateOffer(params)
				return name == "permessage-deflate" && good
			})
			if !valid || n != 1 {
				t.Fatalf("%q answered with %q", v, resp)
			}
			if p.ServerWindowBits < 8 || p.ServerWindowBits > 12 || p.ClientWindowBits < 8 || p.ClientWindowBits > 15 || p.ClientContextTakeover && p.ClientWindowBits > 10 {
				t.Fatalf("%q: windows out of bounds: %+v", v, p)
			}
		}
		// A well-formed value written back in canonical form parses to
		// the same extensions and gets the same answer.
		canon, wellFormed := formatExtensions(v)
		if !wellFormed {
			return
		}
		again, wellFormed := formatExtensions(canon)
		if !wellFormed || again != canon {
			t.Fatalf("%q → %q → %q (ok=%v)", v, canon, again, wellFormed)
		}
		p2, resp2, ok2 := negotiateDeflate([]string{canon}, &c)
		if ok2 != ok || resp2 != resp || p2 != p {
			t.Fatalf("%q and its canonical form %q get different answers: %q, %q", v, canon, resp, resp2)
		}
	})
}
