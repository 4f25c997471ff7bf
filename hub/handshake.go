package hub

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// HandshakeError is Accept's answer to a request that is not a valid
// WebSocket opening handshake (RFC 6455 section 4.2.1): 400 Bad Request,
// or 426 Upgrade Required with Sec-WebSocket-Version: 13 for a version
// other than 13. Accept has written it to the client when it returns one.
type HandshakeError struct {
	Status int
	Reason string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("hub: invalid handshake (%d): %s", e.Status, e.Reason)
}

// Header returns the response headers the refusal carries: the versions
// the server speaks, on a 426, and Connection: close, so that net/http
// answers at once instead of first reading a body the request declared
// (and may never send).
func (e *HandshakeError) Header() http.Header {
	h := http.Header{"Connection": {"close"}}
	if e.Status == http.StatusUpgradeRequired {
		h.Set("Sec-Websocket-Version", "13")
	}
	return h
}

// write sends the refusal.
func (e *HandshakeError) write(w http.ResponseWriter) {
	for k, vs := range e.Header() {
		w.Header()[k] = vs
	}
	http.Error(w, e.Reason, e.Status)
}

// CheckHandshake applies the rules of an opening handshake (RFC 6455
// section 4.2.1) to r and returns the refusal for the first one r breaks,
// or nil. Accept applies it to every request; the middleware package
// applies it earlier in its chain, so a bad request is refused before any
// token is verified. A handshake has no body: one declared with
// Content-Length or Transfer-Encoding is refused, since its bytes would
// otherwise be read as WebSocket frames.
func CheckHandshake(r *http.Request) *HandshakeError {
	bad := func(reason string) *HandshakeError {
		return &HandshakeError{Status: http.StatusBadRequest, Reason: reason}
	}
	switch {
	case !r.ProtoAtLeast(1, 1):
		return bad("WebSocket needs HTTP/1.1 or later")
	case r.Method != http.MethodGet:
		return bad("WebSocket handshake must use GET")
	case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
		return bad("WebSocket handshake must not have a body")
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return bad("missing Upgrade: websocket")
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return bad("missing Connection: Upgrade")
	case r.Host == "":
		return bad("missing Host")
	case !validKey(r.Header.Values("Sec-Websocket-Key")):
		return bad("Sec-WebSocket-Key must be the base64 of 16 bytes")
	case r.Header.Get("Sec-Websocket-Version") != "13" || len(r.Header.Values("Sec-Websocket-Version")) != 1:
		return &HandshakeError{Status: http.StatusUpgradeRequired, Reason: "unsupported WebSocket version: only 13 is supported"}
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
