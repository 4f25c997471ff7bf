package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wsgate/wsgate/hub"
)

// Config is what Run serves.
type Config struct {
	// Flags gives the address, the TLS files (both or neither) and the
	// server's timeouts.
	Flags Flags
	// Handler serves every request.
	Handler http.Handler
	// Hubs are shut down when ctx ends, each with its own drain budget
	// (Flags.ShutdownTimeout), at the same time as the HTTP server.
	Hubs []*hub.Hub
	// Out receives the "listening on" line and one shutdown line per hub.
	// Nil means io.Discard.
	Out io.Writer
	// URL prints the listen address as a URL (http://ADDR or https://ADDR);
	// otherwise it is printed bare.
	URL bool
	// Logger receives the HTTP server's own errors (TLS handshake
	// failures, for example) at info level. Nil means silent.
	Logger *slog.Logger
	// MaxHeaderBytes bounds a request's header; a larger one is answered
	// with 431. Zero means DefaultMaxHeaderBytes (net/http adds 4 KiB of
	// slack to whatever is set).
	MaxHeaderBytes int
}

// ErrHubStuck is returned by Run when a hub has not finished shutting down
// well after its drain budget (a callback that never returns, for example).
var ErrHubStuck = errors.New("serve: a hub did not finish shutting down")

// stuckGrace is how long past the drain budget Run waits for a hub's
// Shutdown to return before giving up with ErrHubStuck.
const stuckGrace = 10 * time.Second

// newServer returns the http.Server Run serves with: every timeout set, so
// neither an idle keep-alive connection, a slow header, nor a declared body
// that never comes holds a connection for long, and headers bounded.
func newServer(cfg Config) *http.Server {
	f := cfg.Flags
	return &http.Server{
		Handler:           cfg.Handler,
		ReadHeaderTimeout: min(DefaultReadHeaderTimeout, orDefault(f.ReadTimeout, DefaultReadTimeout)),
		// ReadTimeout is the body deadline too. net/http and gorilla both
		// clear the connection's deadlines when it is hijacked, so it does
		// not end WebSocket sessions (TestWebSocketOutlivesTimeouts).
		ReadTimeout:    orDefault(f.ReadTimeout, DefaultReadTimeout),
		IdleTimeout:    orDefault(f.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes: orDefault(cfg.MaxHeaderBytes, DefaultMaxHeaderBytes),
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelInfo),
	}
}

func orDefault[T time.Duration | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Run listens on cfg.Flags.Addr and serves cfg.Handler, over TLS when the
// flags name a certificate and key, until ctx ends. Then it shuts down:
// every hub stops admitting sessions, delivers what is queued, sends close
// 1001 and gives its sessions up to ShutdownTimeout to answer, while the
// HTTP server gets the same budget for its requests in flight and is then
// closed. The two budgets are independent: a request that holds its
// connection (a declared body that never comes) cannot eat the sessions'
// drain time. Run reports each hub's drained and forced sessions on Out;
// forced sessions are reported, not returned as an error.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Flags.Check(); err != nil {
		return err
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	timeout := orDefault(cfg.Flags.ShutdownTimeout, DefaultShutdownTimeout)
	srv := newServer(cfg)
	if cfg.Flags.TLS() {
		cert, err := tls.LoadX509KeyPair(cfg.Flags.TLSCert, cfg.Flags.TLSKey)
		if err != nil {
			return fmt.Errorf("-tls-cert/-tls-key: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	// srv.Shutdown starts each hub's Shutdown with its own budget: the
	// server does not track hijacked connections, so it would not wait
	// for the sessions, and they must not wait for it.
	for _, h := range cfg.Hubs {
		h.RegisterOnShutdown(srv, timeout)
	}
	ln, err := net.Listen("tcp", cfg.Flags.Addr)
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	if cfg.URL {
		addr = cfg.Flags.scheme() + "://" + addr
	}
	fmt.Fprintf(cfg.Out, "listening on %s\n", addr)
	errc := make(chan error, 1)
	go func() {
		if cfg.Flags.TLS() {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	if err := shutdown(srv, timeout); err != nil {
		cfg.Logger.Info("http server: requests still running after the shutdown budget were cut", "err", err)
	}
	if serveErr == nil {
		serveErr = <-errc // Serve returns ErrServerClosed at once on Shutdown
	}
	stuck := time.NewTimer(timeout + stuckGrace)
	defer stuck.Stop()
	for _, h := range cfg.Hubs {
		select {
		case <-h.Done():
		case <-stuck.C:
			return ErrHubStuck
		}
		res, _ := h.Shutdown(context.Background()) // done: returns the first call's result
		fmt.Fprintf(cfg.Out, "shutdown: %d sessions drained, %d forced\n", res.Drained, res.Forced)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		return nil
	}
	return serveErr
}

// shutdown stops srv within timeout, closing the connections of requests
// still running when it ends. Hubs registered with srv start their own
// shutdown at once.
func shutdown(srv *http.Server, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		srv.Close()
	}
	return err
}
