package auth

import (
	"encoding/base64"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Source says where in the upgrade request a token was found.
type Source int

// Token sources, tried in the order Config.Sources lists them.
const (
	// FromHeader is `Authorization: Bearer <token>` (RFC 6750 §2.1). Not
	// available to browsers' WebSocket API.
	FromHeader Source = iota + 1
	// FromProtocol is an entry `<ProtocolPrefix><base64url(token)>` in
	// Sec-WebSocket-Protocol, the one header a browser lets a page set on a
	// WebSocket handshake. The middleware removes the entry before the
	// upgrader sees the header.
	FromProtocol
	// FromCookie is the cookie named Config.CookieName.
	FromCookie
	// FromQuery is the URL query parameter Config.QueryParam. Never on by
	// default: URLs end up in access logs, proxies' logs and browser
	// history.
	FromQuery
)

// String returns "header", "protocol", "cookie" or "query".
func (s Source) String() string {
	switch s {
	case FromHeader:
		return "header"
	case FromProtocol:
		return "protocol"
	case FromCookie:
		return "cookie"
	case FromQuery:
		return "query"
	}
	return "Source(" + strconv.Itoa(int(s)) + ")"
}

func (s Source) valid() bool { return s >= FromHeader && s <= FromQuery }

// maxTokenLen bounds the size of a token accepted from any source (after
// base64url decoding for FromProtocol). Real JWTs are a few hundred bytes to
// a few KiB; the bound keeps JSON decoding of hostile input cheap.
const maxTokenLen = 16 << 10

const protocolHeader = "Sec-Websocket-Protocol" // canonical form of Sec-WebSocket-Protocol

// extract finds the token in r, trying v.sources in order. The first source
// that carries a token wins; a source that carries a malformed or ambiguous
// token stops the search with ErrInvalidToken rather than falling through.
func (v *Verifier) extract(r *http.Request) (string, Source, error) {
	for _, src := range v.sources {
		var (
			tok string
			err *Error
		)
		switch src {
		case FromHeader:
			tok, err = bearerFromHeader(r.Header)
		case FromProtocol:
			tok, err = tokenFromProtocol(r.Header, v.protocolPrefix)
		case FromCookie:
			tok, err = tokenFromCookie(r, v.cookieName)
		case FromQuery:
			tok, err = tokenFromQuery(r, v.queryParam)
		}
		if err != nil {
			return "", src, err
		}
		if tok == "" {
			continue
		}
		if len(tok) > maxTokenLen {
			return "", src, invalid(descTooLarge, nil)
		}
		return tok, src, nil
	}
	return "", 0, missing()
}

// bearerFromHeader parses `Authorization: Bearer <b64token>`. A missing
// header or another scheme (Basic, …) yields "" and no error, so the next
// source is tried; a Bearer header without a well-formed token is an error.
func bearerFromHeader(h http.Header) (string, *Error) {
	vals := h.Values("Authorization")
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", invalid(descMultipleHeaders, nil)
	}
	tok, ok, isBearer := parseBearer(vals[0])
	if !isBearer {
		return "", nil
	}
	if !ok {
		return "", invalid(descMalformedHeader, nil)
	}
	return tok, nil
}

// parseBearer parses an Authorization header value. isBearer reports
// whether the scheme is Bearer (case-insensitive); ok whether the
// credentials are a single RFC 6750 b64token.
func parseBearer(v string) (tok string, ok, isBearer bool) {
	v = strings.TrimLeft(v, " \t")
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, false
	}
	tok = strings.Trim(rest, " \t")
	if !isB64Token(tok) {
		return "", false, true
	}
	return tok, true, true
}

// isB64Token reports whether s matches RFC 6750's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// protocolEntries calls fn for every non-empty, trimmed, comma-separated
// entry of every Sec-WebSocket-Protocol header line.
func protocolEntries(h http.Header, fn func(entry string)) {
	for _, line := range h[protocolHeader] {
		for entry := range strings.SplitSeq(line, ",") {
			if entry = textproto.TrimString(entry); entry != "" {
				fn(entry)
			}
		}
	}
}

// tokenFromProtocol finds the single entry starting with prefix and returns
// its base64url-decoded remainder (padding optional).
func tokenFromProtocol(h http.Header, prefix string) (string, *Error) {
	var (
		found string
		n     int
	)
	protocolEntries(h, func(entry string) {
		if strings.HasPrefix(entry, prefix) {
			found = entry[len(prefix):]
			n++
		}
	})
	switch {
	case n == 0:
		return "", nil
	case n > 1:
		return "", invalid(descMultipleProtocol, nil)
	}
	enc := strings.TrimRight(found, "=")
	if enc == "" {
		return "", invalid(descMalformedProtocol, nil)
	}
	if base64.RawURLEncoding.DecodedLen(len(enc)) > maxTokenLen {
		return "", invalid(descTooLarge, nil)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(raw) == 0 {
		return "", invalid(descMalformedProtocol, nil)
	}
	return string(raw), nil
}

// tokenFromCookie returns the value of the cookie called name. Two cookies
// of that name (possible when a sibling subdomain sets one) are refused
// rather than guessed between.
func tokenFromCookie(r *http.Request, name string) (string, *Error) {
	cs := r.CookiesNamed(name)
	switch len(cs) {
	case 0:
		return "", nil
	case 1:
		return cs[0].Value, nil
	}
	return "", invalid(descMultipleCookies, nil)
}

// tokenFromQuery returns the query parameter called name.
func tokenFromQuery(r *http.Request, name string) (string, *Error) {
	if r.URL == nil {
		return "", nil
	}
	vals := r.URL.Query()[name]
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	}
	return "", invalid(descMultipleQuery, nil)
}

// StripProtocolToken removes from h every Sec-WebSocket-Protocol entry that
// starts with prefix, keeping the other entries in order on one header line
// (or deleting the header when none is left). Middleware calls it on a
// clone of the request's header so that an upgrader can never select the
// token entry and echo it back to the client as the chosen subprotocol.
// An empty prefix leaves h unchanged.
func StripProtocolToken(h http.Header, prefix string) {
	if prefix == "" || len(h[protocolHeader]) == 0 {
		return
	}
	kept := make([]string, 0, 4)
	stripped := false
	protocolEntries(h, func(entry string) {
		if strings.HasPrefix(entry, prefix) {
			stripped = true
			return
		}
		kept = append(kept, entry)
	})
	if !stripped && len(h[protocolHeader]) == 1 {
		return // nothing to do; leave the caller's formatting alone
	}
	if len(kept) == 0 {
		h.Del(protocolHeader)
		return
	}
	h[protocolHeader] = []string{strings.Join(kept, ", ")}
}

// EncodeProtocolToken returns the Sec-WebSocket-Protocol entry that carries
// token: prefix followed by the unpadded base64url encoding of token. It is
// what a Go client (or a test) offers next to its real subprotocol; pass ""
// for the default prefix.
func EncodeProtocolToken(prefix, token string) string {
	if prefix == "" {
		prefix = DefaultProtocolPrefix
	}
	return prefix + base64.RawURLEncoding.EncodeToString([]byte(token))
}
