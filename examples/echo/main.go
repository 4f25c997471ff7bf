// Command echo serves two plain WebSocket endpoints on one hub each, for
// conformance and load tests:
//
//	/echo    every message is sent back to its sender with its type
//	/fanout  every message is broadcast as-is to every /fanout session
//	         in the same room, the sender included: the room named by the
//	         query (/fanout?room=NAME), "fanout" by default
//
// Usage:
//
//	go run ./examples/echo -addr 127.0.0.1:9001 [-compress] [-max-message 16777216]
//		[-tls-cert cert.pem -tls-key key.pem] [-log-level warn]
//		[-idle-timeout 60s] [-read-timeout 30s] [-shutdown-timeout 10s]
//		[-broker redis://127.0.0.1:6379 | -broker nats://127.0.0.1:4222 | -embedded-nats]
//		[-node-id NAME]
//
// With -tls-cert and -tls-key it serves wss:// on the same paths.
//
// With -broker (or -embedded-nats) it is one node of a cluster: /fanout
// rooms span every node started with the same broker, and GET /cluster
// shows what this node exchanged with the broker (JSON). A node receives a
// room's traffic only while one of its own sessions is in the room.
//
// It shuts down gracefully on SIGINT or SIGTERM: queued messages are
// delivered, then every session is closed with 1001.
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"

	"github.com/wsgate/wsgate/examples/internal/serve"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
)

func main() {
	serve.Main(func(ctx context.Context, args []string) error { return run(ctx, args, os.Stdout) })
}

// run serves until ctx ends, then shuts down. It prints "listening on ADDR"
// once it accepts connections, and logs to stderr.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	var common serve.Flags
	common.Register(fs, "127.0.0.1:9001")
	compress := fs.Bool("compress", false, "offer permessage-deflate")
	maxMessage := fs.Int64("max-message", 16<<20, "largest inbound message in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *maxMessage <= 0 {
		return errors.New("echo: -max-message must be positive")
	}
	if err := common.Check(); err != nil {
		return err
	}
	logger, err := common.Logger(os.Stderr)
	if err != nil {
		return err
	}
	cluster, err := common.OpenCluster(out, logger)
	if err != nil {
		return err
	}
	defer cluster.Close() // after serve.Run: the hubs have closed their brokers
	cfg := hub.Config{
		MaxTextMessage:   *maxMessage,
		MaxBinaryMessage: *maxMessage,
		MaxQueuedBytes:   int(max(1<<20, 2**maxMessage)),
		Compression:      hub.Compression{Enabled: *compress},
		Logger:           logger,
	}
	echo, err := hub.New(cfg)
	if err != nil {
		return err
	}
	echo.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
	cfg.NodeID = cluster.NodeID
	if cfg.Broker, err = cluster.Broker("echo.fanout"); err != nil {
		return err
	}
	fanout, err := hub.New(cfg)
	if err != nil {
		return err
	}
	if cfg.Broker != nil {
		cluster.Watch("echo.fanout", fanout, logger)
	}
	fanout.OnConnect(func(s *hub.Session) {
		// Before the session's first message is read: once the client has
		// its own first message back, it is in the room on every node.
		if err := fanout.Join(s.ID(), fanoutRoom(s)); err != nil {
			logger.Warn("fanout: join", "session", s.ID(), "err", err)
		}
	})
	fanout.OnMessage(func(s *hub.Session, m hub.Message) { fanout.SendToRoom(fanoutRoom(s), m) })

	mux := http.NewServeMux()
	for path, h := range map[string]*hub.Hub{"/echo": echo, "/fanout": fanout} {
		ws, err := middleware.New(h, middleware.Config{Logger: logger.With("endpoint", path)})
		if err != nil {
			return err
		}
		mux.Handle(path, ws)
	}
	mux.Handle("GET /cluster", cluster.Handler())
	return serve.Run(ctx, serve.Config{Flags: common, Handler: mux, Hubs: []*hub.Hub{echo, fanout}, Out: out, Logger: logger})
}

// fanoutRoom is the room a /fanout session is in: ?room=NAME, or "fanout".
func fanoutRoom(s *hub.Session) string {
	if r := s.URL().Query().Get("room"); r != "" {
		return r
	}
	return "fanout"
}
