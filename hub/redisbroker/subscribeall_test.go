package redisbroker

import (
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/brokertest"
	"github.com/wsgate/wsgate/internal/redistest"
)

// TestConformanceSubscribeAll: with per-room interest off the broker still
// keeps the whole contract (the hub is handed only what it subscribed to).
func TestConformanceSubscribeAll(t *testing.T) {
	brokertest.Run(t, cluster(func(c *Config) { c.SubscribeAll = true }))
}

// TestSubscribeAllReceivesEverything: a node with SubscribeAll gets every
// room's and topic's traffic from Redis and hands its hub only what it
// subscribed to (the rest counted as Filtered), while a node with interest
// on receives nothing for rooms it has no member of.
func TestSubscribeAllReceivesEverything(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	pub := startNode(t, client, "pub", nil)
	all := startNode(t, client, "all", func(c *Config) { c.SubscribeAll = true })
	some := startNode(t, client, "some", nil)
	all.subscribe(t, hub.ToRoom, "mine")
	all.subscribe(t, hub.ToTopic, "t.*")
	some.subscribe(t, hub.ToRoom, "mine")

	pub.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "other", Data: []byte("other")})
	pub.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: "u.x", Data: []byte("u.x")})
	pub.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: "t.x", Data: []byte("t.x")})
	pub.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "mine", Data: []byte("mine")})
	all.awaitData(t, "t.x")
	all.awaitData(t, "mine")
	some.awaitData(t, "mine")
	all.none(t)
	some.none(t)
	if s := all.Stats(); s.Received != 4 || s.Delivered != 2 || s.Filtered != 2 {
		t.Fatalf("SubscribeAll node: %+v; want 4 received, 2 delivered, 2 filtered", s)
	}
	if s := some.Stats(); s.Received != 1 || s.Delivered != 1 || s.Filtered != 0 {
		t.Fatalf("interest node: %+v; want only its room's envelope from Redis", s)
	}

	// Unsubscribing stops the hand-over at once: no round trip to wait for.
	if err := all.Unsubscribe(ctxT(t), hub.Channel{Kind: hub.ToRoom, Name: "mine"}); err != nil {
		t.Fatal(err)
	}
	pub.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "mine", Data: []byte("mine again")})
	pub.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("sentinel")})
	all.awaitData(t, "sentinel")
	all.none(t)
	if s := all.Stats(); s.Filtered != 3 {
		t.Fatalf("after Unsubscribe: %+v; want the room's envelope filtered", s)
	}
}
