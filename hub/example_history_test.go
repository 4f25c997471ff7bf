package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsgate/wsgate/hub"
)

// framed is what the Frame hook below sends: the message with its
// position, which the client keeps to rejoin from.
type framed struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
	Text   string `json:"text"`
}

// A client that comes back after a disconnect rejoins its room from the
// last position it saw and gets what it missed, then the live messages.
func ExampleHub_JoinFrom() {
	h, err := hub.New(hub.Config{History: hub.HistoryConfig{
		// Rooms named "chat:..." keep their last 100 messages for an hour.
		Policy: func(room string) hub.HistoryPolicy {
			if strings.HasPrefix(room, "chat:") {
				return hub.HistoryPolicy{Size: 100, TTL: time.Hour}
			}
			return hub.HistoryPolicy{}
		},
		// Once per message, whatever the number of members.
		Frame: func(room string, pos hub.Position, m hub.Message) hub.Message {
			b, _ := json.Marshal(framed{Epoch: pos.Epoch, Offset: pos.Offset, Text: string(m.Data)})
			return hub.Message{Type: hub.TextMessage, Data: b}
		},
	}})
	if err != nil {
		panic(err)
	}
	sessions := make(chan *hub.Session, 1)
	h.OnConnect(func(s *hub.Session) { sessions <- s })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, hub.AcceptOptions{})
	}))
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	}()
	connect := func() (*websocket.Conn, *hub.Session) {
		c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			panic(err)
		}
		return c, <-sessions
	}
	read := func(c *websocket.Conn) framed {
		var f framed
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := c.ReadJSON(&f); err != nil {
			panic(err)
		}
		fmt.Printf("client got %d %q\n", f.Offset, f.Text)
		return f
	}

	// The first visit: no position yet, so the app sends the full state
	// (here, nothing) and the client goes live.
	c, s := connect()
	rec, err := h.JoinFrom(s.ID(), "chat:lobby", hub.Position{})
	if err != nil {
		panic(err)
	}
	fmt.Println("first visit recovered:", rec.Recovered)
	h.SendToRoom("chat:lobby", hub.Text("hello"))
	h.SendToRoom("chat:lobby", hub.Text("how are you?"))
	read(c)
	last := read(c)
	c.Close() // the phone changes networks

	h.SendToRoom("chat:lobby", hub.Text("are you there?"))

	c, s = connect()
	defer c.Close()
	rec, err = h.JoinFrom(s.ID(), "chat:lobby", hub.Position{Epoch: last.Epoch, Offset: last.Offset})
	if err != nil {
		panic(err)
	}
	fmt.Println("second visit recovered:", rec.Recovered, "replayed:", rec.Replayed)
	read(c)
	h.SendToRoom("chat:lobby", hub.Text("welcome back"))
	read(c)
	// Output:
	// first visit recovered: false
	// client got 1 "hello"
	// client got 2 "how are you?"
	// second visit recovered: true replayed: 1
	// client got 3 "are you there?"
	// client got 4 "welcome back"
}
