package redisbroker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

// TestConfigRefusals: New refuses each bad field with an error that wraps
// ErrConfig and names the field.
func TestConfigRefusals(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer client.Close()
	cases := []struct {
		name, field string
		cfg         Config
	}{
		{"no client", "Client", Config{}},
		{"long prefix", "Prefix", Config{Client: client, Prefix: strings.Repeat("p", 65)}},
		{"prefix with space", "Prefix", Config{Client: client, Prefix: "my app"}},
		{"prefix with control", "Prefix", Config{Client: client, Prefix: "a\x00b"}},
		{"negative health", "HealthInterval", Config{Client: client, HealthInterval: -time.Second}},
		{"negative connect", "ConnectTimeout", Config{Client: client, ConnectTimeout: -time.Second}},
		{"negative backoff", "MaxBackoff", Config{Client: client, MaxBackoff: -time.Second}},
		{"subscribe all sharded", "SubscribeAll", Config{Client: client, SubscribeAll: true, Sharded: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := New(c.cfg)
			if b != nil || !isErr(err, ErrConfig) || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("New = %v, %v; want an ErrConfig naming %s", b, err, c.field)
			}
		})
	}
	if _, err := New(Config{Client: client}); err != nil {
		t.Fatalf("zero config with a client: %v", err)
	}
}

// TestStartFailsWithoutServer: Start against a dead address gives up after
// ConnectTimeout with an error, and leaves no goroutine behind (goleak).
func TestStartFailsWithoutServer(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	srv.Stop()
	b, err := New(Config{Client: client, ConnectTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start("a", newHost("a")); err == nil {
		t.Fatal("Start succeeded with no server")
	}
	if err := b.Publish(ctxT(t), hub.Envelope{Node: "a", Kind: hub.ToAll, Type: hub.TextMessage}); !isErr(err, ErrClosed) {
		t.Fatalf("Publish after a failed Start: %v, want ErrClosed", err)
	}
}

// TestCallsOutsideLifetime: before Start the broker refuses with
// ErrNotStarted; after Close with ErrClosed; Close twice is fine.
func TestCallsOutsideLifetime(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	b, err := New(Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	e := hub.Envelope{Node: "a", Kind: hub.ToAll, Type: hub.TextMessage}
	room := hub.Channel{Kind: hub.ToRoom, Name: "r"}
	if err := b.Publish(ctx, e); !isErr(err, ErrNotStarted) {
		t.Fatalf("Publish before Start: %v", err)
	}
	if err := b.Subscribe(ctx, room); !isErr(err, ErrNotStarted) {
		t.Fatalf("Subscribe before Start: %v", err)
	}
	if err := b.Start("a", newHost("a")); err != nil {
		t.Fatal(err)
	}
	if err := b.Start("a", newHost("a")); err == nil {
		t.Fatal("second Start succeeded")
	}
	b.Close()
	b.Close()
	for name, err := range map[string]error{
		"Publish":     b.Publish(ctx, e),
		"Subscribe":   b.Subscribe(ctx, room),
		"Unsubscribe": b.Unsubscribe(ctx, room),
		"Presence":    b.AddPresence(ctx, "r", []hub.Member{{SessionID: "a-1"}}, time.Second),
	} {
		if !isErr(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

// TestBadRoutes: an envelope or channel the broker cannot name is refused,
// and the broker goes on working.
func TestBadRoutes(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	a, b := startNode(t, client, "a", nil), startNode(t, client, "b", nil)
	ctx := ctxT(t)
	for name, err := range map[string]error{
		"session without node": a.Publish(ctx, hub.Envelope{Node: "a", Kind: hub.ToSession, Target: "7", Type: hub.TextMessage}),
		"unknown kind":         a.Publish(ctx, hub.Envelope{Node: "a", Kind: 9, Type: hub.TextMessage}),
		"subscribe ToAll":      a.Subscribe(ctx, hub.Channel{Kind: hub.ToAll}),
		"bad pattern":          a.Subscribe(ctx, hub.Channel{Kind: hub.ToTopic, Name: "a.>.b"}),
		"empty room":           a.Subscribe(ctx, hub.Channel{Kind: hub.ToRoom}),
	} {
		if !isErr(err, ErrUnroutable) {
			t.Errorf("%s: %v, want ErrUnroutable", name, err)
		}
	}
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("still works")})
	b.awaitData(t, "still works")
}

// TestInterest: a node receives a room's envelopes only while subscribed
// to it, and envelopes for one node reach that node only.
func TestInterest(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	a, b, c := startNode(t, client, "a", nil), startNode(t, client, "b", nil), startNode(t, client, "c", nil)
	b.subscribe(t, hub.ToRoom, "r1")
	b.subscribe(t, hub.ToRoom, "r1") // idempotent
	a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "r2", Data: []byte("r2")})
	a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "r1", Data: []byte("r1")})
	a.publish(t, hub.Envelope{Kind: hub.ToSession, Target: "b-7", Data: []byte("for b-7")})
	a.publish(t, hub.Envelope{Kind: hub.ToSession, Target: "c-x-1", Data: []byte("for c-x-1")}) // node "c-x"
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("sentinel")})
	b.awaitData(t, "r1")
	if e := b.awaitData(t, "for b-7"); e.Target != "b-7" || e.Kind != hub.ToSession {
		t.Fatalf("session envelope arrived as %+v", e)
	}
	b.awaitData(t, "sentinel")
	c.awaitData(t, "sentinel")
	b.none(t)
	c.none(t)
	// a's own ToAll came back from Redis and was dropped: once c's sentinel
	// reaches a, a has been handed that one only.
	c.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("from c")})
	a.awaitData(t, "from c")
	b.awaitData(t, "from c")
	a.none(t)
	if s := a.Stats(); s.Own != 1 || s.Delivered != 1 {
		t.Fatalf("publisher's stats %+v: want its one ToAll echo counted as Own", s)
	}

	// After Unsubscribe, r1 no longer reaches b. A confirmed Subscribe on
	// the same connection shows the server has processed the unsubscribe.
	if err := b.Unsubscribe(ctxT(t), hub.Channel{Kind: hub.ToRoom, Name: "r1"}); err != nil {
		t.Fatal(err)
	}
	b.subscribe(t, hub.ToRoom, "other")
	a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "r1", Data: []byte("r1 again")})
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("sentinel 2")})
	b.awaitData(t, "sentinel 2")
	b.none(t)
}

// TestPrefixIsolation: brokers with different prefixes on one Redis do not
// see each other's envelopes.
func TestPrefixIsolation(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	prefix := func(p string) func(*Config) { return func(c *Config) { c.Prefix = p } }
	a1, b1 := startNode(t, client, "a", prefix("app1")), startNode(t, client, "b", prefix("app1"))
	a2, b2 := startNode(t, client, "a", prefix("app*")), startNode(t, client, "b", prefix("app*"))
	b1.subscribe(t, hub.ToTopic, "x.>")
	b2.subscribe(t, hub.ToTopic, "x.>")
	a1.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("app1 all")})
	a1.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: "x.y", Data: []byte("app1 topic")})
	a2.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("app2 all")})
	b1.awaitData(t, "app1 all")
	b1.awaitData(t, "app1 topic")
	b2.awaitData(t, "app2 all")
	b1.none(t)
	b2.none(t)
	if s := b2.Stats(); s.Received != 1 {
		t.Fatalf("app* node received %d messages, want 1: its glob prefix must be escaped", s.Received)
	}
}

// TestMalformed: garbage or an envelope that does not fit its channel,
// published straight into Redis on the prefix, is counted and dropped; the
// broker keeps delivering.
func TestMalformed(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	b := startNode(t, client, "b", nil)
	b.subscribe(t, hub.ToRoom, "r")
	ctx := ctxT(t)
	wire := func(e hub.Envelope) []byte {
		p, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	raw := []struct{ channel, payload string }{
		{"wsgate:all", "not an envelope"},
		{"wsgate:all", string(wire(hub.Envelope{Node: "x", Kind: hub.ToRoom, Target: "r", Type: hub.TextMessage}))},
		{"wsgate:room:r", string(wire(hub.Envelope{Node: "x", Kind: hub.ToRoom, Target: "other", Type: hub.TextMessage}))},
		{"wsgate:node:b", string(wire(hub.Envelope{Node: "x", Kind: hub.ToSession, Target: "c-1", Type: hub.TextMessage}))},
	}
	for _, r := range raw {
		if err := client.Publish(ctx, r.channel, r.payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	client.Publish(ctx, "wsgate:all", wire(hub.Envelope{Node: "x", Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("good")}))
	b.awaitData(t, "good")
	b.none(t)
	if s := b.Stats(); s.Malformed != uint64(len(raw)) || s.Delivered != 1 {
		t.Fatalf("stats %+v: want %d malformed, 1 delivered", s, len(raw))
	}
}

// TestTopicWildcards: for each pattern, exactly the subjects MatchTopic
// accepts reach the subscriber, including literal tokens holding glob
// metacharacters; what Redis's wider glob sent in excess is counted as
// Filtered.
func TestTopicWildcards(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	subjects := []string{
		"a.b.c", "a.x.c", "a.b.x.c", "a.c", "a.b", "a", "ab.c", "a.b.c.d",
		"k*.v", "kx.v", "k?.v", "k[x].v", `k\.v`, "kk.v", "k[.v", `k\x.v`,
	}
	patterns := []string{"a.*.c", "a.>", "a.*", "*.c", ">", "k?.v", "k[x].v", `k\.v`, "*.v", "k[.v", "a.b.c"}
	for i, p := range patterns {
		t.Run(p, func(t *testing.T) {
			prefix := func(c *Config) { c.Prefix = fmt.Sprintf("t%d", i) }
			a, b := startNode(t, client, "a", prefix), startNode(t, client, "b", prefix)
			b.subscribe(t, hub.ToTopic, p)
			var want []string
			for _, s := range subjects {
				a.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: s, Data: []byte(s)})
				if hub.MatchTopic(p, s) {
					want = append(want, s)
				}
			}
			a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("sentinel")})
			var got []string
			for {
				e := b.next(t)
				if string(e.Data) == "sentinel" {
					break
				}
				if e.Kind != hub.ToTopic || e.Target != string(e.Data) {
					t.Fatalf("delivered %+v", e)
				}
				got = append(got, e.Target)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pattern %q delivered %q, want %q", p, got, want)
			}
			s := b.Stats()
			if s.Delivered != uint64(len(want))+1 || s.Received != s.Delivered+s.Filtered {
				t.Fatalf("stats %+v: want %d delivered, the rest filtered", s, len(want)+1)
			}
			t.Logf("pattern %-8q: %d subjects published, %d delivered, %d over-delivered by Redis and filtered", p, len(subjects), len(want), s.Filtered)
		})
	}
}

// TestOverlappingPatterns: a subject matched by several of a node's
// patterns (Redis sends one copy per pattern) is delivered once; the extra
// copies are counted as Duplicates. After one pattern goes, the others
// still deliver.
func TestOverlappingPatterns(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	a, b := startNode(t, client, "a", nil), startNode(t, client, "b", nil)
	for _, p := range []string{"p.>", "p.*", "p.*.c", "p.b.c", "*.b.c"} {
		b.subscribe(t, hub.ToTopic, p)
	}
	a.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: "p.b.c", Data: []byte("p.b.c")}) // 4 patterns match; "p.*"'s glob too
	a.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: "p.b", Data: []byte("p.b")})     // p.> and p.*
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("sentinel")})
	b.awaitData(t, "p.b.c")
	b.awaitData(t, "p.b")
	b.awaitData(t, "sentinel")
	b.none(t)
	if s := b.Stats(); s.Duplicates != 4+1 || s.Filtered != 0 {
		t.Fatalf("stats %+v: want 5 duplicates", s)
	}
	if err := b.Unsubscribe(ctxT(t), hub.Channel{Kind: hub.ToTopic, Name: "p.>"}); err != nil {
		t.Fatal(err)
	}
	b.subscribe(t, hub.ToRoom, "sync") // the server has processed the unsubscribe
	a.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: "p.b.c", Data: []byte("again")})
	a.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: "p.x.y.z", Data: []byte("p.> only")})
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("sentinel")})
	b.awaitData(t, "again")
	b.awaitData(t, "sentinel")
	b.none(t)
}

// TestGlobMatch checks the matcher the dedup relies on against the globs
// names.pattern builds.
func TestGlobMatch(t *testing.T) {
	n := newNames("p")
	cases := []struct {
		pattern, subject string
		want             bool
	}{
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.b.x.c", true}, // wider than the hub's "*"
		{"a.*.c", "a.c", false},
		{"a.>", "a.b", true},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{"k?.v", "k?.v", true},
		{"k?.v", "kxx.v", false},
		{"k?.v", "kx.v", false},
		{"k[x].v", "kx.v", false},
		{"k[x].v", "k[x].v", true},
		{`k\.v`, `k\.v`, true},
		{`k\.v`, "k.v", false},
		{">", "z", true},
	}
	for _, c := range cases {
		if got := globMatch(n.pattern(c.pattern), n.subject(c.subject)); got != c.want {
			t.Errorf("glob of %q on %q = %v, want %v", c.pattern, c.subject, got, c.want)
		}
	}
}
