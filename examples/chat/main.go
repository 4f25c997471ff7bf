// Command chat serves a multi-room chat: a page at / and its WebSocket at
// /ws, built on the hub's rooms.
//
// Usage:
//
//	go run ./examples/chat [-addr localhost:8080]
//
// Then open http://localhost:8080 in two browser windows. The page speaks a
// small JSON protocol (see protocol.go); the browser side is static/wsgate.js,
// a dependency-free client that reconnects and rejoins its rooms.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
)

//go:embed static
var static embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves the chat until ctx ends, then shuts down gracefully. It prints
// "listening on http://ADDR" once it accepts connections.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	addr := fs.String("addr", "localhost:8080", "listen address")
	allowed := fs.String("allowed-origin", "", "an extra allowed page origin, such as https://chat.example.com (same-origin is always allowed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := hub.New(hub.Config{MaxTextMessage: 4096, IdleTimeout: 30 * time.Minute})
	if err != nil {
		return err
	}
	newChat(h)
	handler, err := newHandler(h, *allowed)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	res, err := h.Shutdown(sctx)
	fmt.Fprintf(out, "shutdown: %d sessions drained, %d forced\n", res.Drained, res.Forced)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil // the forced ones are reported above
	}
	return err
}

// newHandler serves the page and the socket.
func newHandler(h *hub.Hub, allowedOrigin string) (http.Handler, error) {
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
