// Command chat serves a multi-room chat: a page at / and its WebSocket at
// /ws, built on the hub's rooms.
//
// Usage:
//
//	go run ./examples/chat [-addr localhost:8080] [-allowed-origin https://chat.example.com]
//		[-tls-cert cert.pem -tls-key key.pem] [-log-level warn]
//		[-idle-timeout 60s] [-read-timeout 30s] [-shutdown-timeout 10s]
//		[-broker redis://127.0.0.1:6379 | -broker nats://127.0.0.1:4222 | -embedded-nats]
//		[-node-id NAME]
//
// Then open http://localhost:8080 in two browser windows (https:// with
// -tls-cert and -tls-key; the page then connects with wss://). The page speaks a
// small JSON protocol (see protocol.go); the browser side is static/wsgate.js,
// a copy of the client package in js/ (go generate refreshes it), a
// dependency-free client that reconnects and rejoins its rooms.
//
// With -broker (or -embedded-nats, which runs a NATS server in the process
// for other nodes to point -broker nats://127.0.0.1:4222 at), rooms span
// every chat started with the same broker, and the members list shows the
// chatters of every node (GET /cluster shows the broker's counters). The
// rooms' history is then kept on the broker's server (Redis Streams, or
// JetStream), shared by every node, so a page that reconnects to another
// node (its own went down) gets what it missed there.
package main

import (
	"context"
	"embed"
	"flag"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/wsgate/wsgate/examples/internal/serve"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
)

//go:embed static
var static embed.FS

func main() {
	serve.Main(func(ctx context.Context, args []string) error { return run(ctx, args, os.Stdout) })
}

// run serves the chat until ctx ends, then shuts down gracefully. It prints
// "listening on http://ADDR" (https:// with TLS) once it accepts
// connections, and logs to stderr.
func run(ctx context.Context, args []string, out io.Writer) error {
	return runWith(ctx, args, out, nil)
}

// runWith is run with the rooms' history in store; a test passes one that
// outlives a restart. Nil means the broker's store on a cluster (shared by
// every node), else a store of the hub's own, lost when it returns.
func runWith(ctx context.Context, args []string, out io.Writer, store hub.Store) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	var common serve.Flags
	common.Register(fs, "localhost:8080")
	allowed := fs.String("allowed-origin", "", "an extra allowed page origin, such as https://chat.example.com (same-origin is always allowed)")
	if err := fs.Parse(args); err != nil {
		return err
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
	defer cluster.Close() // after serve.Run: the hub has closed its broker
	cfg := hub.Config{MaxTextMessage: 4096, IdleTimeout: 30 * time.Minute, NodeID: cluster.NodeID, Logger: logger}
	if cfg.Broker, err = cluster.Broker("chat"); err != nil {
		return err
	}
	cfg.Presence = cfg.Broker != nil // the members list of every node
	var opened hub.Store
	if store == nil {
		// On a cluster, the history every node shares through the
		// broker's server; on one node, nil: the hub's own.
		if opened, err = cluster.Store("chat"); err != nil {
			return err
		}
		store = opened
	}
	cfg.History = chatHistory(store) // rooms keep a history for rejoining pages
	h, err := hub.New(cfg)
	if err != nil {
		if opened != nil {
			opened.Close() // a NATS store's connection: the hub did not take it
		}
		return err
	}
	defer shutdownUnserved(h)
	if cfg.Broker != nil {
		cluster.Watch("chat", h, logger)
	}
	newChat(h, cfg.Broker != nil)
	handler, err := newHandler(h, *allowed, logger)
	if err != nil {
		return err
	}
	handler.Handle("GET /cluster", cluster.Handler())
	return serve.Run(ctx, serve.Config{Flags: common, Handler: handler, Hubs: []*hub.Hub{h}, Out: out, URL: true, Logger: logger})
}

// newHandler serves the page and the socket.
func newHandler(h *hub.Hub, allowedOrigin string, logger *slog.Logger) (*http.ServeMux, error) {
	var policy origin.Policy
	if allowedOrigin != "" {
		policy.AllowedOrigins = []string{allowedOrigin}
	}
	oc, err := origin.New(policy)
	if err != nil {
		return nil, err
	}
	ws, err := middleware.New(h, middleware.Config{
		Subprotocols: []string{subprotocol},
		Origin:       oc,
		Logger:       logger,
	})
	if err != nil {
		return nil, err
	}
	page, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	mux.Handle("/", http.FileServerFS(page))
	return mux, nil
}
