package middleware

import (
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// IsWebSocket reports whether r asks for a WebSocket upgrade: its Upgrade
// header names "websocket". It does not check that the handshake is valid;
// the handler does (hub.CheckHandshake), and answers an invalid one with
// 400 or 426.
func IsWebSocket(r *http.Request) bool {
	return httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket")
}

// offeredProtocols returns the subprotocols the client offered.
func offeredProtocols(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Sec-Websocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// selectProtocol returns the first of ours (our order of preference) that
// the client offered, or "".
func selectProtocol(ours, offered []string) string {
	for _, p := range ours {
		for _, o := range offered {
			if p == o {
				return p
			}
		}
	}
	return ""
}
