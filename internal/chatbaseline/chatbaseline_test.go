package chatbaseline

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start serves a hub on loopback and dials n clients once every one is
// registered.
func start(t *testing.T, reply Reply, n int) (*Hub, []*websocket.Conn) {
	t.Helper()
	return serve(t, New(reply), n)
}

// serve serves h on loopback and dials n clients once every one is
// registered.
func serve(t *testing.T, h *Hub, n int) (*Hub, []*websocket.Conn) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		if s := h.Sessions(); s != 0 {
			t.Errorf("%d sessions after Shutdown", s)
		}
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var conns []*websocket.Conn
	for range n {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.Sessions() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions registered, want %d", h.Sessions(), n)
		}
		time.Sleep(time.Millisecond) // polling a counter the hub offers no event for
	}
	return h, conns
}

// readLines reads messages from c until it has want newline-separated
// lines, and returns them.
func readLines(t *testing.T, c *websocket.Conn, want int) [][]byte {
	t.Helper()
	var lines [][]byte
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(lines) < want {
		_, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d of %d lines: %v", len(lines), want, err)
		}
		lines = append(lines, bytes.Split(p, newline)...)
	}
	if len(lines) != want {
		t.Fatalf("%d lines, want %d", len(lines), want)
	}
	return lines
}

// TestBroadcastReachesEveryClient: a message a client sends is broadcast to
// every client, and Shutdown ends every goroutine (goleak checks).
func TestBroadcastReachesEveryClient(t *testing.T) {
	_, conns := start(t, Broadcast, 3)
	conns[0].WriteMessage(websocket.TextMessage, []byte("hi"))
	for i, c := range conns {
		if got := readLines(t, c, 1); string(got[0]) != "hi" {
			t.Fatalf("client %d read %q", i, got[0])
		}
	}
}

// TestQueuedMessagesAreBatched: messages queued for a client while its
// writer is busy go out together as one message, newline-separated, in
// order. The test holds the client's write lock so that the writer, having
// taken the first message, waits while the others queue behind it.
func TestQueuedMessagesAreBatched(t *testing.T) {
	clients := make(chan *client, 1)
	h := newHub(Broadcast, func(c *client) { clients <- c })
	_, conns := serve(t, h, 1)
	cl := <-clients
	const n = 100 // below the queue of 256; 5 KiB, more than one write buffer
	cl.wmu.Lock()
	for i := range n {
		h.Broadcast(fmt.Appendf(nil, "%03d%s", i, strings.Repeat("b", 47)))
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(cl.send) < n-1 { // the writer holds the first
		if time.Now().After(deadline) {
			cl.wmu.Unlock()
			t.Fatalf("%d messages queued, want %d", len(cl.send), n-1)
		}
		time.Sleep(time.Millisecond) // the hub offers no event for a queued message
	}
	cl.wmu.Unlock()
	c := conns[0]
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, p, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(p, newline)
	if len(lines) != n {
		t.Fatalf("one message of %d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		if want := fmt.Sprintf("%03d", i); !bytes.HasPrefix(l, []byte(want)) || len(l) != 50 {
			t.Fatalf("line %d is %q, want %s and 47 bytes", i, l, want)
		}
	}
}

// TestEcho: with either echo mode a request goes back to its sender alone.
func TestEcho(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply Reply
	}{{"queued", EchoQueued}, {"inline", EchoInline}} {
		t.Run(tc.name, func(t *testing.T) {
			_, conns := start(t, tc.reply, 2)
			for i := range 50 {
				req := AppendStamp(nil, StampKindEcho, time.Unix(0, int64(i)), 64)
				conns[0].WriteMessage(websocket.TextMessage, req)
				got := readLines(t, conns[0], 1)
				if !bytes.Equal(got[0], req) {
					t.Fatalf("reply %d is %q, want %q", i, got[0], req)
				}
			}
			// The other client got none of it: its first message is the
			// one sent to it now.
			conns[1].WriteMessage(websocket.TextMessage, []byte("own"))
			if got := readLines(t, conns[1], 1); string(got[0]) != "own" {
				t.Fatalf("second client read %q first", got[0])
			}
		})
	}
}

func TestStamp(t *testing.T) {
	at := time.Unix(1764560000, 123456789)
	p := AppendStamp([]byte("ab"), StampKindPaced, at, 64)
	if len(p) != 66 || string(p[:3]) != "abp" {
		t.Fatalf("AppendStamp = %q (%d bytes)", p, len(p))
	}
	kind, ns, ok := ParseStamp(p[2:])
	if !ok || kind != StampKindPaced || ns != at.UnixNano() {
		t.Fatalf("ParseStamp = %c %d %v", kind, ns, ok)
	}
	for _, bad := range []string{"", "p", "px", "mmmmmmmm", "p123456789012345678901234"} {
		if _, _, ok := ParseStamp([]byte(bad)); ok {
			t.Errorf("ParseStamp(%q) accepted it", bad)
		}
	}
}
