package natsbroker_test

import (
	"slices"
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/brokertest"
	"github.com/wsgate/wsgate/hub/natsbroker"
)

// TestConformanceSubscribeAll: with per-room interest off the broker still
// keeps the whole contract (the hub is handed only what it subscribed to).
func TestConformanceSubscribeAll(t *testing.T) {
	brokertest.Run(t, func(t *testing.T) brokertest.Cluster {
		ts := startServer(t)
		return brokertest.Cluster{
			Broker: func(t *testing.T) hub.Broker {
				b, err := natsbroker.New(natsbroker.Config{URL: ts.url(), ReconnectWait: 50e6, SubscribeAll: true})
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			Restart: ts.restart,
		}
	})
}

// TestSubscribeAllReceivesEverything: a node with SubscribeAll is sent
// every room's and topic's traffic and hands its hub only what it
// subscribed to (the rest counted as Filtered), while a node with interest
// on is sent nothing for rooms it has no member of.
func TestSubscribeAllReceivesEverything(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	pub := newNode(t, ts, "pub", natsbroker.Config{})
	all := newNode(t, ts, "all", natsbroker.Config{SubscribeAll: true})
	some := newNode(t, ts, "some", natsbroker.Config{})
	all.subscribe(t, hub.ToRoom, "mine")
	all.subscribe(t, hub.ToTopic, "t.*")
	some.subscribe(t, hub.ToRoom, "mine")
	for _, e := range []hub.Envelope{
		{Kind: hub.ToRoom, Target: "other"},
		{Kind: hub.ToTopic, Target: "u.x"},
		{Kind: hub.ToTopic, Target: "t.x"},
		{Kind: hub.ToRoom, Target: "mine"},
	} {
		e.Type, e.Data = hub.TextMessage, []byte(e.Target)
		pub.publish(t, e)
	}
	pub.publish(t, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("end")})
	targets := func(es []hub.Envelope) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Target)
		}
		return out
	}
	if got := targets(all.drainUntil(t, "end")); !slices.Equal(got, []string{"t.x", "mine"}) {
		t.Fatalf("SubscribeAll node got %q, want [t.x mine]", got)
	}
	if got := targets(some.drainUntil(t, "end")); !slices.Equal(got, []string{"mine"}) {
		t.Fatalf("interest node got %q, want [mine]", got)
	}
	if st := all.b.Stats(); st.InMsgs != 5 || st.Filtered != 2 || st.Delivered != 3 {
		t.Fatalf("SubscribeAll node: %+v; want 5 sent by the server, 2 filtered, 3 delivered", st)
	}
	if st := some.b.Stats(); st.InMsgs != 2 || st.Filtered != 0 {
		t.Fatalf("interest node: %+v; want only its room and the ToAll from the server", st)
	}
	// Unsubscribing stops the hand-over at once.
	if err := all.b.Unsubscribe(ctx(t), hub.Channel{Kind: hub.ToRoom, Name: "mine"}); err != nil {
		t.Fatal(err)
	}
	pub.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "mine", Type: hub.TextMessage, Data: []byte("again")})
	pub.publish(t, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("end2")})
	if got := all.drainUntil(t, "end2"); len(got) != 0 {
		t.Fatalf("after Unsubscribe the node got %q", targets(got))
	}
}
