package auth

import "errors"

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers branch with errors.Is.
var (
	// ErrMissingToken means the request carried no bearer token in any of
	// the configured sources. The middleware answers 401 with a plain
	// `Bearer` challenge (RFC 6750 §3.1: no error code when the client sent
	// no credentials).
	ErrMissingToken = errors.New("auth: missing token")

	// ErrInvalidToken means a token was found but is malformed, badly
	// signed, expired, not yet valid, for another issuer or audience, or
	// signed with a key or algorithm that is not allowed. The middleware
	// answers 401 with `Bearer error="invalid_token"`.
	ErrInvalidToken = errors.New("auth: invalid token")

	// ErrConfig is wrapped by every error New returns; the message names
	// the offending Config field.
	ErrConfig = errors.New("auth: invalid configuration")
)

// Error is the error Verify returns. Kind is ErrMissingToken or
// ErrInvalidToken; Description is a short fixed English phrase that is safe
// to send to the client (it never contains the token or any part of it) and
// is what the middleware puts in error_description.
//
// errors.Is(err, ErrInvalidToken) and errors.Is(err, jwt.ErrTokenExpired)
// (or any other golang-jwt sentinel that caused the refusal) both work.
type Error struct {
	// Kind is ErrMissingToken or ErrInvalidToken.
	Kind error
	// Description is safe to show to the client, e.g. "token is expired".
	Description string

	cause error // the underlying error, if any; never part of Error()
}

// Error returns the kind and description, e.g.
// "auth: invalid token: token is expired". It never includes the token.
func (e *Error) Error() string {
	if e.Description == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Description
}

// Unwrap returns the kind and, when there is one, the underlying cause.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.cause}
}

func missing() *Error { return &Error{Kind: ErrMissingToken} }

func invalid(desc string, cause error) *Error {
	return &Error{Kind: ErrInvalidToken, Description: desc, cause: cause}
}

// Descriptions sent in error_description. They are constants so that no
// client-controlled byte can ever reach the response header.
const (
	descMalformedHeader   = "malformed Authorization header"
	descMultipleHeaders   = "multiple Authorization headers"
	descMalformedProtocol = "malformed token in Sec-WebSocket-Protocol"
	descMultipleProtocol  = "multiple tokens in Sec-WebSocket-Protocol"
	descMultipleCookies   = "multiple token cookies"
	descMultipleQuery     = "multiple token query parameters"
	descTooLarge          = "token is too large"
	descMalformed         = "token is malformed"
	descAlgorithm         = "algorithm not allowed"
	descSignature         = "token signature is invalid"
	descExpired           = "token is expired"
	descNotYetValid       = "token is not valid yet"
	descIssuedInFuture    = "token used before issued"
	descIssuer            = "token has wrong issuer"
	descAudience          = "token has wrong audience"
	descNoExpiry          = "token has no expiry"
	descClaims            = "token claims are invalid"
	descUnknownKID        = "unknown key id"
	descNoKID             = "token has no key id"
	descKeyMismatch       = "key does not match algorithm"
	descNoKey             = "no key for algorithm"
	descUnverifiable      = "token is unverifiable"
)
