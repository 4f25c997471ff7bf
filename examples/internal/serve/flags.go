package serve

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Flags holds the flags every example accepts.
type Flags struct {
	Addr     string // -addr: the listen address
	TLSCert  string // -tls-cert: a PEM certificate chain; serve TLS with -tls-key
	TLSKey   string // -tls-key: the certificate's PEM private key
	LogLevel string // -log-level: debug, info, warn or error
}

// Register defines the flags on fs, with addr as the default -addr.
func (f *Flags) Register(fs *flag.FlagSet, addr string) {
	fs.StringVar(&f.Addr, "addr", addr, "listen address")
	fs.StringVar(&f.TLSCert, "tls-cert", "", "PEM certificate `file`; with -tls-key, serve https and wss")
	fs.StringVar(&f.TLSKey, "tls-key", "", "PEM private key `file` of -tls-cert")
	fs.StringVar(&f.LogLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
}

// Check reports flags that do not go together: -tls-cert without -tls-key
// or the reverse, or an unknown -log-level.
func (f *Flags) Check() error {
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return errors.New("-tls-cert and -tls-key go together: give both or neither")
	}
	_, err := f.level()
	return err
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
