package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// mainEnv makes the test binary act as wsbench, so that measure mode and
// the tests can start it as a server or client process.
const mainEnv = "WSBENCH_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Setenv(mainEnv, "1") // inherited by the child processes
	goleak.VerifyTestMain(m)
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no mode", nil, "-mode must be"},
		{"unknown mode", []string{"-mode", "flood"}, "-mode must be"},
		{"unknown impl", []string{"-mode", "server", "-impl", "melody"}, "-impl must be"},
		{"inline is not a broadcast impl", []string{"-mode", "server", "-impl", "inline"}, "-impl must be"},
		{"zero conns", []string{"-mode", "client", "-conns", "0"}, "-conns must be positive"},
		{"zero dialers", []string{"-mode", "client", "-dialers", "0"}, "-dialers must be positive"},
		{"zero timeout", []string{"-mode", "server", "-timeout", "0s"}, "-timeout must be positive"},
		{"private address", []string{"-mode", "client", "-addr", "10.1.2.3:80"}, "not a loopback address"},
		{"public name", []string{"-mode", "client", "-addr", "example.com:80"}, "not a loopback address"},
		{"no port", []string{"-mode", "client", "-addr", "127.0.0.1"}, "-addr"},
		{"unknown flag", []string{"-mode", "client", "-rate", "5"}, "not defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, strings.NewReader(""), &stdout, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not say %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestServerAndClient runs a server and a client process, broadcasts and
// checks that every connection got every message.
func TestServerAndClient(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, impl := range []string{"wsgate", "gorilla", "gorilla-inline"} {
		t.Run(impl, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stderr lockedBuffer // both children write to it
			srv, err := startChild(ctx, exe, &stderr, "-mode", "server", "-impl", impl, "-timeout", "1m")
			if err != nil {
				t.Fatal(err)
			}
			defer srv.stop()
			line, err := srv.expect("listening ")
			if err != nil {
				t.Fatal(err, stderr.String())
			}
			addr := strings.TrimPrefix(line, "listening ")
			cl, err := startChild(ctx, exe, &stderr, "-mode", "client", "-addr", addr, "-conns", "50", "-timeout", "1m")
			if err != nil {
				t.Fatal(err)
			}
			defer cl.stop()
			if _, err := cl.expect("ready 50"); err != nil {
				t.Fatal(err, stderr.String())
			}
			ask := func(c *child, cmd, want string) {
				t.Helper()
				fmt.Fprintln(c.in, cmd)
				if got, err := c.expect(want); err != nil {
					t.Fatalf("%s: %v; stderr: %s", cmd, err, stderr.String())
				} else if got != want {
					t.Fatalf("%s: got %q, want %q", cmd, got, want)
				}
			}
			// The client is ready once its handshakes are done; the server
			// may not have attached every session yet.
			for {
				f, err := srv.askFields("sessions")
				if err != nil {
					t.Fatal(err)
				}
				if f["sessions"] == 50 {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("server has %d of 50 sessions", f["sessions"])
				case <-time.After(5 * time.Millisecond):
				}
			}
			ask(srv, "broadcast 10", "broadcast 10")
			ask(cl, "wait 10", "ok 10")
			ask(cl, "count", "count total=500 min=10 max=10 closed=0")
			// The broadcasts were stamped: one latency sample per delivery.
			if f, err := cl.askFields("latency"); err != nil || f["n"] != 500 || f["p50_ns"] <= 0 || f["p99_ns"] < f["p50_ns"] || f["max_ns"] < f["p99_ns"] {
				t.Fatalf("latency: %v %v", f, err)
			}
			if f, err := cl.askFields("latency"); err != nil || f["n"] != 0 {
				t.Fatalf("latency after taking it: %v %v", f, err)
			}
			// 1,003 round trips over 50 connections: 20 or 21 each, every
			// reply accounted for, and replies are not counted as broadcasts.
			fmt.Fprintln(cl.in, "echo 1003")
			line, err = cl.expect("echo ")
			if err != nil {
				t.Fatal(err)
			}
			if f, err := parseFields(line); err != nil || f["rt"] != 1003 || f["n"] != 1003 || f["ns"] <= 0 || f["p50_ns"] <= 0 || f["p99_ns"] < f["p50_ns"] {
				t.Fatalf("echo: %v %v; stderr: %s", f, err, stderr.String())
			}
			ask(cl, "count", "count total=500 min=10 max=10 closed=0")
			fmt.Fprintln(cl.in, "echo 50")
			if _, err := cl.expect("echo rt=50 "); err != nil {
				t.Fatal(err)
			}
			// echolat covers both runs, then starts again.
			if f, err := cl.askFields("echolat"); err != nil || f["n"] != 1053 || f["p50_ns"] <= 0 {
				t.Fatalf("echolat: %v %v", f, err)
			}
			if f, err := cl.askFields("echolat"); err != nil || f["n"] != 0 {
				t.Fatalf("echolat after taking it: %v %v", f, err)
			}
			ask(cl, "echo 0", "error echo needs a positive count")
			if f, err := srv.askFields("stats"); err != nil || f["rss"] <= 0 || f["sessions"] != 50 {
				t.Fatalf("stats: %v %v", f, err)
			}
			if f, err := cl.askFields("cpu"); err != nil || f["ns"] <= 0 {
				t.Fatalf("cpu: %v %v", f, err)
			}
			if err := cl.stop(); err != nil {
				t.Fatalf("client: %v; stderr: %s", err, stderr.String())
			}
			if err := srv.stop(); err != nil {
				t.Fatalf("server: %v; stderr: %s", err, stderr.String())
			}
		})
	}
}

// TestMeasure runs measure mode for real with a few connections.
func TestMeasure(t *testing.T) {
	t.Parallel()
	for _, impl := range []string{"wsgate", "gorilla"} {
		t.Run(impl, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			o := options{mode: "measure", impl: impl, addr: "127.0.0.1:0", conns: 50, dialers: 8, timeout: time.Minute}
			if err := runMeasure(ctx, o, &stdout, &stderr); err != nil {
				t.Fatalf("%v; stderr: %s", err, stderr.String())
			}
			out := strings.TrimSpace(stdout.String())
			f := make(map[string]string)
			for _, kv := range strings.Fields(out)[1:] {
				k, v, _ := strings.Cut(kv, "=")
				f[k] = v
			}
			rss, err := strconv.ParseInt(f["rss_after"], 10, 64)
			if !strings.HasPrefix(out, "result ") || f["impl"] != impl || f["conns"] != "50" || err != nil || rss <= 0 {
				t.Fatalf("unexpected result %q", out)
			}
			for _, k := range []string{"rss_per_conn", "rss_gc_per_conn", "heap_stack_per_conn", "heap_per_conn", "stack_per_conn", "goroutines_per_conn"} {
				if _, err := strconv.ParseFloat(f[k], 64); err != nil {
					t.Errorf("%s: %v in %q", k, err, out)
				}
			}
		})
	}
}

// lockedBuffer is a bytes.Buffer that several goroutines may write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestParseFields(t *testing.T) {
	t.Parallel()
	f, err := parseFields("stats rss=10 heap_inuse=20")
	if err != nil || f["rss"] != 10 || f["heap_inuse"] != 20 {
		t.Fatalf("%v %v", f, err)
	}
	if f, err := parseFields("sessions 7"); err != nil || f["sessions"] != 7 {
		t.Fatalf("%v %v", f, err)
	}
	for _, bad := range []string{"stats rss=x", "stats rss=1 7"} {
		if _, err := parseFields(bad); err == nil {
			t.Errorf("parseFields(%q) accepted it", bad)
		}
	}
}

func TestChildExitsEarly(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	c, err := startChild(context.Background(), exe, &stderr, "-mode", "nonsense")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.expect("listening"); err == nil {
		t.Fatal("expect succeeded on a child that exited")
	}
	if err := c.stop(); err == nil || !errors.As(err, new(interface{ ExitCode() int })) {
		t.Fatalf("stop: %v", err)
	}
}

// TestHistogram: percentiles come out within a bucket (about 3 %) of the
// exact ones, and take empties the histogram.
func TestHistogram(t *testing.T) {
	t.Parallel()
	var h histogram
	for i := 1; i <= 10000; i++ {
		h.record(i, time.Duration(i)*time.Microsecond)
	}
	s := h.take().summary()
	near := func(got, want time.Duration) bool { return got >= want*96/100 && got <= want*104/100 }
	if s.n != 10000 || !near(s.p50, 5*time.Millisecond) || !near(s.p99, 9900*time.Microsecond) || !near(s.max, 10*time.Millisecond) {
		t.Fatalf("summary %v", s)
	}
	if s := h.take().summary(); s.n != 0 || s.p50 != 0 {
		t.Fatalf("after take: %v", s)
	}
	for _, v := range []int64{0, 1, 31, 32, 33, 63, 64, 1000, 1 << 40, math.MaxInt64} {
		b := histBucket(v)
		if b < 0 || b >= histBuckets {
			t.Fatalf("bucket of %d is %d", v, b)
		}
		if v > 0 {
			if m := histValue(b); float64(m) < float64(v)*0.96 || float64(m) > float64(v)*1.04 {
				t.Errorf("bucket of %d is worth %d", v, m)
			}
		}
	}
	if histBucket(-5) != 0 {
		t.Error("negative durations must land in the first bucket")
	}
}
