package hub_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsgate/wsgate/hub"
)

// serve runs h behind a loopback test server and dials one client,
// returning it with its session once OnConnect has run.
func serve(h *hub.Hub) (*websocket.Conn, *hub.Session, func()) {
	connected := make(chan *hub.Session, 1)
	h.OnConnect(func(s *hub.Session) { connected <- s })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, hub.AcceptOptions{})
	}))
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		panic(err)
	}
	s := <-connected
	return c, s, func() {
		c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	}
}

// Two nodes of one cluster: a room whose member is on node-b receives what
// node-a sends, and node-a can act on node-b's session by its ID.
func Example_cluster() {
	bus := hub.NewMemoryBus() // a Redis or NATS broker in production
	a, err := hub.New(hub.Config{NodeID: "node-a", Broker: bus.Broker()})
	if err != nil {
		panic(err)
	}
	b, err := hub.New(hub.Config{NodeID: "node-b", Broker: bus.Broker()})
	if err != nil {
		panic(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	}()
	client, s, stop := serve(b)
	defer stop()

	// Join returns once node-b is subscribed to the room at the broker:
	// nothing sent to the room from now on is lost.
	if err := b.Join(s.ID(), "lobby"); err != nil {
		panic(err)
	}
	n, err := a.SendToRoom("lobby", hub.Text("hello from node-a"))
	fmt.Println("node-a's own members:", n, err)
	_, msg, _ := client.ReadMessage()
	fmt.Println("client on node-b reads:", string(msg))

	fmt.Println("session", s.ID(), "lives on", hub.NodeOf(s.ID()))
	a.CloseSession(s.ID(), 4000, "moved to another shard")
	_, _, err = client.ReadMessage()
	fmt.Println("client:", err)

	// Output:
	// node-a's own members: 0 <nil>
	// client on node-b reads: hello from node-a
	// session node-b-1 lives on node-b
	// client: websocket: close 4000: moved to another shard
}

// Presence lists a room's members, with what each session chose to show,
// and OnPresence reports joins and leaves. A single node answers from its
// memory; in a cluster, the PresenceBroker answers for every node.
func ExampleHub_Presence() {
	h, err := hub.New(hub.Config{NodeID: "solo", Presence: true})
	if err != nil {
		panic(err)
	}
	events := make(chan hub.PresenceEvent, 1)
	h.OnPresence(func(ev hub.PresenceEvent) { events <- ev })
	_, s, stop := serve(h)
	defer stop()

	s.SetPresenceInfo([]byte(`{"user":"ann"}`)) // from the token's claims, say
	h.Join(s.ID(), "lobby")
	ev := <-events
	fmt.Println("joined:", ev.Room, ev.Member.SessionID, string(ev.Member.Info))

	members, _ := h.Presence(context.Background(), "lobby")
	for _, m := range members {
		fmt.Println("member:", m.SessionID, "on", m.Node, string(m.Info))
	}
	// Output:
	// joined: lobby solo-1 {"user":"ann"}
	// member: solo-1 on solo {"user":"ann"}
}
