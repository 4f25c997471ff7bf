// Command chi serves a WebSocket endpoint and a small REST API on one chi
// router. /ws is guarded by a chain of wsgate middlewares composed with
// r.With (handshake rate, connection limits, origin, token), and ordinary
// REST handlers use the same hub: publish to a room, list its members, kick
// a session, read the counters; /metrics exports them to Prometheus.
//
// Usage:
//
//	go run ./examples/chi -jwt-secret SECRET [-addr localhost:8080]
//		[-allowed-origin https://app.example.com] [-allow-query-token]
//		[-handshake-rate 5] [-max-conns-per-ip 64] [-max-conns-per-user 16]
//		[-tls-cert cert.pem -tls-key key.pem] [-log-level warn]
//		[-idle-timeout 60s] [-read-timeout 30s] [-shutdown-timeout 10s]
//		[-broker redis://127.0.0.1:6379 | -broker nats://127.0.0.1:4222 | -embedded-nats] [-node-id NAME]
//	go run ./examples/chi -jwt-secret SECRET -mint-token alice [-token-ttl 1h]
//
// With -broker (README, "Running several nodes") rooms span every node
// started with the same broker; the members list and the counters are this
// node's.
//
// The secret may also come from $WSGATE_JWT_SECRET (flags show up in ps).
// Tokens are HS256 JWTs with a subject (sub); -mint-token prints one, so the
// program can be tried without other tools:
//
//	export WSGATE_JWT_SECRET=$(openssl rand -hex 32)
//	go run ./examples/chi &
//	TOKEN=$(go run ./examples/chi -mint-token alice)
//
// # The WebSocket
//
// Clients send the token in an Authorization: Bearer header, or (browsers)
// in Sec-WebSocket-Protocol as "base64url.bearer.authorization.<base64url
// token>" next to a real subprotocol; with -allow-query-token also as
// ?access_token=, which then appears in every access log on the way. The
// protocol, JSON text messages, is documented in examples/internal/rooms:
//
//	-> {"type":"join","room":"lobby"}      <- {"type":"joined","room":"lobby"}
//	-> {"type":"say","room":"lobby","text":"hi"}
//	<- {"type":"message","room":"lobby","name":"alice","text":"hi"}
//
// On connect the server says {"type":"welcome","session":ID,"user":"alice"}.
// With websocat:
//
//	websocat -H "Authorization: Bearer $TOKEN" ws://localhost:8080/ws
//
// # Every refusal, with curl
//
// The chain answers in this order: 429, 503, 403, 401, then the handler's
// 400 and 426. WS holds the headers of a WebSocket handshake:
//
//	WS='-H Connection:Upgrade -H Upgrade:websocket -H Sec-WebSocket-Version:13 -H Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ=='
//	curl -i $WS localhost:8080/ws                                            # 401 Bearer (no token)
//	curl -i $WS -H 'Authorization: Bearer nope' localhost:8080/ws            # 401 Bearer error="invalid_token"
//	curl -i $WS -H 'Origin: https://evil.example' localhost:8080/ws          # 403 cross-origin request
//	curl -i -H "Authorization: Bearer $TOKEN" localhost:8080/ws              # 400 not a WebSocket handshake
//	curl -i $WS -H Sec-WebSocket-Version:8 -H "Authorization: Bearer $TOKEN" localhost:8080/ws   # 426
//	curl -iN $WS -H "Authorization: Bearer $TOKEN" localhost:8080/ws         # 101, and holds the session
//	for i in $(seq 12); do curl -s -o /dev/null -w '%{http_code} ' $WS localhost:8080/ws; done  # 401s, then 429
//
// 503 needs a limit reached: start with -max-conns-per-user 1, hold one
// session with the 101 command above, and run it again in another terminal.
//
// # REST
//
// The REST routes take the same token in the Authorization header:
//
//	curl -H "Authorization: Bearer $TOKEN" -d '{"text":"hello"}' localhost:8080/rooms/lobby/messages   # {"room":"lobby","delivered":1}
//	curl -H "Authorization: Bearer $TOKEN" localhost:8080/rooms/lobby/members
//	curl -X DELETE -H "Authorization: Bearer $TOKEN" localhost:8080/sessions/ID     # 204; the client gets close 1008 "kicked"
//	curl localhost:8080/stats
//	curl localhost:8080/metrics
//
// Logs go to stderr at -log-level (default warn; debug shows every request,
// refusal and session). No log line carries a token: the access log prints
// the path without the query, and wsgate's packages never log tokens.
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
	fs := flag.NewFlagSet("chi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var common serve.Flags
	common.Register(fs, "localhost:8080")
	var cfg appConfig
	var tokens demoauth.Flags
	tokens.Register(fs)
	fs.StringVar(&cfg.AllowedOrigin, "allowed-origin", "", "an extra allowed page `origin`, such as https://app.example.com (same-origin is always allowed)")
	fs.BoolVar(&cfg.AllowQueryToken, "allow-query-token", false, "also accept the token as ?access_token= on /ws (it ends up in access logs)")
	fs.Float64Var(&cfg.HandshakeRate, "handshake-rate", 5, "WebSocket handshakes per second per client IP, bursts of twice that (0: no limit)")
	fs.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", 64, "open WebSocket sessions per client IP (0: no limit)")
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
	if cfg.Broker, err = cluster.Broker("chi"); err != nil {
		return err
	}
	a, err := newApp(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Broker != nil {
		cluster.Watch("chi", a.Hub, logger)
	}
	return serve.Run(ctx, serve.Config{Flags: common, Handler: a.handler, Hubs: []*hub.Hub{a.Hub}, Out: stdout, URL: true, Logger: logger})
}
