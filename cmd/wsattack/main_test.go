package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/testdeps"
	"github.com/wsgate/wsgate/middleware"
)

var full = flag.Bool("attack", false, "replay the full attack against every example server")

func TestMain(m *testing.M) {
	if os.Getenv("WSATTACK_NAIVE") == "1" { // the test binary acting as a naive server
		naiveServer()
		os.Exit(0)
	}
	flag.Parse()
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// naiveServer is the examples' server as it was before the issue: only
// ReadHeaderTimeout set, and hubs shut down with what srv.Shutdown left of
// the budget. wsattack must fail against it.
func naiveServer() {
	h, _ := hub.New(hub.Config{MaxTextMessage: 4096})
	ws, _ := middleware.New(h, middleware.Config{})
	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go srv.Serve(ln)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	res, _ := h.Shutdown(sctx)
	srv.Close()
	fmt.Printf("shutdown: %d sessions drained, %d forced\n", res.Drained, res.Forced)
}

// goTool returns the go command, or skips the test (fails it when
// WSGATE_REQUIRE_DEPS=1).
func goTool(t *testing.T) string { return testdeps.GoTool(t, "the attacks on the examples") }

var (
	buildMu sync.Mutex
	built   = map[string]string{} // example name to binary, for this test run
	binDir  string
)

// example builds examples/NAME (once per test run) and returns its binary.
func example(t *testing.T, name string) string {
	t.Helper()
	goCmd := goTool(t)
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[name]; ok {
		return bin
	}
	if binDir == "" {
		dir, err := os.MkdirTemp("", "wsattack-test")
		if err != nil {
			t.Fatal(err)
		}
		binDir = dir
	}
	bin := filepath.Join(binDir, name)
	// Built in its own directory, so in the examples' module whether or
	// not the workspace (go.work) is in use.
	cmd := exec.Command(goCmd, "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "..", "examples", name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/%s: %v\n%s", name, err, out)
	}
	built[name] = bin
	return bin
}

// attack runs wsattack with args and returns its report and error.
func attack(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, &testWriter{t})
	t.Logf("wsattack %s\n%s", strings.Join(args, " "), out.String())
	return out.String(), err
}

// testWriter sends the target's stderr to the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestQuickAgainstEcho runs every case, small, against the echo example:
// the normal suite's version of the attack.
func TestQuickAgainstEcho(t *testing.T) {
	bin := example(t, "echo")
	out, err := attack(t,
		"-ws-path", "/echo", "-idle-conns", "6", "-idle-timeout", "300ms", "-shutdown-timeout", "3s",
		"-header-size", "128000", "-message-size", "1048576", "-grace", "20s",
		"--", bin, "-addr", "127.0.0.1:0", "-idle-timeout", "300ms", "-read-timeout", "1h",
		"-shutdown-timeout", "3s", "-max-message", "65536")
	if err != nil {
		t.Fatalf("wsattack: %v\n%s", err, out)
	}
	for _, c := range allCases {
		if !strings.Contains(out, "ok   "+c) {
			t.Errorf("case %s did not pass:\n%s", c, out)
		}
	}
}

// TestFailsAgainstNaiveServer runs wsattack against a server set up as the
// examples were before: the header, idle and bodyless cases must fail.
func TestFailsAgainstNaiveServer(t *testing.T) {
	t.Setenv("WSATTACK_NAIVE", "1")
	out, err := attack(t,
		"-idle-conns", "2", "-idle-timeout", "100ms", "-shutdown-timeout", "1s", "-grace", "1s",
		"-cases", "header,idle,bodyless",
		"--", os.Args[0])
	if err == nil {
		t.Fatalf("wsattack passed against a naive server:\n%s", out)
	}
	for _, c := range []string{"header", "idle", "bodyless"} {
		if !strings.Contains(out, "FAIL "+c) {
			t.Errorf("case %s did not fail:\n%s", c, out)
		}
	}
}

func TestBadArguments(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no program", []string{"-idle-conns", "1"}, "no program"},
		{"too many idle conns", []string{"-idle-conns", "1001", "--", "x"}, "-idle-conns"},
		{"no rounds", []string{"-rounds", "0", "--", "x"}, "-rounds"},
		{"unknown case", []string{"-cases", "idle,smuggle", "--", "x"}, "smuggle"},
		{"bad header", []string{"-header", "no colon", "--", "x"}, "Name: value"},
		{"zero idle timeout", []string{"-idle-timeout", "0s", "--", "x"}, "positive"},
		{"program never listens", []string{"--", "true"}, "ended before listening"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tc.args, &bytes.Buffer{}, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
				t.Fatalf("err %v (stderr %q), want it to mention %q", err, stderr.String(), tc.want)
			}
		})
	}
}

// TestFullAttack replays every case at size against the four example
// servers: go test ./cmd/wsattack -attack.
func TestFullAttack(t *testing.T) {
	if !*full {
		t.Skip("the full attack runs with -attack")
	}
	const secret = "wsattack-test-secret-0123456789abcdef"
	t.Setenv("WSGATE_JWT_SECRET", secret)
	common := []string{"-addr", "127.0.0.1:0", "-idle-timeout", "1s", "-read-timeout", "1h", "-shutdown-timeout", "3s"}
	targets := []struct {
		name, wsPath string
		token        bool
		args         []string
	}{
		{"echo", "/echo", false, []string{"-max-message", "65536"}},
		{"chat", "/ws", false, nil},
		{"chi", "/ws", true, []string{"-handshake-rate", "0", "-max-conns-per-ip", "0", "-max-conns-per-user", "0"}},
		{"echorouter", "/ws", true, []string{"-max-conns-per-user", "0"}},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			bin := example(t, tg.name)
			args := []string{"-ws-path", tg.wsPath, "-idle-conns", "200", "-idle-timeout", "1s", "-shutdown-timeout", "3s",
				"-message-size", "1048576", "-rounds", "20", "-grace", "20s", "-timeout", "5m"}
			if tg.token {
				tok, err := exec.Command(bin, "-mint-token", "wsattack").Output()
				if err != nil {
					t.Fatalf("%s -mint-token: %v", tg.name, err)
				}
				args = append(args, "-header", "Authorization: Bearer "+strings.TrimSpace(string(tok)))
			}
			args = append(append(append(args, "--", bin), common...), tg.args...)
			if out, err := attack(t, args...); err != nil {
				t.Fatalf("wsattack against %s: %v\n%s", tg.name, err, out)
			}
		})
	}
}
