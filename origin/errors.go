package origin

import (
	"errors"
	"fmt"
)

// ErrNotAllowed is wrapped by every error Checker.Check returns: the request's
// Origin is not allowed by the policy.
var ErrNotAllowed = errors.New("origin: not allowed")

// ErrBadPattern is wrapped by the errors New returns for an invalid entry in
// Policy.AllowedOrigins or Policy.TrustedProxies.
var ErrBadPattern = errors.New("origin: bad pattern")

// Reasons for a refusal. They are fixed strings, safe to send to the client.
const (
	reasonMissing   = "missing Origin header"
	reasonMultiple  = "more than one Origin header"
	reasonNull      = "null Origin"
	reasonMalformed = "malformed Origin header"
	reasonCross     = "cross-origin request"
)

// maxDetail bounds how much of a client-supplied value an error message quotes.
const maxDetail = 128

// refusal is the error Check returns. reason is a fixed string that may be
// shown to the client; detail carries request data for logs only.
type refusal struct {
	reason string
	detail string
}

func (e *refusal) Error() string {
	if e.detail == "" {
		return ErrNotAllowed.Error() + ": " + e.reason
	}
	return ErrNotAllowed.Error() + ": " + e.reason + " (" + e.detail + ")"
}

func (e *refusal) Unwrap() error { return ErrNotAllowed }

// Reason returns the short reason of a refusal returned by Checker.Check, such
// as "cross-origin request" or "null Origin". Unlike err.Error() it never
// contains request data, so it is safe to send to the client. It returns ""
// for an error that is not a refusal from this package.
func Reason(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.reason
	}
	return ""
}

// quote quotes a client-supplied value for an error message, truncated.
func quote(s string) string {
	if len(s) > maxDetail {
		return fmt.Sprintf("%q...", s[:maxDetail])
	}
	return fmt.Sprintf("%q", s)
}
