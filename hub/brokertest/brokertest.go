// Package brokertest is the conformance suite every hub.Broker runs: the
// in-process MemoryBus runs it in its tests, and a Redis or NATS broker
// runs the same cases against a real server. It checks the contract written
// on hub.Broker, first on the broker alone and then under real hubs with
// real WebSocket clients:
//
//   - delivery to every other node and never back to the publisher;
//     envelopes of every op intact; Data not kept; concurrent Publish;
//   - interest: a node gets a room's or topic's envelopes only while
//     subscribed, once however many of its patterns match;
//   - no loss right after Subscribe (and Hub.Join) returns;
//   - per-node addressing, with node IDs that contain '-';
//   - nothing delivered after Close, nothing published after Close;
//   - cluster operations between hubs, a hub with no sessions publishing,
//     the outbox-full answer, presence with TTL expiry (when the broker is
//     a hub.PresenceBroker);
//   - a restart of the broker's server (when the Cluster has Restart):
//     the loss is announced and delivery resumes by itself.
package brokertest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
)

// Wait bounds every wait for a delivery. It is a failure bound, not an
// expected time: brokers may deliver asynchronously.
var Wait = 10 * time.Second

// PresenceTTL is the presence TTL the suite asks for when it checks that
// members of a node that stopped refreshing expire. A broker whose server
// counts TTLs in whole seconds gets at least one second.
var PresenceTTL = 2 * time.Second

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
	cases := []struct {
		name string
		run  func(*testing.T, Cluster)
	}{
		{"DeliversToOtherNodesOnly", deliversToOthers},
		{"EnvelopeIntact", envelopeIntact},
		{"DataNotKept", dataNotKept},
		{"ConcurrentPublish", concurrentPublish},
		{"NoDeliveryAfterClose", noDeliveryAfterClose},
		{"Interest", interest},
		{"Unsubscribe", unsubscribe},
		{"SubscribeThenPublish", subscribeThenPublish},
		{"PerNodeAddressing", perNodeAddressing},
		{"Presence", presence},
		{"PresenceExpires", presenceExpires},
		{"Restart", restart},
		{"HubsRouteThroughBroker", hubsRoute},
		{"HubInterest", hubInterest},
		{"HubJoinThenPublish", hubJoinThenPublish},
		{"HubClusterOps", hubClusterOps},
		{"HubWithoutSessions", hubWithoutSessions},
		{"HubOutboxFull", hubOutboxFull},
		{"HubNothingAfterClose", hubNothingAfterClose},
		{"HubPresence", hubPresence},
		{"HubRestart", hubRestart},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newCluster(t)) })
	}
}

// node is a started broker and what it has been handed.
type node struct {
	name     string
	broker   hub.Broker
	got      chan hub.Envelope
	events   chan string // "down", "up"
	overflow atomic.Bool // more than cap(got) envelopes were waiting
}

// recorder is the BrokerHost of a broker tested alone.
type recorder struct{ n *node }

func (r recorder) Deliver(e hub.Envelope) {
	select {
	case r.n.got <- e:
	default:
		r.n.overflow.Store(true)
	}
}

func (r recorder) Disconnected(error) { r.event("down") }
func (r recorder) Reconnected()       { r.event("up") }

func (r recorder) event(ev string) {
	select {
	case r.n.events <- ev:
	default:
		r.n.overflow.Store(true)
	}
}

// checkOverflow fails the test if the broker handed n more than the
// suite ever expects.
func (n *node) checkOverflow(t *testing.T) {
	t.Helper()
	if n.overflow.Load() {
		t.Fatalf("node %s was handed more envelopes or events than any case sends", n.name)
	}
}

func start(t *testing.T, c Cluster, name string) *node {
	t.Helper()
	n := &node{name: name, broker: c.Broker(t), got: make(chan hub.Envelope, 4096), events: make(chan string, 64)}
	if err := n.broker.Start(name, recorder{n}); err != nil {
		t.Fatalf("Start(%q): %v", name, err)
	}
	return n
}

// next returns the next envelope delivered to n.
func (n *node) next(t *testing.T) hub.Envelope {
	t.Helper()
	n.checkOverflow(t)
	select {
	case e := <-n.got:
		return e
	case <-time.After(Wait):
		t.Fatalf("node %s: no envelope delivered", n.name)
		return hub.Envelope{}
	}
}

// none checks that n has been handed nothing (call after a sentinel has
// reached n or another node, so that an asynchronous broker had its chance).
func (n *node) none(t *testing.T) {
	t.Helper()
	n.checkOverflow(t)
	select {
	case e := <-n.got:
		t.Fatalf("node %s was handed %s", n.name, summarize(e))
	default:
	}
}

// collect reads envelopes until it has seen one with Data "sentinel" and
// at least want others, and returns the others' Data.
func (n *node) collect(t *testing.T, want int) []string {
	t.Helper()
	var got []string
	sentinel := false
	for !sentinel || len(got) < want {
		e := n.next(t)
		if string(e.Data) == "sentinel" && !sentinel {
			sentinel = true
			continue
		}
		got = append(got, string(e.Data))
	}
	return got
}

func (n *node) await(t *testing.T, event string) {
	t.Helper()
	select {
	case e := <-n.events:
		if e != event {
			t.Fatalf("node %s: broker said %q, want %q", n.name, e, event)
		}
	case <-time.After(Wait):
		t.Fatalf("node %s: broker never said %q", n.name, event)
	}
}

func publish(t *testing.T, n *node, e hub.Envelope) {
	t.Helper()
	e.Node = n.name
	if e.Op == hub.OpMessage && e.Type == 0 {
		e.Type = hub.TextMessage
	}
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if err := n.broker.Publish(ctx, e); err != nil {
		t.Fatalf("Publish from %s: %v", n.name, err)
	}
}

func subscribe(t *testing.T, n *node, kind hub.Kind, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if err := n.broker.Subscribe(ctx, hub.Channel{Kind: kind, Name: name}); err != nil {
		t.Fatalf("node %s: Subscribe(%s): %v", n.name, name, err)
	}
}

func sentinel(t *testing.T, n *node) {
	t.Helper()
	publish(t, n, hub.Envelope{Kind: hub.ToAll, Data: []byte("sentinel")})
}

func closeAll(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, n := range nodes {
		if err := n.broker.Close(); err != nil {
			t.Errorf("Close %s: %v", n.name, err)
		}
	}
}

func summarize(e hub.Envelope) string {
	return fmt.Sprintf("{Node:%q Op:%d Kind:%d Target:%q Except:%q Type:%d Data:%d bytes Code:%d Reason:%q Room:%q}",
		e.Node, e.Op, e.Kind, e.Target, e.Except, e.Type, len(e.Data), e.Code, e.Reason, e.Room)
}

func deliversToOthers(t *testing.T, c Cluster) {
	a, b, d := start(t, c, "a"), start(t, c, "b"), start(t, c, "d")
	defer closeAll(t, a, b, d)
	publish(t, a, hub.Envelope{Kind: hub.ToAll, Data: []byte("from a")})
	for _, n := range []*node{b, d} {
		if e := n.next(t); string(e.Data) != "from a" || e.Node != "a" {
			t.Fatalf("node %s got %s", n.name, summarize(e))
		}
	}
	// A sentinel from b reaching a shows the broker had time to misdeliver.
	sentinel(t, b)
	d.next(t)
	if e := a.next(t); string(e.Data) != "sentinel" { // a gets b's sentinel...
		t.Fatalf("node a got %s", summarize(e))
	}
	a.none(t) // ...and never its own envelope
	b.none(t)
}

func envelopeIntact(t *testing.T, c Cluster) {
	a, b := start(t, c, "a"), start(t, c, "b")
	defer closeAll(t, a, b)
	subscribe(t, b, hub.ToRoom, "lobby")
	subscribe(t, b, hub.ToTopic, "prices.>")
	member, _ := (&hub.Member{SessionID: "a-1", Node: "a", Info: []byte(`{"user":"ann"}`), Since: time.UnixMilli(1700000000000)}).MarshalBinary()
	cases := []hub.Envelope{
		{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("all")},
		{Kind: hub.ToRoom, Target: "lobby", Except: []string{"a-1", "a-2"}, Type: hub.BinaryMessage, Data: []byte{0, 0xff, 1}},
		{Kind: hub.ToTopic, Target: "prices.eu.btc", Type: hub.TextMessage, Data: []byte(`{"p":1}`)},
		{Kind: hub.ToSession, Target: "b-7", Type: hub.TextMessage, Data: bytes.Repeat([]byte("x"), 100_000)},
		{Op: hub.OpClose, Kind: hub.ToSession, Target: "b-7", Code: 4001, Reason: "kicked"},
		{Op: hub.OpJoin, Kind: hub.ToSession, Target: "b-7", Room: "room with spaces.and*dots>"},
		{Op: hub.OpLeave, Kind: hub.ToSession, Target: "b-7", Room: "ünïcödé"},
		{Op: hub.OpPresenceJoin, Kind: hub.ToRoom, Target: "lobby", Data: member},
		// A message of a room with history carries its position.
		{Kind: hub.ToRoom, Target: "lobby", Type: hub.TextMessage, Data: []byte("positioned"), Epoch: "e7", Offset: 1 << 40},
	}
	for _, want := range cases {
		publish(t, a, want)
		want.Node = "a"
		got := b.next(t)
		if len(want.Except) == 0 && len(got.Except) == 0 {
			got.Except = want.Except
		}
		if len(want.Data) == 0 && len(got.Data) == 0 {
			got.Data = want.Data
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("delivered %s\nwant %s", summarize(got), summarize(want))
		}
	}
}

func dataNotKept(t *testing.T, c Cluster) {
	a, b := start(t, c, "a"), start(t, c, "b")
	defer closeAll(t, a, b)
	data := []byte("original")
	publish(t, a, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: data})
	copy(data, "CHANGED!") // allowed once Publish has returned
	if got := b.next(t); string(got.Data) != "original" {
		t.Fatalf("delivered %q: the broker kept the publisher's Data", got.Data)
	}
}

func concurrentPublish(t *testing.T, c Cluster) {
	a, b := start(t, c, "a"), start(t, c, "b")
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

func noDeliveryAfterClose(t *testing.T, c Cluster) {
	a, b, d := start(t, c, "a"), start(t, c, "b"), start(t, c, "d")
	defer closeAll(t, a, d)
	subscribe(t, b, hub.ToRoom, "r")
	if err := b.broker.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	publish(t, a, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("after close")})
	publish(t, a, hub.Envelope{Kind: hub.ToRoom, Target: "r", Type: hub.TextMessage, Data: []byte("after close")})
	publish(t, a, hub.Envelope{Kind: hub.ToSession, Target: "b-1", Type: hub.TextMessage, Data: []byte("after close")})
	d.next(t)
	b.none(t)
}

// interest: a node receives a room's and a topic's envelopes only when
// subscribed, and a topic envelope once however many patterns match.
func interest(t *testing.T, c Cluster) {
	a, b, d := start(t, c, "a"), start(t, c, "b"), start(t, c, "d")
	defer closeAll(t, a, b, d)
	subscribe(t, b, hub.ToRoom, "r")
	subscribe(t, b, hub.ToTopic, "prices.*.btc")
	subscribe(t, b, hub.ToTopic, "prices.>")
	subscribe(t, b, hub.ToTopic, "news.eu")
	subscribe(t, b, hub.ToRoom, "sp ace.*>ü")
	sends := []struct {
		kind   hub.Kind
		target string
		forB   bool
	}{
		{hub.ToRoom, "r", true},
		{hub.ToRoom, "r2", false},
		{hub.ToRoom, "r.x", false},
		{hub.ToRoom, "sp ace.*>ü", true}, // room names are not patterns
		{hub.ToRoom, "sp ace.x>ü", false},
		{hub.ToRoom, "sp ace.*.ü", false},
		{hub.ToTopic, "prices.eu.btc", true}, // two patterns match: once
		{hub.ToTopic, "prices.eu", true},
		{hub.ToTopic, "prices", false},
		{hub.ToTopic, "news.eu", true},
		{hub.ToTopic, "news.eu.x", false},
		{hub.ToTopic, "news.us", false},
		{hub.ToTopic, "other.eu.btc", false},
	}
	var want []string
	for _, s := range sends {
		publish(t, a, hub.Envelope{Kind: s.kind, Target: s.target, Data: []byte(s.target)})
		if s.forB {
			want = append(want, s.target)
		}
	}
	sentinel(t, a)
	got := b.collect(t, len(want))
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("node b got %q, want %q", got, want)
	}
	b.none(t)
	if e := d.next(t); string(e.Data) != "sentinel" {
		t.Fatalf("node d, subscribed to nothing, got %s", summarize(e))
	}
	d.none(t)
}

func unsubscribe(t *testing.T, c Cluster) {
	a, b := start(t, c, "a"), start(t, c, "b")
	defer closeAll(t, a, b)
	subscribe(t, b, hub.ToRoom, "r")
	subscribe(t, b, hub.ToTopic, "t.*")
	publish(t, a, hub.Envelope{Kind: hub.ToRoom, Target: "r", Data: []byte("r")})
	publish(t, a, hub.Envelope{Kind: hub.ToTopic, Target: "t.x", Data: []byte("t.x")})
	sentinel(t, a)
	if got := b.collect(t, 2); len(got) != 2 {
		t.Fatalf("got %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	for _, ch := range []hub.Channel{{Kind: hub.ToRoom, Name: "r"}, {Kind: hub.ToTopic, Name: "t.*"}} {
		if err := b.broker.Unsubscribe(ctx, ch); err != nil {
			t.Fatalf("Unsubscribe(%v): %v", ch, err)
		}
	}
	// Unsubscribing what is not subscribed is not an error.
	if err := b.broker.Unsubscribe(ctx, hub.Channel{Kind: hub.ToRoom, Name: "never"}); err != nil {
		t.Fatalf("Unsubscribe of a channel never subscribed: %v", err)
	}
	publish(t, a, hub.Envelope{Kind: hub.ToRoom, Target: "r", Data: []byte("r")})
	publish(t, a, hub.Envelope{Kind: hub.ToTopic, Target: "t.x", Data: []byte("t.x")})
	sentinel(t, a)
	if got := b.collect(t, 0); len(got) != 0 {
		t.Fatalf("after Unsubscribe node b got %q", got)
	}
	// Subscribing again (and twice: idempotent) works.
	subscribe(t, b, hub.ToRoom, "r")
	subscribe(t, b, hub.ToRoom, "r")
	publish(t, a, hub.Envelope{Kind: hub.ToRoom, Target: "r", Data: []byte("again")})
	if e := b.next(t); string(e.Data) != "again" {
		t.Fatalf("node b got %s", summarize(e))
	}
	sentinel(t, a)
	if got := b.collect(t, 0); len(got) != 0 {
		t.Fatalf("a second Subscribe duplicated delivery: %q", got)
	}
}

// subscribeThenPublish: an envelope published right after Subscribe
// returned is delivered.
func subscribeThenPublish(t *testing.T, c Cluster) {
	a, b := start(t, c, "a"), start(t, c, "b")
	defer closeAll(t, a, b)
	for i := range 20 {
		room, topic := fmt.Sprintf("room-%d", i), fmt.Sprintf("topic.%d", i)
		subscribe(t, b, hub.ToRoom, room)
		publish(t, a, hub.Envelope{Kind: hub.ToRoom, Target: room, Data: []byte(room)})
		subscribe(t, b, hub.ToTopic, "topic.*")
		publish(t, a, hub.Envelope{Kind: hub.ToTopic, Target: topic, Data: []byte(topic)})
		for _, want := range []string{room, topic} {
			if e := b.next(t); string(e.Data) != want {
				t.Fatalf("node b got %s, want %q", summarize(e), want)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), Wait)
		err := b.broker.Unsubscribe(ctx, hub.Channel{Kind: hub.ToTopic, Name: "topic.*"})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// perNodeAddressing: a ToSession envelope reaches the node of its session
// only, node IDs with '-' included.
func perNodeAddressing(t *testing.T, c Cluster) {
	a, b, cx := start(t, c, "a"), start(t, c, "b"), start(t, c, "c-x")
	defer closeAll(t, a, b, cx)
	for _, target := range []string{"b-1", "c-x-9", "c-1", "zz-1", "b-x-1"} {
		publish(t, a, hub.Envelope{Kind: hub.ToSession, Target: target, Data: []byte(target)})
	}
	sentinel(t, a)
	if got := b.collect(t, 1); !slices.Equal(got, []string{"b-1"}) {
		t.Fatalf("node b got %q, want [b-1]", got)
	}
	if got := cx.collect(t, 1); !slices.Equal(got, []string{"c-x-9"}) {
		t.Fatalf("node c-x got %q, want [c-x-9]", got)
	}
	b.none(t)
	cx.none(t)
}

func presenceOf(t *testing.T, n *node) hub.PresenceBroker {
	t.Helper()
	pb, ok := n.broker.(hub.PresenceBroker)
	if !ok {
		t.Skip("the broker does not implement hub.PresenceBroker")
	}
	return pb
}

func presence(t *testing.T, c Cluster) {
	a, b := start(t, c, "a"), start(t, c, "b")
	defer closeAll(t, a, b)
	pa, pb := presenceOf(t, a), presenceOf(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	since := time.UnixMilli(time.Now().UnixMilli())
	ann := hub.Member{SessionID: "a-1", Node: "a", Info: []byte(`{"user":"ann"}`), Since: since}
	bob := hub.Member{SessionID: "b-1", Node: "b", Info: []byte("bob"), Since: since}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(pa.AddPresence(ctx, "lobby", []hub.Member{ann}, time.Minute))
	must(pb.AddPresence(ctx, "lobby", []hub.Member{bob}, time.Minute))
	must(pb.AddPresence(ctx, "other room", []hub.Member{{SessionID: "b-2", Node: "b", Since: since}}, time.Minute))
	check := func(p hub.PresenceBroker, want ...hub.Member) {
		t.Helper()
		got, err := p.Presence(ctx, "lobby")
		must(err)
		sort.Slice(got, func(i, j int) bool { return got[i].SessionID < got[j].SessionID })
		for i := range got {
			if len(got[i].Info) == 0 {
				got[i].Info = nil
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Presence = %+v\nwant %+v", got, want)
		}
		n, err := p.PresenceCount(ctx, "lobby")
		must(err)
		if n != len(want) {
			t.Fatalf("PresenceCount = %d, want %d", n, len(want))
		}
	}
	check(pa, ann, bob)
	check(pb, ann, bob)
	// Adding again replaces the info.
	bob.Info = []byte("robert")
	must(pb.AddPresence(ctx, "lobby", []hub.Member{bob}, time.Minute))
	check(pa, ann, bob)
	must(pa.RemovePresence(ctx, "lobby", []string{"a-1", "absent-1"}))
	check(pb, bob)
	if got, err := pa.Presence(ctx, "empty room"); err != nil || len(got) != 0 {
		t.Fatalf("Presence of an empty room = %v, %v", got, err)
	}
}

// presenceExpires: a member not refreshed within its TTL disappears; one
// refreshed stays.
func presenceExpires(t *testing.T, c Cluster) {
	a := start(t, c, "a")
	defer closeAll(t, a)
	pa := presenceOf(t, a)
	ctx, cancel := context.WithTimeout(context.Background(), 3*Wait)
	defer cancel()
	short := hub.Member{SessionID: "a-short", Node: "a"}
	long := hub.Member{SessionID: "a-long", Node: "a"}
	if err := pa.AddPresence(ctx, "r", []hub.Member{long}, 3*Wait); err != nil {
		t.Fatal(err)
	}
	if err := pa.AddPresence(ctx, "r", []hub.Member{short}, PresenceTTL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(PresenceTTL + Wait)
	for {
		got, err := pa.Presence(ctx, "r")
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, 0, len(got))
		for _, m := range got {
			ids = append(ids, m.SessionID)
		}
		if slices.Equal(ids, []string{"a-long"}) {
			return
		}
		if !slices.Contains(ids, "a-long") {
			t.Fatalf("the member with a long TTL expired: %q", ids)
		}
		if time.Now().After(deadline) {
			t.Fatalf("members %q: the one with a %v TTL never expired", ids, PresenceTTL)
		}
		time.Sleep(50 * time.Millisecond) // polling a server-side expiry
	}
}

// restart: after the server restarts, every node says it was lost and is
// back, and delivery resumes on every subscription without resubscribing.
func restart(t *testing.T, c Cluster) {
	if c.Restart == nil {
		t.Skip("the broker has no server to restart (Cluster.Restart is nil)")
	}
	a, b := start(t, c, "a"), start(t, c, "b")
	defer closeAll(t, a, b)
	subscribe(t, b, hub.ToRoom, "r")
	subscribe(t, b, hub.ToTopic, "t.>")
	c.Restart(t)
	for _, n := range []*node{a, b} {
		n.await(t, "down")
		n.await(t, "up")
	}
	publish(t, a, hub.Envelope{Kind: hub.ToRoom, Target: "r", Data: []byte("r")})
	publish(t, a, hub.Envelope{Kind: hub.ToTopic, Target: "t.x.y", Data: []byte("t")})
	publish(t, a, hub.Envelope{Kind: hub.ToSession, Target: "b-1", Data: []byte("b-1")})
	sentinel(t, a)
	got := b.collect(t, 3)
	sort.Strings(got)
	if !slices.Equal(got, []string{"b-1", "r", "t"}) {
		t.Fatalf("after the restart node b got %q", got)
	}
}
