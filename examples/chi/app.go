package main

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/examples/internal/demoauth"
	"github.com/wsgate/wsgate/examples/internal/rooms"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/metrics"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

// appConfig is what the flags decide.
type appConfig struct {
	Secret          string  // HS256 secret, at least 32 bytes
	AllowedOrigin   string  // an extra allowed page origin; same-origin is always allowed
	AllowQueryToken bool    // accept ?access_token= on /ws (it ends up in access logs)
	HandshakeRate   float64 // upgrade attempts per second per IP; 0 means no limit
	MaxConnsPerIP   int     // 0 means no limit
	MaxConnsPerUser int     // 0 means no limit
	Logger          *slog.Logger
}

// app is the program without its listener: the hub, the router and what
// the router needs.
type app struct {
	hub      *hub.Hub
	rooms    *rooms.App
	verifier *auth.Verifier
	ws       *middleware.Handler
	handler  http.Handler
}

func newApp(cfg appConfig) (*app, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HandshakeRate < 0 || math.IsInf(cfg.HandshakeRate, 0) || math.IsNaN(cfg.HandshakeRate) {
		return nil, errors.New("-handshake-rate must be a non-negative number")
	}
	v, err := demoauth.Verifier(cfg.Secret, cfg.AllowQueryToken, cfg.Logger)
	if err != nil {
		return nil, err
	}
	var policy origin.Policy
	if cfg.AllowedOrigin != "" {
		policy.AllowedOrigins = []string{cfg.AllowedOrigin}
	}
	oc, err := origin.New(policy)
	if err != nil {
		return nil, err
	}
	handshakes, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{
		Rate:  rate.Limit(cfg.HandshakeRate),
		Burst: max(1, int(math.Ceil(2*cfg.HandshakeRate))),
	})
	if err != nil {
		return nil, err
	}
	conns, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: cfg.MaxConnsPerIP, PerUser: cfg.MaxConnsPerUser})
	if err != nil {
		return nil, err
	}
	h, err := hub.New(hub.Config{Logger: cfg.Logger, IdleTimeout: 30 * time.Minute})
	if err != nil {
		return nil, err
	}
	a := &app{
		hub:      h,
		rooms:    rooms.New(h, func(s *hub.Session) string { return demoauth.Subject(s.Context()) }),
		verifier: v,
	}
	// The checks run in the chain below; the handler notices the origin
	// check (origin.Checked) and takes over the connection slots
	// (ratelimit.Detach), so it repeats neither.
	ws, err := middleware.New(h, middleware.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	a.ws = ws
	collector, err := metrics.New(h, metrics.Options{Refusals: a.refusals})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector)

	user := func(r *http.Request) string { return demoauth.Subject(r.Context()) }
	r := chi.NewRouter()
	r.Use(chimw.RequestID, chimw.Recoverer, accessLog(cfg.Logger))
	r.With(
		ws.CountRefusals,                 // counts what the chain refuses, for /metrics
		ratelimit.Handshakes(handshakes), // 429
		ratelimit.Connections(conns),     // 503, per IP
		origin.Middleware(oc),            // 403
		auth.Middleware(v),               // 401
		ratelimit.Users(conns, user),     // 503, per user
	).Get("/ws", ws.ServeHTTP)
	r.Group(func(r chi.Router) {
		r.Use(auth.Middleware(v))
		r.Post("/rooms/{room}/messages", a.publish)
		r.Get("/rooms/{room}/members", a.members)
		r.Delete("/sessions/{id}", a.kick)
	})
	r.Get("/stats", a.stats)
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	a.handler = r
	return a, nil
}

// close releases what newApp started besides the hub, which the caller
// shuts down.
func (a *app) close() { a.verifier.Close() }

// refusals counts the requests the /ws chain refused, by metrics reason.
func (a *app) refusals() map[string]uint64 { return a.ws.Refusals().ByReason() }
