package hub_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsgate/wsgate/hub"
)

// Keep-alive per session: a session can carry its own data in every ping,
// hear each pong with the round trip, and change its timers while it runs.
func ExampleHub_OnPong() {
	h, err := hub.New(hub.Config{PingInterval: -1}) // no pings unless a session asks
	if err != nil {
		panic(err)
	}
	h.OnConnect(func(s *hub.Session) {
		s.SetPingData([]byte("seq=1"))
		s.SetKeepAlive(hub.KeepAlive{PingInterval: 10 * time.Millisecond, PongTimeout: time.Second})
	})
	pongs := make(chan string, 16)
	h.OnPong(func(s *hub.Session, data []byte, rtt time.Duration) {
		pongs <- fmt.Sprintf("pong %q, measured: %v", data, rtt > 0)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, hub.AcceptOptions{})
	}))
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	go c.ReadMessage() // gorilla answers pings while it reads
	fmt.Println(<-pongs)
	// Output: pong "seq=1", measured: true
}
