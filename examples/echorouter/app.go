package main

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	echomw "github.com/labstack/echo/v4/middleware"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/examples/internal/demo"
	"github.com/wsgate/wsgate/examples/internal/demoauth"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

// appConfig is what the flags decide.
type appConfig = demo.Config

// app is the program without its listener: the shared parts and the Echo
// router.
type app struct {
	*demo.Parts
	echo *echo.Echo
}

func newApp(cfg appConfig) (*app, error) {
	parts, err := demo.New(cfg)
	if err != nil {
		return nil, err
	}
	a := &app{Parts: parts, echo: echo.New()}
	e := a.echo
	e.HideBanner, e.HidePort = true, true
	// Echo's own middlewares wrap every route, the WebSocket included:
	// their response writer unwraps to the connection, so the upgrade can
	// still hijack it. Do not add echo's Timeout or ContextTimeout
	// middlewares in front of /ws: a session outlives any request timeout.
	e.Use(echomw.Recover(), echomw.RequestID(), requestLog(a.Logger))

	e.GET("/ws", echo.WrapHandler(a.WS),
		// Route middlewares run in the order listed.
		echo.WrapMiddleware(a.WS.CountRefusals),               // counts what the chain refuses, for /metrics
		echo.WrapMiddleware(ratelimit.Connections(a.Conns)),   // 503
		echo.WrapMiddleware(origin.Middleware(a.Origin)),      // 403
		echo.WrapMiddleware(auth.Middleware(a.Verifier)),      // 401
		echo.WrapMiddleware(ratelimit.Users(a.Conns, a.User)), // 503, per user
	)
	api := e.Group("", echo.WrapMiddleware(auth.Middleware(a.Verifier)))
	api.POST("/rooms/:room/messages", a.publish)
	api.GET("/rooms/:room/members", a.members)
	e.GET("/stats", func(c echo.Context) error {
		return c.JSON(http.StatusOK, a.Rooms.Stats(a.Refusals()))
	})
	e.GET("/metrics", echo.WrapHandler(a.Metrics))
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
	n, err := a.Rooms.Publish(room, demoauth.Subject(c.Request().Context()), body.Text)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return c.JSON(http.StatusOK, map[string]any{"room": room, "delivered": n})
}

// members is GET /rooms/:room/members.
func (a *app) members(c echo.Context) error {
	room := c.Param("room")
	m, err := a.Rooms.Members(room)
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
