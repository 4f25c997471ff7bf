package middleware

import (
	"context"
	"net/http"
	"sync/atomic"
)

// Refusals counts the requests a Handler refused before the upgrade, by
// cause. The cause follows from the status: every check answers with its
// own (see the package documentation).
type Refusals struct {
	Handshake uint64 // 400, 426: not a valid WebSocket handshake
	Auth      uint64 // 401: token missing or invalid
	Origin    uint64 // 403: origin not allowed, or refused by Admit
	Rate      uint64 // 429: handshake rate exceeded
	Capacity  uint64 // 503: connection limits, hub full or shutting down
	Other     uint64 // any other status >= 400 (Admit's own choice)
}

type refusalCounts struct {
	handshake, auth, origin, rate, capacity, other atomic.Uint64
}

func (c *refusalCounts) count(status int) {
	switch status {
	case 0, http.StatusSwitchingProtocols:
	case http.StatusBadRequest, http.StatusUpgradeRequired:
		c.handshake.Add(1)
	case http.StatusUnauthorized:
		c.auth.Add(1)
	case http.StatusForbidden:
		c.origin.Add(1)
	case http.StatusTooManyRequests:
		c.rate.Add(1)
	case http.StatusServiceUnavailable:
		c.capacity.Add(1)
	default:
		if status >= 400 {
			c.other.Add(1)
		}
	}
}

// ByReason returns the counts keyed "handshake", "auth", "origin",
// "rate", "limits" and "other": the reason labels of the metrics package,
// so metrics.Options{Refusals: func() map[string]uint64 { return
// ws.Refusals().ByReason() }} exports them.
func (r Refusals) ByReason() map[string]uint64 {
	return map[string]uint64{
		"handshake": r.Handshake,
		"auth":      r.Auth,
		"origin":    r.Origin,
		"rate":      r.Rate,
		"limits":    r.Capacity,
		"other":     r.Other,
	}
}

// Refusals returns the handler's refusal counters.
func (m *Handler) Refusals() Refusals {
	c := &m.refusals
	return Refusals{
		Handshake: c.handshake.Load(),
		Auth:      c.auth.Load(),
		Origin:    c.origin.Load(),
		Rate:      c.rate.Load(),
		Capacity:  c.capacity.Load(),
		Other:     c.other.Load(),
	}
}

// statusWriter notes the status a check answered with. It keeps the
// wrapped writer reachable through Unwrap, so the upgrade can still hijack.
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

// CountRefusals counts into the handler's Refusals what next refuses. Put
// it first in a router chain that composes the checks by hand, so the
// requests refused before they reach the handler are counted too:
//
//	r.With(ws.CountRefusals, origin.Middleware(oc), auth.Middleware(v)).Get("/ws", ws.ServeHTTP)
func (m *Handler) CountRefusals(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.counted(w, r, next)
	})
}

type countedKey struct{}

// counted runs next and counts its refusal, once per request however many
// counting layers it passes.
func (m *Handler) counted(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.Context().Value(countedKey{}) != nil {
		next.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), countedKey{}, true)))
	m.refusals.count(sw.status)
}

// serve runs the chain and counts a refusal.
func (m *Handler) serve(w http.ResponseWriter, r *http.Request) { m.counted(w, r, m.chain) }
