package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
	"github.com/wsgate/wsgate/hub/natsstore"
)

// Each node gives its hub a broker and a store of its own, on the same
// NATS server (with JetStream) and with the same Config: positions are
// then cluster-wide, and a client can rejoin on any node from the last
// position it saw.
func Example() {
	broker, err := natsbroker.New(natsbroker.Config{URL: "nats://127.0.0.1:4222"})
	if err != nil {
		log.Fatal(err)
	}
	store, err := natsstore.New(natsstore.Config{
		URL:            "nats://127.0.0.1:4222",
		MaxMsgsPerRoom: 1000,           // no room keeps more, whatever its policy
		MaxAge:         24 * time.Hour, // nor any message longer
	})
	if err != nil {
		log.Fatal(err) // an invalid field, named; or no server, no JetStream
	}
	h, err := hub.New(hub.Config{
		NodeID: "node-a",
		Broker: broker,
		History: hub.HistoryConfig{
			Policy: func(room string) hub.HistoryPolicy {
				if strings.HasPrefix(room, "chat:") {
					return hub.HistoryPolicy{Size: 100, TTL: time.Hour}
				}
				return hub.HistoryPolicy{}
			},
			Store: store, // the hub closes it at Shutdown
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Shutdown(ctx)
	}()
	// The store gives the message its position (one round trip), then the
	// broker takes it to the other nodes.
	if _, err := h.SendToRoom("chat:lobby", hub.Text("hello")); err != nil {
		log.Print(err) // wraps hub.ErrHistory: the store failed, nothing was sent
	}
}

// New checks the Config before it connects, and names the field it
// refuses: no server is needed to find a mistake in it.
func ExampleNew() {
	_, err := natsstore.New(natsstore.Config{Prefix: "my app"})
	fmt.Println(err)
	fmt.Println(errors.Is(err, natsstore.ErrConfig))
	_, err = natsstore.New(natsstore.Config{MaxMsgsPerRoom: -1})
	fmt.Println(err)
	// Output:
	// natsstore: invalid config: Config.Prefix "my app" may only have letters, digits, '-', '_' and '.'
	// true
	// natsstore: invalid config: Config.MaxMsgsPerRoom must not be negative
}
