package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runMeasure starts a server and a client as child processes of this
// executable and prints the server's memory per idle connection.
func runMeasure(ctx context.Context, o options, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	limit := o.timeout.String()
	stderr = &lockedWriter{w: stderr} // both children write to it
	srv, err := startChild(ctx, exe, stderr, "-mode", "server", "-impl", o.impl, "-addr", o.addr, "-timeout", limit, "-ping", o.ping.String())
	if err != nil {
		return err
	}
	defer srv.stop()
	line, err := srv.expect("listening")
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	addr := strings.TrimPrefix(line, "listening ")

	before, err := srv.askFields("stats")
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	cl, err := startChild(ctx, exe, stderr, "-mode", "client", "-addr", addr,
		"-conns", strconv.Itoa(o.conns), "-dialers", strconv.Itoa(o.dialers), "-timeout", limit)
	if err != nil {
		return err
	}
	defer cl.stop()
	if _, err := cl.expect("ready"); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	// The client has every connection open; the server may still be
	// attaching the last few.
	for {
		f, err := srv.askFields("sessions")
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		if f["sessions"] >= int64(o.conns) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server has %d of %d sessions: %w", f["sessions"], o.conns, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if o.ping > 0 {
		// Every session goes through keep-alive rounds before the count:
		// a ping, its pong, and the idle wait after it.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * o.ping):
		}
	}
	after, err := srv.askFields("stats")
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	per := func(keys ...string) int64 {
		var d int64
		for _, k := range keys {
			d += after[k] - before[k]
		}
		return d / int64(o.conns)
	}
	fmt.Fprintf(stdout, "result impl=%s conns=%d rss_before=%d rss_after=%d rss_per_conn=%d rss_gc_per_conn=%d heap_stack_per_conn=%d heap_per_conn=%d stack_per_conn=%d goroutines_per_conn=%.2f\n",
		o.impl, o.conns, before["rss"], after["rss"], per("rss"), per("rss_gc"),
		per("heap_inuse", "stack_inuse"), per("heap_inuse"), per("stack_inuse"),
		float64(after["goroutines"]-before["goroutines"])/float64(o.conns))
	if err := cl.stop(); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return srv.stop()
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// child is a wsbench process driven through its standard input and output.
type child struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	stopped bool
	err     error
}

func startChild(ctx context.Context, exe string, stderr io.Writer, args ...string) (*child, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = stderr
	cmd.WaitDelay = 5 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &child{cmd: cmd, in: in, out: bufio.NewScanner(out)}, nil
}

// expect reads one line, which must start with prefix.
func (c *child) expect(prefix string) (string, error) {
	if !c.out.Scan() {
		if err := c.out.Err(); err != nil {
			return "", err
		}
		return "", errors.New("exited early")
	}
	line := c.out.Text()
	if !strings.HasPrefix(line, prefix) {
		return "", fmt.Errorf("got %q, want %q…", line, prefix)
	}
	return line, nil
}

// askFields sends a command and parses the key=value (or "key value") answer
// that starts with the command's name.
func (c *child) askFields(cmd string) (map[string]int64, error) {
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return nil, err
	}
	line, err := c.expect(cmd)
	if err != nil {
		return nil, err
	}
	return parseFields(line)
}

// parseFields parses "name k=v k=v…" or "name v" into a map; the bare form
// is stored under name.
func parseFields(line string) (map[string]int64, error) {
	f := strings.Fields(line)
	m := make(map[string]int64, len(f))
	for i, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			if i != 0 {
				return nil, fmt.Errorf("bad field %q in %q", kv, line)
			}
			k, v = f[0], kv
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad field %q in %q", kv, line)
		}
		m[k] = n
	}
	return m, nil
}

// stop asks the child to quit and waits for it.
func (c *child) stop() error {
	if c.stopped {
		return c.err
	}
	c.stopped = true
	fmt.Fprintln(c.in, "quit")
	c.in.Close()
	c.err = c.cmd.Wait()
	return c.err
}
