package natsbroker_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
)

// Each process gives its hub a broker connected to the same NATS server and
// a NodeID of its own; rooms, topics, Send and presence then span the
// processes.
func Example() {
	broker, err := natsbroker.New(natsbroker.Config{
		URL:    "nats://127.0.0.1:4222",
		Prefix: "chat", // several apps can share the server
	})
	if err != nil {
		log.Fatal(err) // an invalid Config field, named
	}
	h, err := hub.New(hub.Config{
		NodeID:   "node-a",
		Broker:   broker, // the hub starts it, and closes it at Shutdown
		Presence: true,   // members in a JetStream stream, with a TTL
	})
	if err != nil {
		log.Fatal(err) // Start failed: no server at the URL
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Shutdown(ctx)
	}()
	h.SendToRoom("lobby", hub.Text("hello from node-a")) // reaches members on every node
}

// Names are encoded into single NATS tokens, so that a room called "a.b"
// or a topic token "*" is a literal, never a separator or a wildcard.
func ExampleEncodeToken() {
	for _, name := range []string{"lobby", "a.b", "*", "café"} {
		tok := natsbroker.EncodeToken(name)
		back, _ := natsbroker.DecodeToken(tok)
		fmt.Printf("%q -> %s -> %q\n", name, tok, back)
	}
	// Output:
	// "lobby" -> lobby -> "lobby"
	// "a.b" -> a_2Eb -> "a.b"
	// "*" -> _2A -> "*"
	// "café" -> caf_C3_A9 -> "café"
}
