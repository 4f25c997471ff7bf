package hub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestSmoke(t *testing.T) {
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	h.OnConnect(func(s *Session) { h.Join(s.ID(), "lobby") })
	h.OnMessage(func(s *Session, m Message) { h.SendToRoom("lobby", m) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, AcceptOptions{})
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	c1, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c2, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c1.WriteMessage(websocket.TextMessage, []byte("hi"))
	for _, c := range []*websocket.Conn{c1, c2} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, p, err := c.ReadMessage()
		if err != nil || string(p) != "hi" {
			t.Fatal(err, string(p))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan ShutdownResult)
	go func() { r, _ := h.Shutdown(ctx); done <- r }()
	for _, c := range []*websocket.Conn{c1, c2} {
		_, _, err := c.ReadMessage()
		if !websocket.IsCloseError(err, 1001) {
			t.Fatal(err)
		}
	}
	r := <-done
	t.Logf("%+v %+v", r, h.Stats())
	if r.Drained != 2 {
		t.Fatal(r)
	}
}
