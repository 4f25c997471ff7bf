package serve_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wsgate/wsgate/examples/internal/serve"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
)

// serveGracefully is the server setup README's "Deployment: the
// http.Server" section recommends, kept here so that it compiles and runs:
// every timeout set, headers bounded, and a shutdown in which the hubs
// drain on their own budget whatever the HTTP connections do.
func serveGracefully(ctx context.Context, ln net.Listener, handler http.Handler, hubs ...*hub.Hub) error {
	const drain = 10 * time.Second // budget for the sessions, and for the requests
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second, // a client that trickles its header
		ReadTimeout:       30 * time.Second, // a whole request with its body (cleared for WebSockets on hijack)
		IdleTimeout:       60 * time.Second, // a keep-alive connection between requests
		MaxHeaderBytes:    32 << 10,         // larger headers get 431
	}
	for _, h := range hubs {
		// srv.Shutdown starts h.Shutdown at once, with its own budget:
		// http.Server does not track hijacked connections.
		h.RegisterOnShutdown(srv, drain)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err
	case <-ctx.Done(): // SIGTERM, with signal.NotifyContext
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close() // requests still running (a body that never comes): cut them
	}
	for _, h := range hubs {
		<-h.Done() // drained, or forced when its budget ended
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Example_deployment serves a hub with the recommended http.Server settings
// and shuts it down gracefully.
func Example_deployment() {
	h, err := hub.New(hub.Config{})
	if err != nil {
		panic(err)
	}
	ws, err := middleware.New(h, middleware.Config{})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	stop() // stands in for SIGTERM
	fmt.Println(serveGracefully(ctx, ln, mux, h))
	res, _ := h.Shutdown(context.Background()) // after Done: the result of the drain
	fmt.Printf("%d drained, %d forced\n", res.Drained, res.Forced)
	// Output:
	// <nil>
	// 0 drained, 0 forced
}

// ExampleFlags_OpenCluster makes a hub one node of a cluster when the
// flags name a broker (here none: a single node, and Broker returns nil).
func ExampleFlags_OpenCluster() {
	var f serve.Flags
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	f.Register(fs, "127.0.0.1:0")
	fs.Parse([]string{}) // or -broker redis://127.0.0.1:6379 -node-id a, or -embedded-nats
	cluster, err := f.OpenCluster(io.Discard, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	defer cluster.Close() // after the hubs have shut down
	broker, err := cluster.Broker("myapp")
	if err != nil {
		panic(err)
	}
	h, err := hub.New(hub.Config{NodeID: cluster.NodeID, Broker: broker})
	if err != nil {
		panic(err)
	}
	defer h.Shutdown(context.Background())
	fmt.Printf("engine %q, broker %v\n", cluster.Engine, broker)
	// Output:
	// engine "", broker <nil>
}
