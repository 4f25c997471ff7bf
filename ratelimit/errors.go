package ratelimit

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Refusals are returned as a [*LimitError] that wraps one of
// them, so test with errors.Is and read the details with errors.As.
var (
	// ErrConfig is wrapped by every constructor error; the message names
	// the bad field.
	ErrConfig = errors.New("ratelimit: invalid config")
	// ErrTooManyConnections is wrapped when a connection limit refuses a
	// connection. Answer it with 503 and Retry-After.
	ErrTooManyConnections = errors.New("ratelimit: too many connections")
	// ErrRateLimited is wrapped when a token bucket refuses a handshake
	// (answer 429 and Retry-After) or a message (close 1008).
	ErrRateLimited = errors.New("ratelimit: rate limited")
)

// Scope names the limit that refused a connection, handshake or message.
// Its values are short and fixed, so they make good metric labels.
type Scope string

// The scopes a [LimitError] can carry.
const (
	ScopeGlobal         Scope = "global"           // ConnConfig.Max
	ScopePerIP          Scope = "per-IP"           // ConnConfig.PerIP
	ScopePerUser        Scope = "per-user"         // ConnConfig.PerUser
	ScopeIPTable        Scope = "IP table full"    // ConnConfig.MaxKeys distinct IPs hold live connections
	ScopeUserTable      Scope = "user table full"  // ConnConfig.MaxKeys distinct users hold live connections
	ScopeHandshake      Scope = "handshake rate"   // RateConfig.Rate for one IP
	ScopeSessionMessage Scope = "session messages" // MessageConfig.PerSession
	ScopeGlobalMessage  Scope = "global messages"  // MessageConfig.Global
)

// LimitError reports a refusal. It wraps [ErrTooManyConnections] or
// [ErrRateLimited]. Its message is short (well under the 123 bytes a
// WebSocket close reason may hold) and never contains the client's address
// or user name, so it is safe to send back to the client.
type LimitError struct {
	// Scope is the limit that refused.
	Scope Scope
	// Max is the configured bound for connection limits, 0 for rates.
	Max int
	// RetryAfter is when trying again may succeed: the configured
	// ConnConfig.RetryAfter for connections, the time until the bucket
	// holds a token for rates.
	RetryAfter time.Duration

	err error
}

// Error returns, for example, "ratelimit: too many connections: per-IP
// limit 10 reached".
func (e *LimitError) Error() string {
	if e.Scope == ScopeIPTable || e.Scope == ScopeUserTable {
		return fmt.Sprintf("%v: %s (%d keys with live connections)", e.err, e.Scope, e.Max)
	}
	if e.Max > 0 {
		return fmt.Sprintf("%v: %s limit %d reached", e.err, e.Scope, e.Max)
	}
	return fmt.Sprintf("%v: %s limit reached", e.err, e.Scope)
}

// Unwrap returns [ErrTooManyConnections] or [ErrRateLimited].
func (e *LimitError) Unwrap() error { return e.err }

// configError builds an ErrConfig-wrapping error naming the field.
func configError(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrConfig, field, fmt.Sprintf(format, args...))
}
