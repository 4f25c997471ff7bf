package serve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/wstest"
)

// bound is how long a test waits for something that must happen; it is a
// failure bound, never an expected duration.
const bound = 30 * time.Second

// short is the timeout the tests give the server, so that what it ends
// ends quickly; nothing asserts how quickly.
const short = 200 * time.Millisecond

// running is a Run in progress.
type running struct {
	addr   string
	report []string // what Run printed after "listening on"; set by stop
	stop   func() error
}

// startRun runs Run with cfg on a loopback port until the test ends or stop
// is called.
func startRun(t *testing.T, cfg Config) *running {
	t.Helper()
	cfg.Flags.Addr = "127.0.0.1:0"
	if cfg.Flags.LogLevel == "" {
		cfg.Flags.LogLevel = "warn"
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	cfg.Out = pw
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, cfg)
		pw.Close()
	}()
	r := &running{}
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		cancel()
		t.Fatalf("Run ended before listening: %v", <-errc)
	}
	r.addr = strings.TrimPrefix(sc.Text(), "listening on ")
	lines := make(chan []string, 1)
	go func() {
		var l []string
		for sc.Scan() {
			l = append(l, sc.Text())
		}
		lines <- l
	}()
	var once sync.Once
	var err error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			err = <-errc
			r.report = <-lines // Run has closed the pipe
		})
		return err
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// echoHub returns a hub that echoes, served at /ws of the returned mux;
// / answers "ok".
func echoHub(t *testing.T) (*hub.Hub, *http.ServeMux) {
	t.Helper()
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
	ws, err := middleware.New(h, middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	return h, mux
}

// rawConn dials addr over TCP with a failure deadline of bound.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, bound)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(bound))
	return c
}

// awaitEOF reads from c until the server closes it; it fails the test if
// that does not happen within bound (the read deadline rawConn set).
func awaitEOF(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	n, err := io.Copy(io.Discard, br)
	if err != nil {
		t.Fatalf("connection not closed by the server (read %d more bytes): %v", n, err)
	}
}

// get sends one keep-alive GET on c and reads the answer.
func get(t *testing.T, c net.Conn, br *bufio.Reader, header string) *http.Response {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n", header); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestWebSocketOutlivesTimeouts: an idle keep-alive connection is closed
// by the server after IdleTimeout, while a WebSocket session opened before
// it (so older than ReadTimeout and IdleTimeout by then) still echoes.
func TestWebSocketOutlivesTimeouts(t *testing.T) {
	h, mux := echoHub(t)
	r := startRun(t, Config{Flags: Flags{IdleTimeout: short, ReadTimeout: short}, Handler: mux, Hubs: []*hub.Hub{h}})
	ws := wstest.Dial(t, "ws://"+r.addr+"/ws", wstest.Timeout(bound))
	ws.SendText(t, "before")
	if got := ws.ReadText(t); got != "before" {
		t.Fatalf("echo %q", got)
	}

	c := rawConn(t, r.addr)
	br := bufio.NewReader(c)
	if resp := get(t, c, br, ""); resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET: %s, close %v; want a kept-alive 200", resp.Status, resp.Close)
	}
	awaitEOF(t, c, br) // idle after one GET: the server closes it

	ws.SendText(t, "after")
	if got := ws.ReadText(t); got != "after" {
		t.Fatalf("echo after the HTTP timeouts passed: %q", got)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if code, _ := ws.AwaitClose(t); code != hub.CloseGoingAway {
		t.Fatalf("close %d, want 1001", code)
	}
}

// TestSlowBodyCut: a request that declares a body and sends only part of
// it loses its connection after ReadTimeout; the handler's read fails with
// a timeout, and other clients are served.
func TestSlowBodyCut(t *testing.T) {
	readErr := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	r := startRun(t, Config{Flags: Flags{ReadTimeout: short}, Handler: mux})

	c := rawConn(t, r.addr)
	fmt.Fprint(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
	select {
	case err := <-readErr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the handler's body read ended with %v, want a deadline error", err)
		}
	case <-time.After(bound):
		t.Fatal("the body read was not cut")
	}
	awaitEOF(t, c, bufio.NewReader(c))

	other := rawConn(t, r.addr)
	if resp := get(t, other, bufio.NewReader(other), ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("another client got %s", resp.Status)
	}
}

// TestHeaderTooLarge: a header over MaxHeaderBytes gets 431 and a header
// under it is served, on the same server as a live WebSocket session.
func TestHeaderTooLarge(t *testing.T) {
	h, mux := echoHub(t)
	r := startRun(t, Config{Handler: mux, Hubs: []*hub.Hub{h}, MaxHeaderBytes: 16 << 10})
	ws := wstest.Dial(t, "ws://"+r.addr+"/ws", wstest.Timeout(bound))

	for _, tc := range []struct {
		name string
		size int
		want int
	}{
		{"under", 8 << 10, http.StatusOK},
		{"over", 64 << 10, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rawConn(t, r.addr)
			resp := get(t, c, bufio.NewReader(c), "X-Big: "+strings.Repeat("a", tc.size)+"\r\n")
			if resp.StatusCode != tc.want {
				t.Fatalf("a %d-byte header got %s, want %d", tc.size, resp.Status, tc.want)
			}
		})
	}
	ws.SendText(t, "still here")
	if got := ws.ReadText(t); got != "still here" {
		t.Fatalf("echo %q", got)
	}
}

// TestBodylessPostDoesNotStallShutdown: a POST that declares a body and
// never sends it holds its connection past the shutdown budget, yet the
// WebSocket session is drained (close 1001, "1 drained, 0 forced"), the
// stuck connection is closed, and Run returns.
func TestBodylessPostDoesNotStallShutdown(t *testing.T) {
	h, mux := echoHub(t)
	inHandler := make(chan struct{})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		io.Copy(io.Discard, r.Body)
	})
	// The body deadline is far beyond the test's bound: only Close after
	// the bounded Shutdown can end the request.
	r := startRun(t, Config{Flags: Flags{ReadTimeout: time.Hour, ShutdownTimeout: 2 * time.Second}, Handler: mux, Hubs: []*hub.Hub{h}})
	ws := wstest.Dial(t, "ws://"+r.addr+"/ws", wstest.Timeout(bound))
	ws.SendText(t, "hi")
	ws.ReadText(t)

	stuck := rawConn(t, r.addr)
	fmt.Fprint(stuck, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
	select {
	case <-inHandler:
	case <-time.After(bound):
		t.Fatal("the POST never reached its handler")
	}

	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	if code, _ := ws.AwaitClose(t); code != hub.CloseGoingAway {
		t.Fatalf("the session saw close %d, want 1001", code)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(bound):
		t.Fatal("Run did not return")
	}
	if want := []string{"shutdown: 1 sessions drained, 0 forced"}; !slices.Equal(r.report, want) {
		t.Fatalf("report %q, want %q", r.report, want)
	}
	awaitEOF(t, stuck, bufio.NewReader(stuck))
}
