package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/wsgate/wsgate/examples/internal/testcert"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/wstest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("WSGATE_RUN_ECHO") == "1" { // the test binary acting as the program
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// start runs the program in-process and returns its address and a function
// that stops it and returns run's error.
func start(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	addr, _, stop := startOut(t, args...)
	return addr, stop
}

// startOut is start that also returns the lines printed before "listening
// on" (the embedded NATS server's address, for one).
func startOut(t *testing.T, args ...string) (string, []string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.Close()
	}()
	var before []string
	addr := awaitAddrLines(t, bufio.NewScanner(pr), &before)
	go io.Copy(io.Discard, pr)
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-errc })
		return err
	}
	// Cleanups run last-in first-out: the clients a test dials later are
	// closed before the program stops, so shutdown does not wait for them.
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return addr, before, stop
}

func awaitAddr(t *testing.T, sc *bufio.Scanner) string {
	t.Helper()
	return awaitAddrLines(t, sc, nil)
}

// awaitAddrLines returns the address of the "listening on" line, appending
// the lines before it to before (if not nil).
func awaitAddrLines(t *testing.T, sc *bufio.Scanner, before *[]string) string {
	t.Helper()
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			return addr
		}
		if before != nil {
			*before = append(*before, sc.Text())
		}
	}
	t.Fatalf("program ended before listening: %v", sc.Err())
	return ""
}

func TestEchoKeepsTypes(t *testing.T) {
	addr, stop := start(t)
	c := wstest.Dial(t, "ws://"+addr+"/echo")
	cases := []hub.Message{
		hub.Text("hello"),
		hub.Binary([]byte{0, 1, 2, 0xff}),
		hub.Text(strings.Repeat("é", 40000)),
		hub.Binary(nil),
	}
	for _, tc := range cases {
		c.Send(t, tc)
		if got := c.Read(t); got.Type != tc.Type || string(got.Data) != string(tc.Data) {
			t.Fatalf("echo of a %v message (%d bytes) came back as %v (%d bytes)", tc.Type, len(tc.Data), got.Type, len(got.Data))
		}
	}
	// Shutdown waits for the client's answer to its close frame, which
	// AwaitClose gives.
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	if code, _ := c.AwaitClose(t); code != hub.CloseGoingAway {
		t.Fatalf("after shutdown the client got close %d, want 1001", code)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

func TestFanoutReachesEverySessionIncludingSender(t *testing.T) {
	addr, _ := start(t)
	// Each new connection's round trip proves it is attached (and reaches
	// the earlier ones) before the next one is dialed.
	var conns []*wstest.Conn
	for i := 0; i < 3; i++ {
		c := wstest.Dial(t, "ws://"+addr+"/fanout")
		conns = append(conns, c)
		c.SendText(t, string(rune('0'+i)))
		for _, d := range conns {
			d.Read(t)
		}
	}
	conns[1].Send(t, hub.Binary([]byte("all")))
	for i, c := range conns {
		if m := c.Read(t); m.Type != hub.BinaryMessage || string(m.Data) != "all" {
			t.Fatalf("conn %d read %v %q", i, m.Type, m.Data)
		}
	}
}

func TestMaxMessageFlag(t *testing.T) {
	addr, _ := start(t, "-max-message", "100")
	c := wstest.Dial(t, "ws://"+addr+"/echo")
	c.Send(t, hub.Binary(make([]byte, 101)))
	if code, _ := c.AwaitClose(t); code != hub.CloseTooBig {
		t.Fatalf("a 101-byte message over -max-message 100 got close %d, want 1009", code)
	}
}

// TestTLS serves wss with a certificate made for the test.
func TestTLS(t *testing.T) {
	cert := testcert.Write(t)
	addr, _ := start(t, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	c := wstest.Dial(t, "wss://"+addr+"/echo", wstest.TLSConfig(cert.Client))
	c.SendText(t, "secret")
	if got := c.ReadText(t); got != "secret" {
		t.Fatalf("echo over wss: %q", got)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-max-message", "0"},
		{"-nope"},
		{"-tls-cert", "cert.pem"},
		{"-tls-key", "key.pem"},
		{"-log-level", "loud"},
		{"-idle-timeout", "-1s"},
		{"-shutdown-timeout", "soon"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}

// TestSIGTERMDrains runs the program as its own process and stops it with
// SIGTERM: a message queued before the signal arrives, then close 1001.
func TestSIGTERMDrains(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "WSGATE_RUN_ECHO=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	addr := awaitAddr(t, sc)
	c := wstest.Dial(t, "ws://"+addr+"/echo")
	c.SendText(t, "before")
	if got := c.ReadText(t); got != "before" {
		t.Fatalf("echo before SIGTERM: %q", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, _ := c.AwaitClose(t); code != hub.CloseGoingAway {
		t.Fatalf("after SIGTERM the client got close %d, want 1001", code)
	}
	var report string
	for sc.Scan() {
		report += sc.Text() + "\n"
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("program exited with %v", err)
	}
	if !strings.Contains(report, "1 sessions drained, 0 forced") {
		t.Fatalf("shutdown report %q, want one drained session", report)
	}
}
