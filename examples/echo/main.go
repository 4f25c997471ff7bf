// Command echo serves two plain WebSocket endpoints on one hub each, for
// conformance and load tests:
//
//	/echo    every message is sent back to its sender with its type
//	/fanout  every message is broadcast as-is to every /fanout session,
//	         the sender included
//
// Usage:
//
//	go run ./examples/echo -addr 127.0.0.1:9001 [-compress] [-max-message 16777216]
//
// It shuts down gracefully on SIGINT or SIGTERM: queued messages are
// delivered, then every session is closed with 1001.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run serves until ctx ends, then shuts down. It prints "listening on ADDR"
// once it accepts connections.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9001", "listen address")
	compress := fs.Bool("compress", false, "offer permessage-deflate")
	maxMessage := fs.Int64("max-message", 16<<20, "largest inbound message in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *maxMessage <= 0 {
		return errors.New("echo: -max-message must be positive")
	}
	cfg := hub.Config{
		MaxTextMessage:   *maxMessage,
		MaxBinaryMessage: *maxMessage,
		MaxQueuedBytes:   int(max(1<<20, 2**maxMessage)),
		Compression:      hub.Compression{Enabled: *compress},
	}
	echo, err := hub.New(cfg)
	if err != nil {
		return err
	}
	echo.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
	fanout, err := hub.New(cfg)
	if err != nil {
		return err
	}
	fanout.OnMessage(func(s *hub.Session, m hub.Message) { fanout.Broadcast(m) })

	mux := http.NewServeMux()
	for path, h := range map[string]*hub.Hub{"/echo": echo, "/fanout": fanout} {
		ws, err := middleware.New(h, middleware.Config{})
		if err != nil {
			return err
		}
		mux.Handle(path, ws)
	}
	return serve(ctx, *addr, mux, out, echo, fanout)
}

// serve runs srv on addr until ctx ends, then shuts the server and the hubs
// down, giving sessions up to 10s to drain.
func serve(ctx context.Context, addr string, h http.Handler, out io.Writer, hubs ...*hub.Hub) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "listening on %s\n", ln.Addr())
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
	for _, h := range hubs {
		res, err := h.Shutdown(sctx)
		fmt.Fprintf(out, "shutdown: %d sessions drained, %d forced\n", res.Drained, res.Forced)
		if err != nil {
			return err
		}
	}
	return nil
}
