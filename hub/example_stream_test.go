package hub_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
)

// A message produced piece by piece, here a CSV export read from a reader,
// goes out in fragments as it is produced; the client reads one message.
func ExampleSession_NextWriter() {
	h, err := hub.New(hub.Config{MaxFrameSize: 16})
	if err != nil {
		panic(err)
	}
	defer h.Shutdown(context.Background())
	h.OnConnect(func(s *hub.Session) {
		w, err := s.NextWriter(hub.TextMessage)
		if err != nil {
			return
		}
		defer w.Close() // sends the final frame
		fmt.Fprintln(w, "id,name")
		io.Copy(w, strings.NewReader("1,ada\n2,grace\n3,barbara\n"))
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
	_, msg, err := c.ReadMessage()
	if err != nil {
		panic(err)
	}
	fmt.Print(string(msg))
	// Output:
	// id,name
	// 1,ada
	// 2,grace
	// 3,barbara
}
