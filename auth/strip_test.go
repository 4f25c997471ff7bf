package auth_test

import (
	"net/http"
	"reflect"
	"testing"

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
