// Command echorouter is the chi example's program on labstack/echo v4: a
// WebSocket endpoint guarded by wsgate's middlewares, wrapped the Echo way
// (echo.WrapHandler, echo.WrapMiddleware), behind Echo's own Recover,
// RequestID and request logger, beside REST routes that use the same hub.
//
// Usage:
//
//	go run ./examples/echorouter -jwt-secret SECRET [-addr localhost:8080]
//		[-allowed-origin https://app.example.com] [-max-conns-per-user 16]
//		[-tls-cert cert.pem -tls-key key.pem] [-log-level warn]
//		[-idle-timeout 60s] [-read-timeout 30s] [-shutdown-timeout 10s]
//		[-broker redis://127.0.0.1:6379 | -broker nats://127.0.0.1:4222 | -embedded-nats] [-node-id NAME]
//	go run ./examples/echorouter -jwt-secret SECRET -mint-token alice
//
// With -broker (README, "Running several nodes") rooms span every node
// started with the same broker; the members list and the counters are this
// node's.
//
// The secret may also come from $WSGATE_JWT_SECRET. Routes:
//
//	GET  /ws                      the WebSocket (token in Authorization or Sec-WebSocket-Protocol)
//	POST /rooms/:room/messages    {"text":"..."} to the room; answers {"room":...,"delivered":N}
//	GET  /rooms/:room/members     the room's sessions and their users
//	GET  /stats, GET /metrics     counters, as JSON and for Prometheus
//
// The WebSocket protocol is the chi example's (examples/internal/rooms):
// {"type":"join","room":"lobby"}, {"type":"say","room":"lobby","text":"hi"}.
// Try it:
//
//	export WSGATE_JWT_SECRET=$(openssl rand -hex 32)
//	go run ./examples/echorouter &
//	TOKEN=$(go run ./examples/echorouter -mint-token alice)
//	websocat -H "Authorization: Bearer $TOKEN" ws://localhost:8080/ws
//	curl -H "Authorization: Bearer $TOKEN" -d '{"text":"hi"}' -H 'Content-Type: application/json' localhost:8080/rooms/lobby/messages
//	curl -i localhost:8080/ws -H Connection:Upgrade -H Upgrade:websocket -H Sec-WebSocket-Version:13 -H Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==   # 401
package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/wsgate/wsgate/examples/internal/demoauth"
	"github.com/wsgate/wsgate/examples/internal/serve"
	"github.com/wsgate/wsgate/hub"
)

func main() {
	serve.Main(func(ctx context.Context, args []string) error { return run(ctx, args, os.Stdout, os.Stderr) })
}

// run serves until ctx ends, then shuts down gracefully. It prints
// "listening on http://ADDR" (https:// with TLS) on stdout once it accepts
// connections, and logs to stderr. With -mint-token it prints a token and
// returns.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("echorouter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var common serve.Flags
	common.Register(fs, "localhost:8080")
	var cfg appConfig
	var tokens demoauth.Flags
	tokens.Register(fs)
	fs.StringVar(&cfg.AllowedOrigin, "allowed-origin", "", "an extra allowed page `origin` (same-origin is always allowed)")
	fs.IntVar(&cfg.MaxConnsPerUser, "max-conns-per-user", 16, "open WebSocket sessions per token subject (0: no limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if done, err := tokens.Resolve(stdout); done || err != nil {
		return err
	}
	cfg.Secret = tokens.Secret
	if err := common.Check(); err != nil {
		return err
	}
	logger, err := common.Logger(stderr)
	if err != nil {
		return err
	}
	cfg.Logger = logger
	cluster, err := common.OpenCluster(stdout, logger)
	if err != nil {
		return err
	}
	defer cluster.Close() // after the hub has shut down and closed its broker
	cfg.NodeID = cluster.NodeID
	if cfg.Broker, err = cluster.Broker("echorouter"); err != nil {
		return err
	}
	a, err := newApp(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Broker != nil {
		cluster.Watch("echorouter", a.Hub, logger)
	}
	return serve.Run(ctx, serve.Config{Flags: common, Handler: a.echo, Hubs: []*hub.Hub{a.Hub}, Out: stdout, URL: true, Logger: logger})
}
