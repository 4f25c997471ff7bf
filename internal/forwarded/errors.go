package forwarded

import "errors"

// Sentinel errors. Parse returns errors that wrap one of them.
var (
	// ErrSyntax is wrapped by every error for a Forwarded header that does
	// not follow the RFC 7239 grammar (or repeats a parameter in one
	// element).
	ErrSyntax = errors.New("forwarded: syntax error")
	// ErrTooMany is returned for a Forwarded header with more than
	// MaxElements elements.
	ErrTooMany = errors.New("forwarded: too many elements")
	// ErrTooLong is returned for Forwarded header lines longer than
	// MaxBytes in total.
	ErrTooLong = errors.New("forwarded: header too long")
	// ErrPrefix is wrapped by a *PrefixError from NewPrefixes.
	ErrPrefix = errors.New("forwarded: invalid trusted prefix")
)

// syntaxError is one specific syntax error; it matches ErrSyntax with
// errors.Is. Being a comparable value it costs no allocation.
type syntaxError string

func (e syntaxError) Error() string        { return "forwarded: " + string(e) }
func (e syntaxError) Is(target error) bool { return target == ErrSyntax }

const (
	errName     = syntaxError("expected a parameter name")
	errEquals   = syntaxError(`expected "=" after the parameter name`)
	errValue    = syntaxError("expected a token or quoted-string value")
	errQuoted   = syntaxError("invalid quoted-string")
	errSep      = syntaxError(`expected ";" or "," after a value`)
	errRepeated = syntaxError("parameter repeated within one element")
)
