package hub_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsgate/wsgate/hub"
)

// A chat room with a price feed: every session joins the lobby and follows
// prices; a message from one member is relayed to the others.
func Example() {
	h, err := hub.New(hub.Config{})
	if err != nil {
		panic(err)
	}
	joined := make(chan string, 2)
	h.OnConnect(func(s *hub.Session) {
		h.Join(s.ID(), "lobby")
		h.Subscribe(s.ID(), "prices.>")
		joined <- s.ID()
	})
	relayed := make(chan int, 1)
	h.OnMessage(func(s *hub.Session, m hub.Message) {
		// Everyone in the room but the sender.
		n, _ := h.SendToRoom("lobby", m, hub.Except(s.ID()))
		relayed <- n
	})

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := h.Accept(w, r, hub.AcceptOptions{})
		if errors.Is(err, hub.ErrShuttingDown) || errors.Is(err, hub.ErrFull) {
			w.Header().Set("Retry-After", "5")
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
		// Any other error: the upgrade failed and the client has its answer.
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	alice, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		panic(err)
	}
	defer alice.Close()
	<-joined
	bob, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		panic(err)
	}
	defer bob.Close()
	<-joined

	alice.WriteMessage(websocket.TextMessage, []byte("hello, room"))
	fmt.Println("relayed to", <-relayed, "session")
	_, msg, _ := bob.ReadMessage()
	fmt.Println("bob reads:", string(msg))

	n, _ := h.Publish("prices.eu.btc", hub.Text(`{"btc":97000}`))
	fmt.Println("price published to", n, "sessions")
	for _, c := range []*websocket.Conn{alice, bob} {
		_, msg, _ := c.ReadMessage()
		fmt.Println("reads:", string(msg))
	}

	// Shutdown sends close 1001 and waits for the clients to answer.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	result := make(chan hub.ShutdownResult)
	go func() {
		res, _ := h.Shutdown(ctx)
		result <- res
	}()
	for _, c := range []*websocket.Conn{alice, bob} {
		_, _, err := c.ReadMessage() // gorilla answers the close frame
		fmt.Println("client:", err)
	}
	fmt.Println("drained:", (<-result).Drained)

	// Output:
	// relayed to 1 session
	// bob reads: hello, room
	// price published to 2 sessions
	// reads: {"btc":97000}
	// reads: {"btc":97000}
	// client: websocket: close 1001 (going away): server shutting down
	// client: websocket: close 1001 (going away): server shutting down
	// drained: 2
}
