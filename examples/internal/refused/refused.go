// Package refused counts the requests a middleware chain refuses before a
// WebSocket upgrade, by reason, for the metrics package.
//
// A middleware.Handler counts its own refusals (Handler.Refusals), but when
// the checks are composed in a router — r.With(ratelimit..., origin...,
// auth...) — the requests they refuse never reach the Handler. Counter sits
// in front of the whole chain and counts every refusal by its status, the
// way the Handler does.
package refused

import (
	"net/http"
	"sync/atomic"

	"github.com/wsgate/wsgate/metrics"
)

// Counter counts refused requests. Its zero value is ready to use; it is
// safe for concurrent use.
type Counter struct {
	handshake, auth, origin, rate, limits, other atomic.Uint64
}

// Middleware counts the refusals of next: any answer of 400 or more.
func (c *Counter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		c.count(sw.status)
	})
}

func (c *Counter) count(status int) {
	switch {
	case status < 400: // upgraded (0: hijacked) or not a refusal
	case status == http.StatusBadRequest || status == http.StatusUpgradeRequired:
		c.handshake.Add(1)
	case status == http.StatusUnauthorized:
		c.auth.Add(1)
	case status == http.StatusForbidden:
		c.origin.Add(1)
	case status == http.StatusTooManyRequests:
		c.rate.Add(1)
	case status == http.StatusServiceUnavailable:
		c.limits.Add(1)
	default:
		c.other.Add(1)
	}
}

// Counts returns the counts by metrics reason, for metrics.Options.Refusals.
func (c *Counter) Counts() map[string]uint64 {
	return map[string]uint64{
		metrics.ReasonHandshake: c.handshake.Load(),
		metrics.ReasonAuth:      c.auth.Load(),
		metrics.ReasonOrigin:    c.origin.Load(),
		metrics.ReasonRate:      c.rate.Load(),
		metrics.ReasonLimits:    c.limits.Load(),
		metrics.ReasonOther:     c.other.Load(),
	}
}

// statusWriter notes the status; Unwrap keeps the connection hijackable
// for the upgrade.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
