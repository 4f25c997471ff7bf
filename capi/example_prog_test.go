package main

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// dial opens a WebSocket client to url.
func dial(t *testing.T, url string, h http.Header, compress bool) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, EnableCompression: compress}
	c, resp, err := d.Dial(url, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// received is what a client read until the connection closed.
type received struct {
	msgs  []string
	types []int
	code  int // close code, or -1
	text  string
}

// readAll reads messages until the connection closes (bounded by 30s).
func readAll(t *testing.T, c *websocket.Conn) received {
	t.Helper()
	r := received{code: -1}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		typ, b, err := c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				r.code, r.text = ce.Code, ce.Text
			} else {
				t.Errorf("read: %v (want a close frame)", err)
			}
			return r
		}
		r.msgs = append(r.msgs, string(b))
		r.types = append(r.types, typ)
	}
}

// TestSpecExample runs the specification's usage example (example/main.c),
// connects real clients, stops it the way its loop expects (SIGTERM clears
// running) and checks what the clients receive and what it prints,
// including the graceful shutdown: every queued message, then 1001.
func TestSpecExample(t *testing.T) {
	dir := built(t)
	ln := loopback(t)
	url := "ws://" + ln.Addr().String() + "/"
	p := start(t, filepath.Join(dir, "example_prog"), ln, nil)
	p.awaitPrefix("WebSocket server started on port 8080")

	const clients = 3
	conns := make([]*websocket.Conn, clients)
	connected := regexp.MustCompile(`^connected (\d+) from (\S+)$`)
	for i := range conns {
		conns[i] = dial(t, url, nil, i == 0) // the first one negotiates compression
		l := p.await(connected.MatchString, "a connect line")
		m := connected.FindStringSubmatch(l)
		if want := fmt.Sprint(i + 1); m[1] != want {
			t.Errorf("client %d got session ID %s, want %s (IDs count from 1 in connection order)", i, m[1], want)
		}
		if m[2] != conns[i].LocalAddr().String() {
			t.Errorf("remote address %s, want the client's %s", m[2], conns[i].LocalAddr())
		}
	}
	if err := conns[0].WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	p.awaitPrefix("message 1 (text, 5 bytes): hello")
	p.awaitPrefix("Active sessions: 3/3, Messages: 1")

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.awaitPrefix("Broadcast sent to 3 clients")
	session := regexp.MustCompile(`^Session (\d+): (\S+), connected: (\d+), sent: \d+/\d+$`)
	for i := range conns {
		m := session.FindStringSubmatch(p.await(session.MatchString, "a Session line"))
		if m[1] != fmt.Sprint(i+1) || m[2] != conns[i].LocalAddr().String() {
			t.Errorf("session line %q: want session %d at %s", m[0], i+1, conns[i].LocalAddr())
		}
		var ms int64
		fmt.Sscan(m[3], &ms)
		if d := time.Since(time.UnixMilli(ms)); d < 0 || d > time.Hour {
			t.Errorf("connected_at %s is not a recent Unix time in ms", m[3])
		}
	}
	p.awaitPrefix("Room message sent to 1 clients")
	p.awaitPrefix("Room 'chat_room_1' has 0 members")
	p.awaitPrefix("Shutting down WebSocket server...")
	p.awaitPrefix("WebSocket server shutdown complete")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, p.errb.String())
	}

	broadcast := `{"type": "broadcast", "message": "Hello all!"}`
	room := `{"type": "room", "content": "Hello room!"}`
	for i, c := range conns {
		got := readAll(t, c)
		want := []string{broadcast, "Welcome!"}
		if i == 0 {
			// The only room member; send_to_room_except left it out.
			want = append(want, room)
		}
		if fmt.Sprint(got.msgs) != fmt.Sprint(want) {
			t.Errorf("client %d received %q, want %q", i, got.msgs, want)
		}
		for _, typ := range got.types {
			if typ != websocket.TextMessage {
				t.Errorf("client %d: message type %d, want text", i, typ)
			}
		}
		if got.code != websocket.CloseGoingAway {
			t.Errorf("client %d: close code %d %q, want 1001 after the queued messages", i, got.code, got.text)
		}
	}
}

// TestSpecExampleStatic links the example against libwsgate.a
// (-buildmode=c-archive) instead of the shared library and checks one
// client's view of a run: the broadcast, the welcome, then 1001.
func TestSpecExampleStatic(t *testing.T) {
	prog := builtStatic(t)
	ln := loopback(t)
	p := start(t, prog, ln, nil)
	p.awaitPrefix("WebSocket server started on port 8080")
	c := dial(t, "ws://"+ln.Addr().String()+"/", nil, false)
	p.awaitPrefix("connected 1 ")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.awaitPrefix("WebSocket server shutdown complete")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, p.errb.String())
	}
	got := readAll(t, c)
	want := []string{`{"type": "broadcast", "message": "Hello all!"}`, "Welcome!", `{"type": "room", "content": "Hello room!"}`}
	if fmt.Sprint(got.msgs) != fmt.Sprint(want) || got.code != websocket.CloseGoingAway {
		t.Errorf("received %q then close %d, want %q then 1001", got.msgs, got.code, want)
	}
}
