package main

import (
	"errors"
	"math"
	"net/http"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/examples/internal/demo"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

// appConfig is what the flags decide: the shared parts' settings and the
// handshake rate, which only this example limits.
type appConfig struct {
	demo.Config
	HandshakeRate float64 // upgrade attempts per second per IP; 0 means no limit
}

// app is the program without its listener: the shared parts and the
// router.
type app struct {
	*demo.Parts
	handler http.Handler
}

func newApp(cfg appConfig) (*app, error) {
	if cfg.HandshakeRate < 0 || math.IsInf(cfg.HandshakeRate, 0) || math.IsNaN(cfg.HandshakeRate) {
		return nil, errors.New("-handshake-rate must be a non-negative number")
	}
	handshakes, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{
		Rate:  rate.Limit(cfg.HandshakeRate),
		Burst: max(1, int(math.Ceil(2*cfg.HandshakeRate))),
	})
	if err != nil {
		return nil, err
	}
	parts, err := demo.New(cfg.Config)
	if err != nil {
		return nil, err
	}
	a := &app{Parts: parts}
	ws := a.WS
	r := chi.NewRouter()
	r.Use(chimw.RequestID, chimw.Recoverer, accessLog(a.Logger))
	r.With(
		ws.CountRefusals,                 // counts what the chain refuses, for /metrics
		ratelimit.Handshakes(handshakes), // 429
		ratelimit.Connections(a.Conns),   // 503, per IP
		origin.Middleware(a.Origin),      // 403
		auth.Middleware(a.Verifier),      // 401
		ratelimit.Users(a.Conns, a.User), // 503, per user
	).Get("/ws", ws.ServeHTTP)
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware(a.Verifier))
		r.Post("/rooms/{room}/messages", a.publish)
		r.Get("/rooms/{room}/members", a.members)
		r.Delete("/sessions/{id}", a.kick)
	})
	r.Get("/stats", a.stats)
	r.Handle("/metrics", a.Metrics)
	a.handler = r
	return a, nil
}
