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
	"time"

	"github.com/gorilla/websocket"
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
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.Close()
	}()
	addr := awaitAddr(t, bufio.NewScanner(pr))
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
	return addr, stop
}

func awaitAddr(t *testing.T, sc *bufio.Scanner) string {
	t.Helper()
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			return addr
		}
	}
	t.Fatalf("program ended before listening: %v", sc.Err())
	return ""
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestEchoKeepsTypes(t *testing.T) {
	addr, stop := start(t)
	c := dial(t, "ws://"+addr+"/echo")
	cases := []struct {
		typ  int
		data []byte
	}{
		{websocket.TextMessage, []byte("hello")},
		{websocket.BinaryMessage, []byte{0, 1, 2, 0xff}},
		{websocket.TextMessage, []byte(strings.Repeat("é", 40000))},
		{websocket.BinaryMessage, nil},
	}
	for _, tc := range cases {
		if err := c.WriteMessage(tc.typ, tc.data); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ != tc.typ || string(got) != string(tc.data) {
			t.Fatalf("echo of type %d (%d bytes) came back as type %d (%d bytes)", tc.typ, len(tc.data), typ, len(got))
		}
	}
	closed := make(chan error, 1)
	go func() {
		_, _, err := c.ReadMessage() // answers the close frame
		closed <- err
	}()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after shutdown the client read %v, want close 1001", err)
	}
}

func TestFanoutReachesEverySessionIncludingSender(t *testing.T) {
	addr, _ := start(t)
	// Each new connection's round trip proves it is attached (and reaches
	// the earlier ones) before the next one is dialed.
	var conns []*websocket.Conn
	for i := 0; i < 3; i++ {
		c := dial(t, "ws://"+addr+"/fanout")
		conns = append(conns, c)
		c.WriteMessage(websocket.TextMessage, []byte{'0' + byte(i)})
		for _, d := range conns[:i+1] {
			if _, _, err := d.ReadMessage(); err != nil {
				t.Fatal(err)
			}
		}
	}
	conns[1].WriteMessage(websocket.BinaryMessage, []byte("all"))
	for i, c := range conns {
		typ, got, err := c.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage || string(got) != "all" {
			t.Fatalf("conn %d read %d %q %v", i, typ, got, err)
		}
	}
}

func TestMaxMessageFlag(t *testing.T) {
	addr, _ := start(t, "-max-message", "100")
	c := dial(t, "ws://"+addr+"/echo")
	c.WriteMessage(websocket.BinaryMessage, make([]byte, 101))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("a 101-byte message over -max-message 100 got %v, want close 1009", err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-max-message", "0"}, {"-nope"}} {
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
	c := dial(t, "ws://"+addr+"/echo")
	c.WriteMessage(websocket.TextMessage, []byte("before"))
	if _, got, err := c.ReadMessage(); err != nil || string(got) != "before" {
		t.Fatalf("echo before SIGTERM: %q %v", got, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after SIGTERM the client read %v, want close 1001", err)
	}
	c.Close()
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
