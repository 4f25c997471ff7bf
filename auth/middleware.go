package auth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
)

// Middleware returns v.Middleware, for routers that take a
// func(http.Handler) http.Handler (chi's Use, for example).
func Middleware(v *Verifier) func(http.Handler) http.Handler {
	return v.Middleware
}

// Middleware verifies every request before next sees it. A request without
// a token is answered 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3.1:
// no error code when no credentials were sent); a bad token with 401 and
// `Bearer error="invalid_token", error_description="..."`. Neither reaches
// next, so no upgrade happens.
//
// On success next receives a clone of the request whose context carries
// the *Token (TokenFromContext, ClaimsFromContext) and whose
// Sec-WebSocket-Protocol header no longer contains the token entry, so the
// upgrader negotiates among the real subprotocols only and can never echo
// the token back. A token taken from the query string is removed from the
// clone's URL whenever FromQuery is a source (it is still in the server's
// access log).
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := v.Verify(r)
		if err != nil {
			v.WriteChallenge(w, err)
			return
		}
		next.ServeHTTP(w, v.authorized(r, t))
	})
}

// authorized returns the clone of r handed to the next handler.
func (v *Verifier) authorized(r *http.Request, t *Token) *http.Request {
	r2 := r.Clone(ContextWithToken(r.Context(), t))
	StripProtocolToken(r2.Header, v.protocolPrefix)
	// Strip the query token whenever the query is a source, not only when
	// it supplied the token: a request may carry one in the header and
	// another in the query, and neither may reach handlers or their logs.
	if slices.Contains(v.sources, FromQuery) && r2.URL != nil && r2.URL.Query().Has(v.queryParam) {
		q := r2.URL.Query()
		q.Del(v.queryParam)
		r2.URL.RawQuery = q.Encode()
		if r2.RequestURI != "" {
			r2.RequestURI = r2.URL.RequestURI()
		}
	}
	return r2
}

// Challenge returns the WWW-Authenticate value for an error from Verify:
// `Bearer` (plus realm when configured) for a missing token, and
// `Bearer error="invalid_token", error_description="..."` otherwise.
func (v *Verifier) Challenge(err error) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	if v.realm != "" {
		b.WriteString(` realm="` + v.realm + `"`)
		sep = ", "
	}
	if errors.Is(err, ErrMissingToken) {
		return b.String()
	}
	b.WriteString(sep + `error="invalid_token"`)
	var e *Error
	if errors.As(err, &e) && e.Description != "" {
		b.WriteString(`, error_description="` + safeDescription(e.Description) + `"`)
	}
	return b.String()
}

// WriteChallenge answers 401 Unauthorized with the WWW-Authenticate value
// from Challenge and a short plain-text body (the description, never the
// token). Use it when building your own handler around Verify.
func (v *Verifier) WriteChallenge(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Set("WWW-Authenticate", v.Challenge(err))
	h.Set("Cache-Control", "no-store")
	msg := "unauthorized"
	var e *Error
	if errors.As(err, &e) && e.Description != "" {
		msg += ": " + safeDescription(e.Description)
	}
	http.Error(w, msg, http.StatusUnauthorized)
}

// safeDescription keeps only the characters RFC 6750 §3 allows in
// error_description (%x20-21 / %x23-5B / %x5D-7E).
func safeDescription(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}
