// Package brokertest is the conformance suite every hub.Broker runs: the
// in-process MemoryBus runs it in its tests, and a Redis or NATS broker
// runs the same cases against a real server. It checks the contract written
// on hub.Broker: delivery to every other node and never back to the
// publisher, envelopes intact, Data not kept after Publish, concurrent
// Publish, no delivery after Close, and two real hubs routing through the
// broker to real WebSocket clients.
package brokertest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
)

// Wait bounds every wait for a delivery. It is a failure bound, not an
// expected time: brokers may deliver asynchronously.
var Wait = 10 * time.Second

// Factory returns a new node's broker, connected to the same cluster as
// every other broker the factory returns within one test. It may register
// cleanup with t.
type Factory func(t *testing.T) hub.Broker

// Cluster is what a broker's test hands the suite for one fresh, empty
// cluster.
type Cluster struct {
	// Broker returns a new node's broker on the cluster. Required.
	Broker Factory
	// Restart stops the broker's server and starts it again at the same
	// address, losing its subscriptions, as a crash and restart would. The
	// brokers connected to it must notice (BrokerHost.Disconnected),
	// reconnect, resubscribe and say so (BrokerHost.Reconnected). Nil for
	// brokers without a server: the restart cases are then skipped.
	Restart func(t *testing.T)
}

// Run runs the conformance suite. Each subtest calls newCluster once to get
// a fresh cluster.
func Run(t *testing.T, newCluster func(t *testing.T) Cluster) {
	f := func(t *testing.T) Factory { return newCluster(t).Broker }
	t.Run("DeliversToOtherNodesOnly", func(t *testing.T) { deliversToOthers(t, f(t)) })
	t.Run("EnvelopeIntact", func(t *testing.T) { envelopeIntact(t, f(t)) })
	t.Run("DataNotKept", func(t *testing.T) { dataNotKept(t, f(t)) })
	t.Run("ConcurrentPublish", func(t *testing.T) { concurrentPublish(t, f(t)) })
	t.Run("NoDeliveryAfterClose", func(t *testing.T) { noDeliveryAfterClose(t, f(t)) })
	t.Run("HubsRouteThroughBroker", func(t *testing.T) { hubsRoute(t, f(t)) })
}

// node is a started broker and what it has been handed.
type node struct {
	name   string
	broker hub.Broker
	got    chan hub.Envelope
}

func start(t *testing.T, f Factory, name string) *node {
	t.Helper()
	n := &node{name: name, broker: f(t), got: make(chan hub.Envelope, 1024)}
	if err := n.broker.Start(name, recorder{n}); err != nil {
		t.Fatalf("Start(%q): %v", name, err)
	}
	return n
}

// recorder is the BrokerHost of a broker tested alone.
type recorder struct{ n *node }

func (r recorder) Deliver(e hub.Envelope) { r.n.got <- e }
func (r recorder) Disconnected(error)     {}
func (r recorder) Reconnected()           {}

// next returns the next envelope delivered to n.
func (n *node) next(t *testing.T) hub.Envelope {
	t.Helper()
	select {
	case e := <-n.got:
		return e
	case <-time.After(Wait):
		t.Fatalf("node %s: no envelope delivered", n.name)
		return hub.Envelope{}
	}
}

// none checks that n has been handed nothing (call after a sentinel has
// reached another node, so that an asynchronous broker had its chance).
func (n *node) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-n.got:
		t.Fatalf("node %s was handed %+v", n.name, e)
	default:
	}
}

func publish(t *testing.T, n *node, e hub.Envelope) {
	t.Helper()
	e.Node = n.name
	if err := n.broker.Publish(context.Background(), e); err != nil {
		t.Fatalf("Publish from %s: %v", n.name, err)
	}
}

func deliversToOthers(t *testing.T, f Factory) {
	a, b, c := start(t, f, "a"), start(t, f, "b"), start(t, f, "c")
	defer closeAll(t, a, b, c)
	publish(t, a, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("from a")})
	for _, n := range []*node{b, c} {
		if e := n.next(t); string(e.Data) != "from a" || e.Node != "a" {
			t.Fatalf("node %s got %+v", n.name, e)
		}
	}
	// A sentinel from b reaching c shows the broker had time to misdeliver.
	publish(t, b, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("sentinel")})
	c.next(t)
	a.next(t) // a gets b's sentinel...
	a.none(t) // ...and never its own envelope
	b.none(t)
}

func envelopeIntact(t *testing.T, f Factory) {
	a, b := start(t, f, "a"), start(t, f, "b")
	defer closeAll(t, a, b)
	cases := []hub.Envelope{
		{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("all")},
		{Kind: hub.ToRoom, Target: "lobby", Except: []string{"a-1", "a-2"}, Type: hub.BinaryMessage, Data: []byte{0, 0xff, 1}},
		{Kind: hub.ToTopic, Target: "prices.eu.btc", Type: hub.TextMessage, Data: []byte(`{"p":1}`)},
		{Kind: hub.ToSession, Target: "b-7", Type: hub.TextMessage, Data: bytes.Repeat([]byte("x"), 100_000)},
	}
	for _, want := range cases {
		publish(t, a, want)
		want.Node = "a"
		got := b.next(t)
		if len(want.Except) == 0 && len(got.Except) == 0 {
			got.Except = want.Except
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("delivered %+v\nwant %+v", summarize(got), summarize(want))
		}
	}
}

func summarize(e hub.Envelope) string {
	return fmt.Sprintf("{Node:%q Kind:%d Target:%q Except:%q Type:%d Data:%d bytes}", e.Node, e.Kind, e.Target, e.Except, e.Type, len(e.Data))
}

func dataNotKept(t *testing.T, f Factory) {
	a, b := start(t, f, "a"), start(t, f, "b")
	defer closeAll(t, a, b)
	data := []byte("original")
	publish(t, a, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: data})
	copy(data, "CHANGED!") // allowed once Publish has returned
	if got := b.next(t); string(got.Data) != "original" {
		t.Fatalf("delivered %q: the broker kept the publisher's Data", got.Data)
	}
}

func concurrentPublish(t *testing.T, f Factory) {
	a, b := start(t, f, "a"), start(t, f, "b")
	defer closeAll(t, a, b)
	const goroutines, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := hub.Envelope{Node: "a", Kind: hub.ToAll, Type: hub.TextMessage, Data: fmt.Appendf(nil, "%d-%d", g, i)}
				if err := a.broker.Publish(context.Background(), e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Publish: %v", err)
	}
	seen := make(map[string]bool)
	for range goroutines * each {
		seen[string(b.next(t).Data)] = true
	}
	if len(seen) != goroutines*each {
		t.Fatalf("%d distinct envelopes delivered, want %d", len(seen), goroutines*each)
	}
}

func noDeliveryAfterClose(t *testing.T, f Factory) {
	a, b, c := start(t, f, "a"), start(t, f, "b"), start(t, f, "c")
	defer closeAll(t, a, c)
	if err := b.broker.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	publish(t, a, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("after close")})
	c.next(t)
	b.none(t)
}

func closeAll(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		if err := n.broker.Close(); err != nil {
			t.Errorf("Close %s: %v", n.name, err)
		}
	}
}

// hubsRoute runs two hubs on the broker, each with a real client, and
// checks that routing from one hub reaches the other hub's client.
func hubsRoute(t *testing.T, f Factory) {
	newNode := func(name string) (*hub.Hub, *websocket.Conn, *hub.Session) {
		h, err := hub.New(hub.Config{NodeID: name, Broker: f(t), PingInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		connected := make(chan *hub.Session, 1)
		h.OnConnect(func(s *hub.Session) { connected <- s })
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.Accept(w, r, hub.AcceptOptions{})
		}))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), Wait)
			defer cancel()
			h.Shutdown(ctx)
			srv.Close()
		})
		c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		select {
		case s := <-connected:
			return h, c, s
		case <-time.After(Wait):
			t.Fatal("no session")
		}
		return nil, nil, nil
	}
	ha, _, sa := newNode("node-a")
	hb, cb, sb := newNode("node-b")
	if err := hb.Join(sb.ID(), "lobby"); err != nil {
		t.Fatal(err)
	}
	if err := hb.Subscribe(sb.ID(), "prices.>"); err != nil {
		t.Fatal(err)
	}
	read := func(want string) {
		t.Helper()
		cb.SetReadDeadline(time.Now().Add(Wait))
		_, p, err := cb.ReadMessage()
		if err != nil || string(p) != want {
			t.Fatalf("client on node-b read %q, %v; want %q", p, err, want)
		}
	}
	steps := []struct {
		name string
		send func() (int, error)
	}{
		{"broadcast", func() (int, error) { return ha.Broadcast(hub.Text("broadcast"), hub.Except(sa.ID())) }},
		{"room", func() (int, error) { return ha.SendToRoom("lobby", hub.Text("room")) }},
		{"topic", func() (int, error) { return ha.Publish("prices.eu.btc", hub.Text("topic")) }},
		{"session", func() (int, error) { return ha.Send(sb.ID(), hub.Text("session")) }},
	}
	for _, st := range steps {
		if _, err := st.send(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		read(st.name)
	}
	// Except applies on the remote node too.
	ha.Broadcast(hub.Text("not for b"), hub.Except(sb.ID()))
	ha.Broadcast(hub.Text("last"))
	read("last")
}
