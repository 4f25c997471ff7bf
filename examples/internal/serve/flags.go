package serve

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Flags holds the flags every example accepts.
type Flags struct {
	Addr     string // -addr: the listen address
	TLSCert  string // -tls-cert: a PEM certificate chain; serve TLS with -tls-key
	TLSKey   string // -tls-key: the certificate's PEM private key
	LogLevel string // -log-level: debug, info, warn or error

	// IdleTimeout (-idle-timeout) closes a keep-alive connection that
	// waits this long for its next request. Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// ReadTimeout (-read-timeout) bounds reading one whole request,
	// headers and body, so a client that declares a body and never sends
	// it loses its connection. WebSocket sessions are not affected: the
	// deadline is cleared when the connection is hijacked. Zero means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// ShutdownTimeout (-shutdown-timeout) is the drain budget after the
	// context ends: each hub gets this long for its sessions, and the HTTP
	// server this long for its requests, independently. Zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Cluster makes the program one node of a cluster (-broker,
	// -node-id, -embedded-nats, -nats-addr); OpenCluster connects it.
	Cluster ClusterFlags
}

// The defaults of the server settings in Flags and Config.
const (
	DefaultIdleTimeout       = 60 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultMaxHeaderBytes    = 32 << 10
)

// Register defines the flags on fs, with addr as the default -addr.
func (f *Flags) Register(fs *flag.FlagSet, addr string) {
	fs.StringVar(&f.Addr, "addr", addr, "listen address")
	fs.StringVar(&f.TLSCert, "tls-cert", "", "PEM certificate `file`; with -tls-key, serve https and wss")
	fs.StringVar(&f.TLSKey, "tls-key", "", "PEM private key `file` of -tls-cert")
	fs.StringVar(&f.LogLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	fs.DurationVar(&f.IdleTimeout, "idle-timeout", DefaultIdleTimeout, "close a keep-alive HTTP connection idle this long")
	fs.DurationVar(&f.ReadTimeout, "read-timeout", DefaultReadTimeout, "bound on reading one HTTP request with its body (WebSocket sessions are not affected)")
	fs.DurationVar(&f.ShutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "drain budget on SIGTERM, for the WebSocket sessions and for the HTTP requests each")
	f.Cluster.register(fs)
}

// Check reports flags that do not go together: -tls-cert without -tls-key
// or the reverse, an unknown -log-level, a negative duration, a -broker
// URL of no known engine, or -node-id without a broker.
func (f *Flags) Check() error {
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return errors.New("-tls-cert and -tls-key go together: give both or neither")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"-idle-timeout", f.IdleTimeout}, {"-read-timeout", f.ReadTimeout}, {"-shutdown-timeout", f.ShutdownTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("%s %v: must not be negative", d.name, d.v)
		}
	}
	if _, err := f.level(); err != nil {
		return err
	}
	return f.Cluster.check()
}

func (f *Flags) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(f.LogLevel)); err != nil {
		return 0, fmt.Errorf("-log-level %q: want debug, info, warn or error", f.LogLevel)
	}
	return l, nil
}

// Logger returns a text logger writing to w at -log-level.
func (f *Flags) Logger(w io.Writer) (*slog.Logger, error) {
	l, err := f.level()
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// TLS reports whether the flags ask for TLS.
func (f *Flags) TLS() bool { return f.TLSCert != "" && f.TLSKey != "" }

// scheme returns "https" or "http".
func (f *Flags) scheme() string {
	if f.TLS() {
		return "https"
	}
	return "http"
}

// WS returns the WebSocket scheme matching the flags: "wss" or "ws".
func (f *Flags) WS() string { return strings.Replace(f.scheme(), "http", "ws", 1) }
