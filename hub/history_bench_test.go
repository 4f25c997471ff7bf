package hub_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsgate/wsgate/hub"
)

// benchRoomMembers is how many loopback clients are in the room.
const benchRoomMembers = 100

// BenchmarkSendToRoom measures one SendToRoom to a room of 100 loopback
// members whose clients read everything, with history off (the cost every
// room pays), with history configured but not for this room, and with
// history on for it (the in-process store). Queues drop their oldest
// message when full so that a client that falls behind under the tight
// loop does not end the run.
func BenchmarkSendToRoom(b *testing.B) {
	keep := func(string) hub.HistoryPolicy { return hub.HistoryPolicy{Size: 1000} }
	none := func(string) hub.HistoryPolicy { return hub.HistoryPolicy{} }
	cases := []struct {
		name   string
		policy func(string) hub.HistoryPolicy
	}{
		{"history-off", nil},
		{"history-other-rooms", none},
		{"history-on", keep},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			h, stop := benchRoom(b, hub.Config{SlowPolicy: hub.DropOldest, PingInterval: -1, History: hub.HistoryConfig{Policy: tc.policy}})
			defer stop()
			msg := hub.Text(strings.Repeat("m", 64))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := h.SendToRoom("room", msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchRoom starts a hub with benchRoomMembers clients in "room", each
// read by its own goroutine.
func benchRoom(b *testing.B, cfg hub.Config) (*hub.Hub, func()) {
	h, err := hub.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	joined := make(chan error, benchRoomMembers)
	h.OnConnect(func(s *hub.Session) { joined <- h.Join(s.ID(), "room") })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, hub.AcceptOptions{})
	}))
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, 0, benchRoomMembers)
	for range benchRoomMembers {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := <-joined; err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
	}
	return h, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
		srv.Close()
	}
}

// BenchmarkSendToRoomNoMembers measures what routing itself costs, with
// no socket work: a room with no member on this node.
func BenchmarkSendToRoomNoMembers(b *testing.B) {
	for _, tc := range []struct {
		name   string
		policy func(string) hub.HistoryPolicy
	}{
		{"history-off", nil},
		{"history-other-rooms", func(string) hub.HistoryPolicy { return hub.HistoryPolicy{} }},
		{"history-on", func(string) hub.HistoryPolicy { return hub.HistoryPolicy{Size: 1000} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, err := hub.New(hub.Config{History: hub.HistoryConfig{Policy: tc.policy}})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Shutdown(context.Background())
			msg := hub.Text(strings.Repeat("m", 64))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.SendToRoom("room", msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
