package natsbroker_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/brokertest"
	"github.com/wsgate/wsgate/hub/natsbroker"
)

func TestConformance(t *testing.T) {
	brokertest.Run(t, func(t *testing.T) brokertest.Cluster {
		ts := startServer(t)
		return brokertest.Cluster{
			Broker: func(t *testing.T) hub.Broker {
				b, err := natsbroker.New(natsbroker.Config{URL: ts.url(), ReconnectWait: 50e6})
				if err != nil {
					t.Fatal(err)
				}
				return b
			},
			Restart: ts.restart,
		}
	})
}

// Room names that are NATS syntax, or look like the encoding of another
// name, each reach exactly the node subscribed to them.
func TestRoomNamesRouteExactly(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a, b := newNode(t, ts, "a", natsbroker.Config{}), newNode(t, ts, "b", natsbroker.Config{})
	subscribed := []string{"a.b", "*", ">", "a b", "ünï", "_2E", "日本", "a_b", "$SYS", "x>y", "tab\there"}
	others := []string{"a", "b", ".", "_2E_2E", "a%20b", "a_20b", "a-b", "A.B", "_", "x", "$sys", "日"}
	for _, r := range subscribed {
		b.subscribe(t, hub.ToRoom, r)
	}
	for _, r := range append(slices.Clone(others), subscribed...) {
		a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: r, Type: hub.TextMessage, Data: []byte(r)})
	}
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("end")})
	var got []string
	for _, e := range b.drainUntil(t, "end") {
		if e.Kind != hub.ToRoom || string(e.Data) != e.Target {
			t.Fatalf("delivered %+v", e)
		}
		got = append(got, e.Target)
	}
	if !slices.Equal(got, subscribed) {
		t.Fatalf("node b got rooms %q\nwant exactly (in order) %q", got, subscribed)
	}
	if st := b.b.Stats(); st.Filtered != 0 || st.Duplicates != 0 {
		t.Fatalf("stats %+v: want no filtered or duplicate envelope", st)
	}
}

// Topic patterns use NATS wildcards; a table of patterns and subjects shows
// that what a node receives is exactly what hub.MatchTopic selects, each
// envelope once however many patterns match, and that nothing the server
// sent had to be filtered (over-delivery 0).
func TestTopicWildcardsMatchHub(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a, b := newNode(t, ts, "a", natsbroker.Config{}), newNode(t, ts, "b", natsbroker.Config{})
	patterns := []string{"prices.*.btc", "prices.>", "news.eu", "news.*", "*", "x.*.*", "ü.>", "_2A.a", "a-b.*"}
	subjects := []string{
		"prices", "prices.eu", "prices.eu.btc", "prices.us.btc", "prices.eu.eth", "prices.eu.btc.spot",
		"news", "news.eu", "news.us", "news.eu.de", "solo", "x", "x.y", "x.y.z", "x.y.z.w",
		"ü", "ü.a", "ü.a.b", "u.a", "_2A.a", "$.a", "a-b.c", "a_b.c", "a-b", "pricesXeu", "prices-eu.btc",
	}
	for _, p := range patterns {
		b.subscribe(t, hub.ToTopic, p)
	}
	var want []string
	extra := 0
	for _, s := range subjects {
		matches := 0
		for _, p := range patterns {
			if hub.MatchTopic(p, s) {
				matches++
			}
		}
		if matches > 0 {
			want = append(want, s)
			extra += matches - 1
		}
		a.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: s, Type: hub.TextMessage, Data: []byte(s)})
	}
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("end")})
	var got []string
	for _, e := range b.drainUntil(t, "end") {
		got = append(got, e.Target)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("node b got subjects %q\nwant exactly (in order) %q", got, want)
	}
	st := b.b.Stats()
	if st.Filtered != 0 {
		t.Fatalf("over-delivery: %d envelopes the patterns do not cover reached the node", st.Filtered)
	}
	if st.Duplicates != uint64(extra) {
		t.Fatalf("Duplicates = %d, want %d (one per extra matching pattern)", st.Duplicates, extra)
	}
	t.Logf("%d subjects, %d delivered, %d copies dropped, 0 over-delivered", len(subjects), len(got), extra)
}

// A node receives only what its subscriptions cover: rooms it did not
// subscribe to or unsubscribed from, and other nodes' sessions, never
// reach it.
func TestInterestAndAddressing(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a := newNode(t, ts, "a", natsbroker.Config{})
	b := newNode(t, ts, "node-b", natsbroker.Config{})
	c := newNode(t, ts, "c", natsbroker.Config{})
	b.subscribe(t, hub.ToRoom, "lobby")
	b.subscribe(t, hub.ToRoom, "gone")
	if err := b.b.Unsubscribe(ctx(t), hub.Channel{Kind: hub.ToRoom, Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if err := b.b.Unsubscribe(ctx(t), hub.Channel{Kind: hub.ToRoom, Name: "never"}); err != nil {
		t.Fatalf("Unsubscribe of an absent channel: %v", err)
	}
	steps := []hub.Envelope{
		{Kind: hub.ToRoom, Target: "lobby"},
		{Kind: hub.ToRoom, Target: "gone"},
		{Kind: hub.ToRoom, Target: "other"},
		{Kind: hub.ToSession, Target: "node-b-7"},
		{Kind: hub.ToSession, Target: "c-1"},
		{Kind: hub.ToTopic, Target: "prices.eu"},
	}
	for i, e := range steps {
		e.Type, e.Data = hub.TextMessage, fmt.Appendf(nil, "%d", i)
		a.publish(t, e)
	}
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("end")})
	summary := func(es []hub.Envelope) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Target)
		}
		return out
	}
	if got := summary(b.drainUntil(t, "end")); !slices.Equal(got, []string{"lobby", "node-b-7"}) {
		t.Fatalf("node-b got %q, want [lobby node-b-7]", got)
	}
	if got := summary(c.drainUntil(t, "end")); !slices.Equal(got, []string{"c-1"}) {
		t.Fatalf("c got %q, want [c-1]", got)
	}
	select {
	case e := <-a.h.got:
		t.Fatalf("the publisher got %+v", e)
	default:
	}
	// On the wire too: the server sent each node only what it delivered.
	for _, n := range []struct {
		n    *node
		want uint64
	}{{a, 0}, {b, 3}, {c, 2}} {
		if st := n.n.b.Stats(); st.InMsgs != n.want || st.Filtered != 0 {
			t.Errorf("%s: the server sent %d messages (%d filtered), want %d", n.n.name, st.InMsgs, st.Filtered, n.want)
		}
	}
}

// Once Subscribe returns, an envelope published at once by another node
// reaches the subscriber: the subscription was confirmed by the server.
func TestSubscribeThenPublish(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a, b := newNode(t, ts, "a", natsbroker.Config{}), newNode(t, ts, "b", natsbroker.Config{})
	for i := range 50 {
		room := fmt.Sprintf("room-%d", i)
		b.subscribe(t, hub.ToRoom, room)
		a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: room, Type: hub.TextMessage, Data: []byte(room)})
		if e := b.h.next(t); e.Target != room {
			t.Fatalf("got %q, want %q", e.Target, room)
		}
	}
}

// Several apps share one server: brokers with different prefixes never
// see each other's envelopes.
func TestPrefixIsolates(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a := newNode(t, ts, "a", natsbroker.Config{Prefix: "app1"})
	b := newNode(t, ts, "b", natsbroker.Config{Prefix: "app2"})
	c := newNode(t, ts, "c", natsbroker.Config{Prefix: "app1"})
	a.publish(t, all("for app1"))
	b.publish(t, all("for app2"))
	c.publish(t, all("end"))
	if e := c.h.next(t); string(e.Data) != "for app1" {
		t.Fatalf("c got %q", e.Data)
	}
	if e := a.h.next(t); string(e.Data) != "end" { // c's marker, after b's
		t.Fatalf("a got %q, want only app1's envelopes", e.Data)
	}
}

// Bad input: envelopes and channels without a subject are refused with
// ErrUnroutable, and nothing reaches other nodes.
func TestUnroutable(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a, b := newNode(t, ts, "a", natsbroker.Config{}), newNode(t, ts, "b", natsbroker.Config{})
	b.subscribe(t, hub.ToTopic, ">")
	pubs := []struct {
		name string
		e    hub.Envelope
	}{
		{"session without node", hub.Envelope{Kind: hub.ToSession, Target: "nodash"}},
		{"topic with wildcard", hub.Envelope{Kind: hub.ToTopic, Target: "a.*"}},
		{"topic with empty token", hub.Envelope{Kind: hub.ToTopic, Target: "a..b"}},
		{"empty topic", hub.Envelope{Kind: hub.ToTopic, Target: ""}},
		{"unknown kind", hub.Envelope{Kind: 9}},
	}
	for _, p := range pubs {
		p.e.Node, p.e.Type, p.e.Data = "a", hub.TextMessage, []byte("x")
		if err := a.b.Publish(ctx(t), p.e); !errors.Is(err, natsbroker.ErrUnroutable) {
			t.Errorf("%s: Publish = %v, want ErrUnroutable", p.name, err)
		}
	}
	subs := []struct {
		name string
		ch   hub.Channel
	}{
		{"> not last", hub.Channel{Kind: hub.ToTopic, Name: ">.a"}},
		{"mixed wildcard", hub.Channel{Kind: hub.ToTopic, Name: "a*.b"}},
		{"empty token", hub.Channel{Kind: hub.ToTopic, Name: "a."}},
		{"ToAll channel", hub.Channel{Kind: hub.ToAll}},
	}
	for _, s := range subs {
		if err := b.b.Subscribe(ctx(t), s.ch); !errors.Is(err, natsbroker.ErrUnroutable) {
			t.Errorf("%s: Subscribe = %v, want ErrUnroutable", s.name, err)
		}
	}
	a.publish(t, all("end"))
	if got := b.drainUntil(t, "end"); len(got) != 0 {
		t.Fatalf("b got %d envelopes from refused publishes", len(got))
	}
}

func TestConfigRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		cfg   natsbroker.Config
		field string
	}{
		{"prefix with wildcard", natsbroker.Config{Prefix: "app.*"}, "Prefix"},
		{"prefix with empty token", natsbroker.Config{Prefix: "app..x"}, "Prefix"},
		{"prefix with space", natsbroker.Config{Prefix: "my app"}, "Prefix"},
		{"prefix too long", natsbroker.Config{Prefix: string(make([]byte, 65))}, "Prefix"},
		{"negative timeout", natsbroker.Config{Timeout: -1}, "Timeout"},
		{"negative reconnect wait", natsbroker.Config{ReconnectWait: -1}, "ReconnectWait"},
		{"negative queue", natsbroker.Config{QueueSize: -1}, "QueueSize"},
		{"negative replicas", natsbroker.Config{PresenceReplicas: -1}, "PresenceReplicas"},
		{"stream with dot", natsbroker.Config{PresenceStream: "a.b"}, "PresenceStream"},
		{"bad storage", natsbroker.Config{PresenceStorage: 7}, "PresenceStorage"},
	}
	for _, c := range cases {
		_, err := natsbroker.New(c.cfg)
		if !errors.Is(err, natsbroker.ErrConfig) || !containsField(err, c.field) {
			t.Errorf("%s: New = %v, want ErrConfig naming Config.%s", c.name, err, c.field)
		}
	}
	if _, err := natsbroker.New(natsbroker.Config{Prefix: "tenant_1.ws-gate"}); err != nil {
		t.Errorf("valid prefix refused: %v", err)
	}
}

func containsField(err error, field string) bool {
	return err != nil && strings.Contains(err.Error(), "Config."+field+" ")
}
