package auth_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/auth"
)

func TestStripProtocolToken(t *testing.T) {
	const p = auth.DefaultProtocolPrefix
	tests := []struct {
		name string
		in   []string
		want []string // nil: header deleted
	}{
		{"absent", nil, nil},
		{"only token", []string{p + "abc"}, nil},
		{"token last", []string{"chat.v1, " + p + "abc"}, []string{"chat.v1"}},
		{"token first", []string{p + "abc,chat.v1,chat.v2"}, []string{"chat.v1, chat.v2"}},
		{"several lines", []string{"chat.v1", p + "abc", " chat.v2 "}, []string{"chat.v1, chat.v2"}},
		{"two tokens", []string{p + "a, chat.v1, " + p + "b"}, []string{"chat.v1"}},
		{"no token untouched", []string{"chat.v1,chat.v2"}, []string{"chat.v1,chat.v2"}},
		{"no token, lines joined", []string{"chat.v1", "chat.v2"}, []string{"chat.v1, chat.v2"}},
		{"prefix alone", []string{p}, nil},
		{"similar name kept", []string{"base64url.bearer.authorizatio", "chat.v1"}, []string{"base64url.bearer.authorizatio, chat.v1"}},
		{"empty entries dropped", []string{" , " + p + "x ,, chat.v1"}, []string{"chat.v1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Other": {"x"}}
			if tc.in != nil {
				h["Sec-Websocket-Protocol"] = append([]string(nil), tc.in...)
			}
			auth.StripProtocolToken(h, p)
			if got := h["Sec-Websocket-Protocol"]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if h.Get("Other") != "x" {
				t.Error("other header touched")
			}
		})
	}
	h := http.Header{"Sec-Websocket-Protocol": {"x"}}
	auth.StripProtocolToken(h, "")
	if h.Get("Sec-WebSocket-Protocol") != "x" {
		t.Error("empty prefix stripped entries")
	}
}

// TestQueryTokenStrippedWhenHeaderWins: with FromQuery configured, a query
// token is removed from the request next sees even when the header token
// was the one verified.
func TestQueryTokenStrippedWhenHeaderWins(t *testing.T) {
	cfg := mainConfig()
	cfg.Sources = []auth.Source{auth.FromHeader, auth.FromQuery}
	v := newVerifier(t, cfg)
	tok := sign(t, jwt.SigningMethodHS256, testKeys().hmac, "", claims(nil))
	var seen string
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.URL.RawQuery + " " + r.RequestURI
	}))
	r := httptest.NewRequest(http.MethodGet, "/ws?room=a&access_token=other-secret", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if strings.Contains(seen, "other-secret") || !strings.Contains(seen, "room=a") {
		t.Fatalf("next saw %q; want the query token removed and the rest kept", seen)
	}
}
