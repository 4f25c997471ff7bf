package chatbaseline

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestBroadcastReachesEveryClient: a message a client sends is broadcast to
// every client, and Shutdown ends every goroutine (goleak checks).
func TestBroadcastReachesEveryClient(t *testing.T) {
	h := New()
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var conns []*websocket.Conn
	for range 3 {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.Sessions() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions registered, want 3", h.Sessions())
		}
		time.Sleep(time.Millisecond) // polling a counter the hub offers no event for
	}
	conns[0].WriteMessage(websocket.TextMessage, []byte("hi"))
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, p, err := c.ReadMessage(); err != nil || string(p) != "hi" {
			t.Fatalf("client %d read %q, %v", i, p, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.Shutdown(ctx)
	if n := h.Sessions(); n != 0 {
		t.Fatalf("%d sessions after Shutdown", n)
	}
}
