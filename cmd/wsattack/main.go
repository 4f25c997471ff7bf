package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsattack:", err)
		os.Exit(1)
	}
}

// errFailed is returned when a case failed; each failure is printed.
var errFailed = errors.New("some cases failed")

// allCases are the cases in the order they run: bodyless stops the target.
var allCases = []string{"header", "idle", "message", "bodyless"}

// config is what the flags decide.
type config struct {
	wsPath          string
	header          http.Header // added to every request
	idleConns       int
	idleTimeout     time.Duration // the target's IdleTimeout
	shutdownTimeout time.Duration // the target's drain budget
	headerSize      int
	messageSize     int
	rounds          int
	grace           time.Duration
	cases           []string
	program         []string
	stderr          io.Writer // the target's stderr goes here
}

// headerFlag collects repeated -header "Name: value" flags.
type headerFlag struct{ h http.Header }

func (f headerFlag) String() string { return "" }

func (f headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q: want Name: value", s)
	}
	f.h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

func parse(args []string, stderr io.Writer) (*config, time.Duration, error) {
	cfg := &config{header: http.Header{}, stderr: stderr}
	fs := flag.NewFlagSet("wsattack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.wsPath, "ws-path", "/ws", "the WebSocket endpoint's path")
	fs.Var(headerFlag{cfg.header}, "header", "a `Name: value` header for every request (repeatable), such as a token")
	fs.IntVar(&cfg.idleConns, "idle-conns", 50, "keep-alive connections left idle (1 to 1000)")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", 60*time.Second, "the target's configured IdleTimeout")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "the target's configured shutdown budget")
	fs.IntVar(&cfg.headerSize, "header-size", 128<<10, "bytes of the oversized header")
	fs.IntVar(&cfg.messageSize, "message-size", 1<<20, "bytes of the oversized message (over the target's limit)")
	fs.IntVar(&cfg.rounds, "rounds", 1, "oversized messages, one per session, one after another (1 to 1000)")
	fs.DurationVar(&cfg.grace, "grace", 10*time.Second, "slack added to every configured bound")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on the whole run")
	cases := fs.String("cases", strings.Join(allCases, ","), "the cases to run, comma-separated")
	if err := fs.Parse(args); err != nil {
		return nil, 0, err
	}
	cfg.program = fs.Args()
	switch {
	case len(cfg.program) == 0:
		return nil, 0, errors.New("no program to attack: give it after --")
	case cfg.idleConns < 1 || cfg.idleConns > 1000:
		return nil, 0, fmt.Errorf("-idle-conns %d: want 1 to 1000", cfg.idleConns)
	case cfg.rounds < 1 || cfg.rounds > 1000:
		return nil, 0, fmt.Errorf("-rounds %d: want 1 to 1000", cfg.rounds)
	case cfg.headerSize < 1 || cfg.headerSize > 16<<20:
		return nil, 0, fmt.Errorf("-header-size %d: want 1 to 16 MiB", cfg.headerSize)
	case cfg.messageSize < 1 || cfg.messageSize > 256<<20:
		return nil, 0, fmt.Errorf("-message-size %d: want 1 to 256 MiB", cfg.messageSize)
	case cfg.idleTimeout <= 0 || cfg.shutdownTimeout <= 0 || cfg.grace < 0 || *timeout <= 0:
		return nil, 0, errors.New("-idle-timeout, -shutdown-timeout and -timeout must be positive, -grace not negative")
	}
	for _, c := range strings.Split(*cases, ",") {
		if !slices.Contains(allCases, c) {
			return nil, 0, fmt.Errorf("-cases: unknown case %q (want %s)", c, strings.Join(allCases, ", "))
		}
	}
	for _, c := range allCases { // in their order, whatever the flag's
		if slices.Contains(strings.Split(*cases, ","), c) {
			cfg.cases = append(cfg.cases, c)
		}
	}
	return cfg, *timeout, nil
}

// run starts the program, runs the cases against it, prints one line per
// case and returns errFailed if any failed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, timeout, err := parse(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tg, err := startTarget(ctx, cfg.program, cfg.stderr)
	if err != nil {
		return err
	}
	defer tg.kill()
	failed := false
	for i, name := range cfg.cases {
		on := tg
		if name == "bodyless" && i > 0 {
			// It counts how the program's sessions ended on SIGTERM: a
			// session an earlier case left closing must not be among them.
			fresh, err := startTarget(ctx, cfg.program, cfg.stderr)
			if err != nil {
				return err
			}
			defer fresh.kill()
			on = fresh
		}
		detail, err := cases[name](ctx, cfg, on)
		if err != nil {
			failed = true
			fmt.Fprintf(stdout, "FAIL %-8s %v\n", name, err)
			continue
		}
		fmt.Fprintf(stdout, "ok   %-8s %s\n", name, detail)
	}
	if failed {
		return errFailed
	}
	return nil
}

// cases maps each case's name to its function, which returns what it saw.
var cases = map[string]func(context.Context, *config, *target) (string, error){
	"header":   attackHeader,
	"idle":     attackIdle,
	"message":  attackMessage,
	"bodyless": attackBodyless,
}
