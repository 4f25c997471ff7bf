// Package demo builds what the chi and Echo examples share: the hub, the
// rooms protocol, the token verifier, the origin checker, the connection
// limiter, the wsgate handler and the metrics endpoint. Each example then
// only wires them into its router, which is what it exists to show.
package demo

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/examples/internal/demoauth"
	"github.com/wsgate/wsgate/examples/internal/rooms"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/metrics"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

// Config is what the examples' flags decide.
type Config struct {
	Secret          string // HS256 secret, at least 32 bytes
	AllowedOrigin   string // an extra allowed page origin; same-origin is always allowed
	AllowQueryToken bool   // accept ?access_token= on /ws (it ends up in access logs)
	MaxConnsPerIP   int    // 0 means no limit
	MaxConnsPerUser int    // 0 means no limit
	Logger          *slog.Logger
	Broker          hub.Broker // nil means a single node (serve.Cluster.Broker makes one from -broker)
	NodeID          string     // the node's name in a cluster; empty means random
}

// Parts are the shared pieces. The router chains Conns, Origin and
// Verifier in front of WS; see the examples.
type Parts struct {
	Hub      *hub.Hub
	Rooms    *rooms.App
	Verifier *auth.Verifier
	Origin   *origin.Checker
	Conns    *ratelimit.ConnLimiter
	WS       *middleware.Handler
	Metrics  http.Handler // Prometheus exposition of the hub and the refusals
	Logger   *slog.Logger // Config.Logger, or a silent one
}

// New builds the parts. The caller shuts the hub down and calls Close.
func New(cfg Config) (*Parts, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := demoauth.Verifier(cfg.Secret, cfg.AllowQueryToken, cfg.Logger)
	if err != nil {
		return nil, err
	}
	p := &Parts{Verifier: v, Logger: cfg.Logger}
	if err := p.build(cfg); err != nil {
		v.Close()
		return nil, err
	}
	return p, nil
}

func (p *Parts) build(cfg Config) (err error) {
	var policy origin.Policy
	if cfg.AllowedOrigin != "" {
		policy.AllowedOrigins = []string{cfg.AllowedOrigin}
	}
	if p.Origin, err = origin.New(policy); err != nil {
		return err
	}
	if p.Conns, err = ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: cfg.MaxConnsPerIP, PerUser: cfg.MaxConnsPerUser}); err != nil {
		return err
	}
	if p.Hub, err = hub.New(hub.Config{Logger: cfg.Logger, IdleTimeout: 30 * time.Minute, Broker: cfg.Broker, NodeID: cfg.NodeID}); err != nil {
		return err
	}
	p.Rooms = rooms.New(p.Hub, func(s *hub.Session) string { return demoauth.Subject(s.Context()) })
	// The checks run in the router's chain; the handler notices the origin
	// check (origin.Checked) and takes over the connection slots
	// (ratelimit.Detach), so it repeats neither.
	if p.WS, err = middleware.New(p.Hub, middleware.Config{Subprotocols: []string{"chat.v1"}, Logger: cfg.Logger}); err != nil {
		return err
	}
	collector, err := metrics.New(p.Hub, metrics.Options{Refusals: p.Refusals})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector)
	p.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return nil
}

// User is the per-user key of the connection limits: the token's subject.
func (p *Parts) User(r *http.Request) string { return demoauth.Subject(r.Context()) }

// Refusals counts the requests the /ws chain refused, by metrics reason.
func (p *Parts) Refusals() map[string]uint64 { return p.WS.Refusals().ByReason() }

// Close releases what New started besides the hub, which the caller shuts
// down.
func (p *Parts) Close() { p.Verifier.Close() }
