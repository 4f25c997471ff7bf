package natsbroker_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/hub/natsbroker"
)

func TestEncodeTokenRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []string{"", "lobby", "a.b", "*", ">", "a b", "ünï", "日本語", "_", "_2E", "a-b_c", "$SYS.>", "\x00\xff", "tab\tnl\n", strings.Repeat("é", 256)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		cases = append(cases, string(b))
	}
	seen := make(map[string]string, len(cases))
	for _, s := range cases {
		tok := natsbroker.EncodeToken(s)
		if tok == "" || strings.ContainsAny(tok, ".*> \t\r\n") || tok == "*" || tok == ">" {
			t.Fatalf("EncodeToken(%q) = %q: not one literal NATS token", s, tok)
		}
		for _, c := range []byte(tok) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("EncodeToken(%q) = %q has byte %q", s, tok, c)
			}
		}
		back, err := natsbroker.DecodeToken(tok)
		if err != nil || back != s {
			t.Fatalf("DecodeToken(EncodeToken(%q)) = %q, %v", s, back, err)
		}
		if other, dup := seen[tok]; dup && other != s {
			t.Fatalf("%q and %q both encode to %q", s, other, tok)
		}
		seen[tok] = s
	}
}

func TestDecodeTokenRefusals(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{"", "_4", "_41", "_2e", "_ZZ", "a.b", "*", ">", "a b", "ü", "a_"} {
		if s, err := natsbroker.DecodeToken(tok); !errors.Is(err, natsbroker.ErrUnroutable) {
			t.Errorf("DecodeToken(%q) = %q, %v; want ErrUnroutable", tok, s, err)
		}
	}
}
