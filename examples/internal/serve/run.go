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
	// Flags gives the address and the TLS files (both or neither).
	Flags Flags
	// Handler serves every request.
	Handler http.Handler
	// Hubs are shut down, in order, after the HTTP server.
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
	// ShutdownTimeout bounds the drain after ctx ends. Zero means 10s.
	ShutdownTimeout time.Duration
}

// Run listens on cfg.Flags.Addr and serves cfg.Handler, over TLS when the
// flags name a certificate and key, until ctx ends. Then it stops the HTTP
// server, shuts every hub down (queued messages are delivered, sessions get
// close 1001 and up to ShutdownTimeout to answer) and reports each hub's
// drained and forced sessions on Out. Forced sessions are reported, not
// returned as an error.
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
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	srv := &http.Server{
		Handler:           cfg.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelInfo),
	}
	if cfg.Flags.TLS() {
		cert, err := tls.LoadX509KeyPair(cfg.Flags.TLSCert, cfg.Flags.TLSKey)
		if err != nil {
			return fmt.Errorf("-tls-cert/-tls-key: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
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
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	srv.Shutdown(sctx)
	for _, h := range cfg.Hubs {
		res, err := h.Shutdown(sctx)
		fmt.Fprintf(cfg.Out, "shutdown: %d sessions drained, %d forced\n", res.Drained, res.Forced)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && serveErr == nil {
			serveErr = err
		}
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		return nil
	}
	return serveErr
}
