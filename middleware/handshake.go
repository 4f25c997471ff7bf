package middleware

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// IsWebSocket reports whether r asks for a WebSocket upgrade: its Upgrade
// header names "websocket". It does not check that the handshake is valid;
// the handler does, and answers an invalid one with 400 or 426.
func IsWebSocket(r *http.Request) bool {
	return headerHasToken(r.Header, "Upgrade", "websocket")
}

// checkHandshake applies RFC 6455 section 4.2.1 to an upgrade request and
// returns the refusal for the first rule it breaks, or nil.
func checkHandshake(r *http.Request) *Refusal {
	switch {
	case !r.ProtoAtLeast(1, 1):
		return refuse(http.StatusBadRequest, "WebSocket needs HTTP/1.1 or later")
	case r.Method != http.MethodGet:
		return refuse(http.StatusBadRequest, "WebSocket handshake must use GET")
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return refuse(http.StatusBadRequest, "missing Upgrade: websocket")
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return refuse(http.StatusBadRequest, "missing Connection: Upgrade")
	case r.Host == "":
		return refuse(http.StatusBadRequest, "missing Host")
	case !validKey(r.Header.Values("Sec-Websocket-Key")):
		return refuse(http.StatusBadRequest, "Sec-WebSocket-Key must be the base64 of 16 bytes")
	case r.Header.Get("Sec-Websocket-Version") != "13" || len(r.Header.Values("Sec-Websocket-Version")) != 1:
		ref := refuse(http.StatusUpgradeRequired, "unsupported WebSocket version: only 13 is supported")
		ref.Header = http.Header{"Sec-Websocket-Version": {"13"}}
		return ref
	}
	return nil
}

func validKey(vals []string) bool {
	if len(vals) != 1 {
		return false
	}
	k := strings.TrimSpace(vals[0])
	if len(k) != 24 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(k)
	return err == nil && len(b) == 16
}

// headerHasToken reports whether a comma-separated header contains token,
// case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
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
