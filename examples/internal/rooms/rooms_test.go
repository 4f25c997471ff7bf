package rooms

import (
	"strings"
	"testing"
	"unicode/utf8"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestValidRoom(t *testing.T) {
	cases := []struct {
		name string
		room string
		ok   bool
	}{
		{"plain", "lobby", true},
		{"unicode", "salle de séjour", true},
		{"64 runes", strings.Repeat("é", 64), true},
		{"empty", "", false},
		{"spaces", "   ", false},
		{"65 runes", strings.Repeat("r", 65), false},
		{"newline", "a\nb", false},
		{"DEL", "a\x7fb", false},
		{"invalid UTF-8", "a\xffb", false},
	}
	for _, tc := range cases {
		if got := ValidRoom(tc.room); got != tc.ok {
			t.Errorf("%s: ValidRoom(%q) = %v, want %v", tc.name, tc.room, got, tc.ok)
		}
	}
}

// FuzzValidRoom checks that every room name a client can get accepted is
// printable UTF-8 of bounded length.
func FuzzValidRoom(f *testing.F) {
	for _, s := range []string{"lobby", "", " ", "a\x00", "é", strings.Repeat("x", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidRoom(s) {
			return
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxRoom || strings.TrimSpace(s) == "" {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range s {
			if r < ' ' || r == 0x7f {
				t.Fatalf("accepted %q with a control character", s)
			}
		}
	})
}
