package hub_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/wsgate/wsgate/hub"
)

// Kicking a session: whatever was still queued for it is dropped, the close
// frame goes out next, and OnClose reports the code the server chose.
// OnError learns why a session failed, with errors.Is on the cause.
func ExampleSession_Kick() {
	h, err := hub.New(hub.Config{MaxTextMessage: 16})
	if err != nil {
		panic(err)
	}
	h.OnMessage(func(s *hub.Session, m hub.Message) {
		if string(m.Data) == "spam" {
			s.Kick(4000, "no spam")
		}
	})
	closed := make(chan string, 2)
	h.OnClose(func(_ *hub.Session, code int, reason string) {
		closed <- fmt.Sprintf("OnClose: %d %s", code, reason)
	})
	failed := make(chan string, 2)
	h.OnError(func(_ *hub.Session, err error) { // runs before OnClose
		var se *hub.SessionError
		if errors.As(err, &se) && errors.Is(err, hub.ErrMessageTooBig) {
			failed <- fmt.Sprint("OnError: too big, closed with ", se.Code)
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, hub.AcceptOptions{})
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	for _, msg := range []string{"spam", "a message longer than sixteen bytes"} {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			panic(err)
		}
		c.WriteMessage(websocket.TextMessage, []byte(msg))
		_, _, err = c.ReadMessage()
		fmt.Println("client:", err)
		c.Close()
		onClose := <-closed
		if len(failed) > 0 {
			fmt.Println(<-failed)
		}
		fmt.Println(onClose)
	}
	// Output:
	// client: websocket: close 4000: no spam
	// OnClose: 4000 no spam
	// client: websocket: close 1009 (message too big): message exceeds 16 bytes
	// OnError: too big, closed with 1009
	// OnClose: 1009 message exceeds 16 bytes
}

// CheckHandshake is what Accept applies first; a router can use it to answer
// a bad upgrade before running its own middleware.
func ExampleCheckHandshake() {
	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "8")
	if herr := hub.CheckHandshake(r); herr != nil {
		fmt.Println(herr.Status, herr.Reason, herr.Header().Get("Sec-WebSocket-Version"))
	}
	// Output: 426 unsupported WebSocket version: only 13 is supported 13
}
