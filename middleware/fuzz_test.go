package middleware

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/hub"
)

// FuzzHandshake feeds arbitrary handshake headers to hub.CheckHandshake,
// offeredProtocols and selectProtocol. None may panic; a request that
// passes it really is a GET over HTTP/1.1+ with one 16-byte
// base64 key and version 13; the selected subprotocol is our most preferred
// one among those offered.
//
// keys, versions and protocols hold one header value per NUL-separated
// part, so duplicate headers are explored; ours is comma-separated.
func FuzzHandshake(f *testing.F) {
	f.Add("GET", 1, 1, "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13", "chat.v1, chat.v2", "chat.v2,chat.v1")
	f.Add("GET", 1, 0, "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13", "", "")
	f.Add("GET", 1, 1, "WebSocket", "keep-alive, upgrade", "dGhlIHNhbXBsZSBub25jZQ==\x00AQIDBAUGBwgJCgsMDQ4PEA==", "13", "a", "a")
	f.Add("GET", 1, 1, "websocket", "Upgrade", "AAAAAAAAAAAAAAAAAAAAAAAA", "8\x0013", ",,x, ,", "x")
	f.Add("POST", 2, 0, "h2c", "", " dGhlIHNhbXBsZSBub25jZQ== ", "", "base64url.bearer.authorization.eHl6", "chat")
	f.Fuzz(func(t *testing.T, method string, major, minor int, upgrade, connection, keys, versions, protocols, ours string) {
		h := http.Header{}
		h.Set("Upgrade", upgrade)
		h.Set("Connection", connection)
		for _, k := range strings.Split(keys, "\x00") {
			h.Add("Sec-WebSocket-Key", k)
		}
		if versions != "" {
			for _, v := range strings.Split(versions, "\x00") {
				h.Add("Sec-WebSocket-Version", v)
			}
		}
		for _, p := range strings.Split(protocols, "\x00") {
			h.Add("Sec-WebSocket-Protocol", p)
		}
		r := &http.Request{Method: method, ProtoMajor: major, ProtoMinor: minor, Header: h, Host: "example.test"}

		if ref := hub.CheckHandshake(r); ref != nil {
			switch ref.Status {
			case http.StatusBadRequest:
			case http.StatusUpgradeRequired:
				if got := ref.Header().Get("Sec-WebSocket-Version"); got != "13" {
					t.Fatalf("426 with Sec-WebSocket-Version %q", got)
				}
			default:
				t.Fatalf("refusal status %d", ref.Status)
			}
			if ref.Reason == "" {
				t.Fatal("refusal without a reason")
			}
		} else {
			if method != http.MethodGet || !r.ProtoAtLeast(1, 1) {
				t.Fatalf("accepted %s over HTTP/%d.%d", method, major, minor)
			}
			ks := h.Values("Sec-WebSocket-Key")
			if len(ks) != 1 {
				t.Fatalf("accepted %d keys", len(ks))
			}
			k := strings.TrimSpace(ks[0])
			if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != 16 || len(k) != 24 {
				t.Fatalf("accepted key %q", ks[0])
			}
			if vs := h.Values("Sec-WebSocket-Version"); len(vs) != 1 || vs[0] != "13" {
				t.Fatalf("accepted versions %q", vs)
			}
		}

		offered := offeredProtocols(h)
		for _, p := range offered {
			if p == "" || p != strings.TrimSpace(p) || strings.Contains(p, ",") {
				t.Fatalf("offered entry %q", p)
			}
		}
		our := strings.Split(ours, ",")
		got := selectProtocol(our, offered)
		if got == "" {
			for _, p := range our {
				if p != "" && slices.Contains(offered, p) {
					t.Fatalf("selected none, but %q is ours and offered", p)
				}
			}
			return
		}
		i := slices.Index(our, got)
		if i < 0 || !slices.Contains(offered, got) {
			t.Fatalf("selected %q: ours %q, offered %q", got, our, offered)
		}
		for _, p := range our[:i] {
			if slices.Contains(offered, p) {
				t.Fatalf("selected %q over the preferred %q", got, p)
			}
		}
	})
}
