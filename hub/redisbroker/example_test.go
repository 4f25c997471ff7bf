package redisbroker_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/redisbroker"
)

// Each node of a cluster gives its hub a Broker on the same Redis (and the
// same Prefix); rooms, topics, Send and presence then span the nodes.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close() // after the hub's Shutdown, which closes the broker

	broker, err := redisbroker.New(redisbroker.Config{
		Client: client,
		Prefix: "chat", // several applications can share one Redis
	})
	if err != nil {
		log.Fatal(err)
	}
	h, err := hub.New(hub.Config{
		NodeID:   "node-1", // unique in the cluster
		Broker:   broker,
		Presence: true, // cluster-wide Hub.Presence, kept in Redis
	})
	if err != nil {
		log.Fatal(err) // Redis unreachable within ConnectTimeout
	}
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, hub.AcceptOptions{})
	})
	// ... serve, then on the way out:
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.Shutdown(ctx)
}

// With a Redis Cluster, Sharded keeps each room's traffic on the shard
// that owns its channel (SSUBSCRIBE/SPUBLISH) instead of broadcasting it
// to every shard.
func Example_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
	})
	defer client.Close()
	broker, err := redisbroker.New(redisbroker.Config{Client: client, Sharded: true})
	if err != nil {
		log.Fatal(err)
	}
	_ = broker // hub.Config{Broker: broker, ...}
}

// New validates the Config and names the field it refuses.
func ExampleNew() {
	_, err := redisbroker.New(redisbroker.Config{Prefix: "my app"})
	fmt.Println(err)
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}) // not dialled by New
	defer client.Close()
	_, err = redisbroker.New(redisbroker.Config{Client: client, Prefix: "my app"})
	fmt.Println(err)
	// Output:
	// redisbroker: bad config: Client is required
	// redisbroker: bad config: Prefix has a space, control character or invalid UTF-8
}
