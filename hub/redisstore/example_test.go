package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/redisbroker"
	"github.com/wsgate/wsgate/hub/redisstore"
)

// Each node of a cluster gives its hub a Broker and a history Store on
// the same Redis (and Prefix): positions are then cluster-wide, and a
// client can rejoin its rooms from its last position on any node.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close() // after the hub's Shutdown

	broker, err := redisbroker.New(redisbroker.Config{Client: client, Prefix: "chat"})
	if err != nil {
		log.Fatal(err)
	}
	store, err := redisstore.New(redisstore.Config{Client: client, Prefix: "chat"})
	if err != nil {
		log.Fatal(err)
	}
	h, err := hub.New(hub.Config{
		NodeID: "node-1",
		Broker: broker,
		History: hub.HistoryConfig{
			// "room:..." keeps its last 500 messages for ten minutes.
			Policy: func(room string) hub.HistoryPolicy {
				if strings.HasPrefix(room, "room:") {
					return hub.HistoryPolicy{Size: 500, TTL: 10 * time.Minute}
				}
				return hub.HistoryPolicy{}
			},
			Store: store,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// ... serve; h.JoinFrom(sessionID, "room:lobby", lastPosition) when a
	// client rejoins. On the way out:
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.Shutdown(ctx)
}

// New validates the Config and names the field it refuses; it does not
// dial Redis.
func ExampleNew() {
	_, err := redisstore.New(redisstore.Config{})
	fmt.Println(err)
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}) // not dialled by New
	defer client.Close()
	_, err = redisstore.New(redisstore.Config{Client: client, Prefix: "my app"})
	fmt.Println(err)
	// Output:
	// redisstore: bad config: Client is required
	// redisstore: bad config: Prefix has a space, control character or invalid UTF-8
}
