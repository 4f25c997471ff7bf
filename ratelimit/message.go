package ratelimit

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Policy is what a [SessionLimiter] does with a message over the rate.
type Policy int

const (
	// Drop discards the message and counts it; the session goes on. This
	// is the zero value.
	Drop Policy = iota
	// Reject closes the session with 1008 (policy violation).
	Reject
	// Delay blocks the session's reader until the message may pass. The
	// reader stops reading, the socket buffers fill, and TCP flow control
	// slows the client down; nothing is lost.
	Delay
)

// String returns "drop", "reject" or "delay".
func (p Policy) String() string {
	switch p {
	case Drop:
		return "drop"
	case Reject:
		return "reject"
	case Delay:
		return "delay"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// MessageConfig configures a [MessageLimiter]. The zero value limits
// nothing (with the Drop policy).
type MessageConfig struct {
	// PerSession is how many messages per second one session may sustain.
	// Zero means no per-session limit; rate.Inf is accepted too.
	PerSession rate.Limit
	// SessionBurst is how many messages a session may send at once. It
	// must be positive when PerSession is set.
	SessionBurst int
	// Global is how many messages per second all sessions together may
	// sustain. Zero means no global limit.
	Global rate.Limit
	// GlobalBurst is the global burst. It must be positive when Global is
	// set.
	GlobalBurst int
	// Policy applies to a message over either rate. Zero means Drop.
	Policy Policy
}

// MessageLimiter holds the global message bucket and the counters shared
// by the sessions' limiters. Safe for concurrent use.
type MessageLimiter struct {
	cfg      MessageConfig
	global   *rate.Limiter // nil when unlimited
	dropped  atomic.Uint64
	rejected atomic.Uint64
}

// NewMessageLimiter validates cfg and returns a limiter.
func NewMessageLimiter(cfg MessageConfig) (*MessageLimiter, error) {
	if err := validateRate("MessageConfig.PerSession", cfg.PerSession, "MessageConfig.SessionBurst", cfg.SessionBurst); err != nil {
		return nil, err
	}
	if err := validateRate("MessageConfig.Global", cfg.Global, "MessageConfig.GlobalBurst", cfg.GlobalBurst); err != nil {
		return nil, err
	}
	if cfg.Policy < Drop || cfg.Policy > Delay {
		return nil, configError("MessageConfig.Policy", "must be Drop, Reject or Delay, got %d", int(cfg.Policy))
	}
	l := &MessageLimiter{cfg: cfg}
	if limited(cfg.Global) {
		l.global = rate.NewLimiter(cfg.Global, cfg.GlobalBurst)
	}
	return l, nil
}

// Session returns a limiter for one new session: its own bucket, sharing
// the global one. The session owns it; it holds no resources to release.
func (l *MessageLimiter) Session() *SessionLimiter {
	s := &SessionLimiter{parent: l}
	if limited(l.cfg.PerSession) {
		s.own = rate.NewLimiter(l.cfg.PerSession, l.cfg.SessionBurst)
	}
	return s
}

// Dropped returns how many messages the Drop policy discarded.
func (l *MessageLimiter) Dropped() uint64 { return l.dropped.Load() }

// Rejected returns how many messages the Reject policy refused (each one
// closed its session).
func (l *MessageLimiter) Rejected() uint64 { return l.rejected.Load() }

// SessionLimiter limits the inbound messages of one session. Its Allow is
// meant for the session's single reader but is safe for concurrent use.
type SessionLimiter struct {
	parent  *MessageLimiter
	own     *rate.Limiter // nil when unlimited
	dropped atomic.Uint64
}

// Allow is called by the session's reader after each inbound message. It
// returns (true, nil) to deliver the message, (false, nil) to drop it (the
// limiter counts it), or (false, err) to close the session with 1008 and
// err.Error() as the close reason (a [*LimitError] wrapping
// [ErrRateLimited], under 123 bytes). With the Delay policy it blocks until
// the message may pass, or until ctx ends and then returns ctx.Err().
//
// A message takes a token from the session's bucket and from the global
// one; a refused message takes neither.
func (s *SessionLimiter) Allow(ctx context.Context) (bool, error) {
	now := time.Now()
	var own, global *rate.Reservation
	var wait time.Duration
	scope := ScopeSessionMessage
	if s.own != nil {
		own = s.own.ReserveN(now, 1)
		wait = own.DelayFrom(now)
	}
	if g := s.parent.global; g != nil {
		global = g.ReserveN(now, 1)
		if d := global.DelayFrom(now); d > wait {
			wait, scope = d, ScopeGlobalMessage
		}
	}
	if wait == 0 {
		return true, nil
	}
	switch s.parent.cfg.Policy {
	case Delay:
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
			return true, nil
		case <-ctx.Done():
			cancel(time.Now(), own, global)
			return false, ctx.Err()
		}
	case Reject:
		cancel(now, own, global)
		s.parent.rejected.Add(1)
		return false, &LimitError{Scope: scope, RetryAfter: wait, err: ErrRateLimited}
	default: // Drop
		cancel(now, own, global)
		s.parent.dropped.Add(1)
		s.dropped.Add(1)
		return false, nil
	}
}

// Dropped returns how many of this session's messages were dropped.
func (s *SessionLimiter) Dropped() uint64 { return s.dropped.Load() }

// cancel gives back the tokens of reservations that were not used.
func cancel(now time.Time, rs ...*rate.Reservation) {
	for _, r := range rs {
		if r != nil {
			r.CancelAt(now)
		}
	}
}
