package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"
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

// appConfig is what the flags decide.
type appConfig struct {
	Secret          string // HS256 secret, at least 32 bytes
	AllowedOrigin   string // an extra allowed page origin; same-origin is always allowed
	MaxConnsPerUser int    // 0 means no limit
	Logger          *slog.Logger
}

// app is the program without its listener.
type app struct {
	hub      *hub.Hub
	rooms    *rooms.App
	verifier *auth.Verifier
	ws       *middleware.Handler
	echo     *echo.Echo
}

func newApp(cfg appConfig) (*app, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	v, err := demoauth.Verifier(cfg.Secret, false, cfg.Logger)
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
	conns, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerUser: cfg.MaxConnsPerUser})
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
		echo:     echo.New(),
	}
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

	e := a.echo
	e.HideBanner, e.HidePort = true, true
	// Echo's own middlewares wrap every route, the WebSocket included:
	// their response writer unwraps to the connection, so the upgrade can
	// still hijack it. Do not add echo's Timeout or ContextTimeout
	// middlewares in front of /ws: a session outlives any request timeout.
	e.Use(echomw.Recover(), echomw.RequestID(), requestLog(cfg.Logger))

	user := func(r *http.Request) string { return demoauth.Subject(r.Context()) }
	e.GET("/ws", echo.WrapHandler(ws),
		// Route middlewares run in the order listed.
		echo.WrapMiddleware(ws.CountRefusals),             // counts what the chain refuses, for /metrics
		echo.WrapMiddleware(ratelimit.Connections(conns)), // 503
		echo.WrapMiddleware(origin.Middleware(oc)),        // 403
		echo.WrapMiddleware(auth.Middleware(v)),           // 401
		echo.WrapMiddleware(ratelimit.Users(conns, user)), // 503, per user
	)
	api := e.Group("", echo.WrapMiddleware(auth.Middleware(v)))
	api.POST("/rooms/:room/messages", a.publish)
	api.GET("/rooms/:room/members", a.members)
	e.GET("/stats", func(c echo.Context) error {
		return c.JSON(http.StatusOK, a.rooms.Stats(a.refusals()))
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	return a, nil
}

// publish is POST /rooms/:room/messages with {"text":"..."}; it answers
// {"room":"lobby","delivered":N}.
func (a *app) publish(c echo.Context) error {
	var body struct {
		Text string `json:"text"`
	}
	if err := c.Bind(&body); err != nil {
		return err // echo answers 400
	}
	room := c.Param("room")
	n, err := a.rooms.Publish(room, demoauth.Subject(c.Request().Context()), body.Text)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return c.JSON(http.StatusOK, map[string]any{"room": room, "delivered": n})
}

// members is GET /rooms/:room/members.
func (a *app) members(c echo.Context) error {
	room := c.Param("room")
	m, err := a.rooms.Members(room)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return c.JSON(http.StatusOK, map[string]any{"room": room, "members": m})
}

// requestLog logs each request with slog at debug level, by path only: the
// query string, where a token may travel, is never logged (echo's
// LogURI would log it).
func requestLog(log *slog.Logger) echo.MiddlewareFunc {
	return echomw.RequestLoggerWithConfig(echomw.RequestLoggerConfig{
		LogMethod:    true,
		LogURIPath:   true,
		LogStatus:    true,
		LogLatency:   true,
		LogRequestID: true,
		LogError:     true,
		HandleError:  true,
		LogValuesFunc: func(c echo.Context, v echomw.RequestLoggerValues) error {
			status := v.Status
			if middleware.IsWebSocket(c.Request()) && !c.Response().Committed {
				status = http.StatusSwitchingProtocols // written on the hijacked connection
			}
			attrs := []any{"method", v.Method, "path", v.URIPath, "status", status, "duration", v.Latency, "request_id", v.RequestID}
			var he *echo.HTTPError
			if v.Error != nil && !errors.As(v.Error, &he) {
				attrs = append(attrs, "err", v.Error)
			}
			log.Debug("http request", attrs...)
			return nil
		},
	})
}

// close releases what newApp started besides the hub.
func (a *app) close() { a.verifier.Close() }

// refusals counts the requests the /ws chain refused, by metrics reason.
func (a *app) refusals() map[string]uint64 { return a.ws.Refusals().ByReason() }
