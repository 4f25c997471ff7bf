// Package redistest starts a real redis-server for tests: on 127.0.0.1, on
// a free port, with no persistence and a temporary directory, stopped by
// its PID when the test ends. Restart kills it and starts it again on the
// same port, as a crash and restart would, for failure tests.
//
// Without the binary the test is skipped with a message saying so, unless
// WSGATE_REQUIRE_DEPS=1 (as in CI), where it fails: a skip there would hide
// a missing install step.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/wsgate/wsgate/internal/testdeps"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Wait bounds every wait for the server (to start, to answer, to end). It
// is a failure bound, not an expected time.
var Wait = 20 * time.Second

// Options says what kind of server Start runs. The zero value is a
// standalone server.
type Options struct {
	// Cluster runs a one-node Redis Cluster that owns every hash slot, so
	// that code using a cluster client (slot routing, sharded pub/sub,
	// scripts on hash-tagged keys) runs against a real cluster.
	Cluster bool
}

// Server is a redis-server process started by a test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	opts Options

	mu   sync.Mutex // guards proc
	proc *process   // nil while stopped
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed once cmd.Wait has returned
}

// Binary returns the path of redis-server: $WSGATE_REDIS_SERVER, else the
// first redis-server on $PATH, else /usr/bin/redis-server; "" when none
// exists.
func Binary() string {
	if p := os.Getenv("WSGATE_REDIS_SERVER"); p != "" {
		return p
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	return ""
}

// Start starts a standalone redis-server for t and stops it when t ends.
// It skips t when the binary is missing (fails with WSGATE_REQUIRE_DEPS=1).
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with Options.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		testdeps.Missing(t, "redis-server", "Redis tests",
			"install the Debian package redis-server, or set WSGATE_REDIS_SERVER")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), opts: opts}
	t.Cleanup(s.Stop)
	// A free port may be taken between our probe and redis-server's bind;
	// try a few.
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if err = s.start(); err == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", err)
	return nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port returns the server's port.
func (s *Server) Port() int { return s.port }

// PID returns the process ID of the running server, or 0 while stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Stop kills the server by its PID (SIGKILL: no goodbye to its clients, as
// in a crash) and waits for it to end. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(Wait):
		s.t.Errorf("redistest: redis-server pid %d did not end", p.cmd.Process.Pid)
	}
}

// Restart stops the server and starts a new one on the same port, with no
// data and no subscriptions.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	// The port is ours, but the kernel may need a moment to release it.
	deadline := time.Now().Add(Wait)
	for time.Now().Before(deadline) {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.port, err)
}

// start runs redis-server on s.port and returns once it answers PING.
func (s *Server) start() error {
	out := &lockedBuffer{}
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "warning",
	}
	if s.opts.Cluster {
		// nodes.conf in dir keeps the slots across a Restart.
		args = append(args, "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes-"+strconv.Itoa(s.port)+".conf")
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	err := awaitPing(s.Addr(), p.done)
	if err == nil && s.opts.Cluster {
		err = claimSlots(s.Addr(), p.done)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("redis-server on port %d: %v; output:\n%s", s.port, err, out.String())
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// awaitPing polls addr with PING until it answers PONG, the process ends
// or Wait passes.
func awaitPing(addr string, done <-chan struct{}) error {
	deadline := time.Now().Add(Wait)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("exited")
		default:
		}
		if err = ping(addr); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("no PONG within %v: %v", Wait, err)
}

func ping(addr string) error {
	line, err := command(addr, "PING")
	if err == nil && line != "+PONG" {
		err = fmt.Errorf("answered %q", line)
	}
	return err
}

// claimSlots gives a fresh one-node cluster every hash slot (a restarted
// one has them from nodes.conf) and waits until it reports cluster_state:ok.
func claimSlots(addr string, done <-chan struct{}) error {
	if _, err := command(addr, "CLUSTER ADDSLOTSRANGE 0 16383"); err != nil {
		return err
	}
	deadline := time.Now().Add(Wait)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("exited")
		default:
		}
		info, err := command(addr, "CLUSTER INFO")
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("cluster_state not ok within %v", Wait)
}

// command sends one inline command and returns the first line of the
// answer, or the whole body of a bulk string answer.
func command(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "$") {
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 || n > 1<<20 {
			return line, err
		}
		body := make([]byte, n+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return "", err
		}
		return string(body[:n]), nil
	}
	return line, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects the server's output, written by exec's copying
// goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 64<<10 { // keep the start; a test needs no more
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
