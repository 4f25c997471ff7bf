package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// frameTest puts the position in front of the message: "offset@epoch|data".
func frameTest(_ string, pos Position, m Message) Message {
	return Text(strconv.FormatUint(pos.Offset, 10) + "@" + pos.Epoch + "|" + string(m.Data))
}

// parseFramed splits what frameTest made.
func parseFramed(t testing.TB, s string) (Position, string) {
	t.Helper()
	head, data, ok := strings.Cut(s, "|")
	off, epoch, ok2 := strings.Cut(head, "@")
	n, err := strconv.ParseUint(off, 10, 64)
	if !ok || !ok2 || err != nil {
		t.Fatalf("message %q is not framed", s)
	}
	return Position{Epoch: epoch, Offset: n}, data
}

func historyConfig(st Store, size int) Config {
	return Config{
		MaxQueuedMessages: 4096,
		MaxQueuedBytes:    16 << 20,
		History: HistoryConfig{
			Policy: func(room string) HistoryPolicy {
				if strings.HasPrefix(room, "h-") {
					return HistoryPolicy{Size: size}
				}
				return HistoryPolicy{}
			},
			Store: st,
			Frame: frameTest,
		},
	}
}

func newMemStore(t testing.TB) *MemoryStore {
	st, err := NewMemoryStore(MemoryStoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// readFramed reads one framed message.
func readFramed(t testing.TB, c *websocket.Conn) (Position, string) {
	t.Helper()
	_, s := readMsg(t, c)
	return parseFramed(t, s)
}

// TestHistoryNoGapNoDup is the recovery property on one node and on three
// nodes sharing a store over MemoryBus: clients keep disconnecting and
// rejoining (each time on another node) from the last position they saw
// while publishers on every node keep publishing. Every client must see
// every message exactly once, in offset order, and every rejoin but the
// first must recover.
func TestHistoryNoGapNoDup(t *testing.T) {
	for _, nodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d nodes", nodes), func(t *testing.T) {
			t.Parallel()
			historyProperty(t, nodes)
		})
	}
}

func historyProperty(t *testing.T, nodes int) {
	const (
		room        = "h-prop"
		perNode     = 300 // messages each node's publisher sends
		clients     = 3
		maxPerVisit = 40
	)
	st := newMemStore(t)
	var bus *MemoryBus
	if nodes > 1 {
		bus = NewMemoryBus()
	}
	hubs := make([]*testHub, nodes)
	for i := range hubs {
		cfg := historyConfig(st, 100_000)
		cfg.NodeID = fmt.Sprintf("n%d", i)
		if bus != nil {
			cfg.Broker = bus.Broker()
		}
		hubs[i] = newTestHub(t, cfg)
	}
	total := uint64(nodes * perNode)

	// The clients' first join comes before any message: from there on
	// each must see offsets 1 to total.
	type visitor struct {
		last Position
		seen []string // payload by offset-1
	}
	vs := make([]*visitor, clients)
	join := func(v *visitor, node int, first bool) *websocket.Conn {
		c, s := hubs[node].dial(t)
		rec, err := hubs[node].JoinFrom(s.ID(), room, v.last)
		if err != nil {
			t.Errorf("JoinFrom: %v", err)
			return c
		}
		if first {
			if rec.Recovered || !errors.Is(rec.Reason, ErrPositionLost) {
				t.Errorf("first join without a position: %+v, want a resync", rec)
			}
			v.last = rec.Position
		} else if !rec.Recovered {
			t.Errorf("rejoin from %s on node %d: %+v, want recovered", v.last, node, rec)
		}
		return c
	}
	conns := make([]*websocket.Conn, clients)
	for i := range vs {
		vs[i] = &visitor{}
		conns[i] = join(vs[i], i%nodes, true)
		if vs[i].last.Offset != 0 {
			t.Fatalf("room at %s before any message", vs[i].last)
		}
	}

	// Publishers keep publishing through every client's visits, at most
	// window messages ahead of the slowest client, so that no replay
	// outgrows a queue and publishing overlaps every rejoin.
	const window = 200
	var sent atomic.Uint64
	lasts := make([]atomic.Uint64, clients)
	slowest := func() uint64 {
		m := lasts[0].Load()
		for i := range lasts {
			m = min(m, lasts[i].Load())
		}
		return m
	}
	var wg sync.WaitGroup
	for i, h := range hubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(2 * waitFor)
			for j := range perNode {
				for sent.Load() > slowest()+window {
					if t.Failed() {
						return // a client gave up; it said why
					}
					if time.Now().After(deadline) {
						t.Errorf("node %d: clients stopped reading", i)
						return
					}
					time.Sleep(50 * time.Microsecond) // a bounded poll on the clients' progress
				}
				sent.Add(1)
				if _, err := h.SendToRoom(room, Text(fmt.Sprintf("n%d-%d", i, j))); err != nil {
					t.Errorf("SendToRoom: %v", err)
					return
				}
			}
		}()
	}

	// Each client reads a few messages, drops its connection without a
	// close frame, and rejoins on the next node from what it saw last.
	var cwg sync.WaitGroup
	for i, v := range vs {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			c := conns[i]
			for visit := 1; visit < 10_000 && v.last.Offset < total; visit++ {
				n := 1 + rng.IntN(maxPerVisit)
				for k := 0; k < n && v.last.Offset < total; k++ {
					c.SetReadDeadline(time.Now().Add(waitFor))
					_, b, err := c.ReadMessage()
					if err != nil {
						t.Errorf("client %d visit %d: read after %s: %v", i, visit, v.last, err)
						return
					}
					pos, data := parseFramed(t, string(b))
					if pos.Epoch != v.last.Epoch || pos.Offset != v.last.Offset+1 {
						t.Errorf("client %d visit %d: got %s after %s: a gap or a duplicate", i, visit, pos, v.last)
						return
					}
					v.last = pos
					lasts[i].Store(pos.Offset)
					v.seen = append(v.seen, data)
				}
				c.Close()
				c = join(v, (i+visit)%nodes, false)
			}
			c.Close()
		}()
	}
	wg.Wait()
	cwg.Wait()
	if t.Failed() {
		return
	}
	want := map[string]bool{}
	for i := range nodes {
		for j := range perNode {
			want[fmt.Sprintf("n%d-%d", i, j)] = true
		}
	}
	for i, v := range vs {
		if uint64(len(v.seen)) != total {
			t.Fatalf("client %d saw %d messages, want %d", i, len(v.seen), total)
		}
		got := map[string]bool{}
		for _, d := range v.seen {
			if !want[d] || got[d] {
				t.Fatalf("client %d saw %q unexpected or twice", i, d)
			}
			got[d] = true
		}
		if i > 0 && strings.Join(v.seen, ",") != strings.Join(vs[0].seen, ",") {
			t.Fatalf("clients 0 and %d saw the room in different orders", i)
		}
	}
	var recovered uint64
	for _, h := range hubs {
		recovered += h.Stats().History.Recovered
	}
	if recovered == 0 {
		t.Fatal("no recovery counted")
	}
}

// A position older than the history holds, or of an epoch the store has
// lost, gets the resync answer and live messages, never a silent gap.
func TestHistoryResync(t *testing.T) {
	st := newMemStore(t)
	th := newTestHub(t, historyConfig(st, 5))
	for i := range 20 {
		if _, err := th.SendToRoom("h-r", Text("m"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	_, top, err := th.ReadHistory("h-r", Position{}, 0)
	if err != nil || top.Offset != 20 {
		t.Fatalf("ReadHistory top = %s, %v", top, err)
	}

	cases := []struct {
		name  string
		since Position
	}{
		{"trimmed", Position{Epoch: top.Epoch, Offset: 2}},
		{"other epoch", Position{Epoch: "gone", Offset: 19}},
		{"no position", Position{}},
		{"ahead", Position{Epoch: top.Epoch, Offset: 99}},
		{"epoch too long", Position{Epoch: strings.Repeat("e", 65), Offset: 19}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, s := th.dial(t)
			rec, err := th.JoinFrom(s.ID(), "h-r", tc.since)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Recovered || !errors.Is(rec.Reason, ErrPositionLost) || rec.Position != top {
				t.Fatalf("JoinFrom = %+v, want a resync at %s", rec, top)
			}
			// Live messages follow, numbered on from the room's position.
			if _, err := th.SendToRoom("h-r", Text("live")); err != nil {
				t.Fatal(err)
			}
			top.Offset++
			pos, data := readFramed(t, c)
			if data != "live" || pos != top {
				t.Fatalf("after resync read %s %q, want the live message at %s", pos, data, top)
			}
			th.Leave(s.ID(), "h-r")
		})
	}
	if got := th.Stats().History.Resynced; got != uint64(len(cases)) {
		t.Fatalf("Resynced = %d, want %d", got, len(cases))
	}
}

// When the store loses the history (a restart without persistence), live
// members see the new epoch start at offset 1, and a rejoin from the old
// epoch is told to resync.
func TestHistoryEpochChange(t *testing.T) {
	st := newMemStore(t)
	th := newTestHub(t, historyConfig(st, 100))
	c, s := th.dial(t)
	if err := th.Join(s.ID(), "h-e"); err != nil {
		t.Fatal(err)
	}
	th.SendToRoom("h-e", Text("a"))
	old, _ := readFramed(t, c)
	st.Reset()
	th.SendToRoom("h-e", Text("b"))
	pos, data := readFramed(t, c)
	if data != "b" || pos.Offset != 1 || pos.Epoch == old.Epoch {
		t.Fatalf("after the reset read %s %q, want offset 1 of a new epoch (was %s)", pos, data, old)
	}
	c2, s2 := th.dial(t)
	rec, err := th.JoinFrom(s2.ID(), "h-e", old)
	if err != nil || rec.Recovered || !errors.Is(rec.Reason, ErrPositionLost) || rec.Position != pos {
		t.Fatalf("JoinFrom the old epoch = %+v, %v; want a resync at %s", rec, err, pos)
	}
	th.SendToRoom("h-e", Text("c"))
	for _, cc := range []*websocket.Conn{c, c2} {
		if p, d := readFramed(t, cc); d != "c" || p.Offset != 2 {
			t.Fatalf("read %s %q, want c at 2", p, d)
		}
	}
}

// A session that missed more than its queue holds resyncs instead of
// being cut off; the others are unaffected.
func TestHistoryTooManyMissed(t *testing.T) {
	st := newMemStore(t)
	cfg := historyConfig(st, 1000)
	cfg.MaxQueuedMessages = 10
	th := newTestHub(t, cfg)
	c1, s1 := th.dial(t)
	if err := th.Join(s1.ID(), "h-m"); err != nil {
		t.Fatal(err)
	}
	_, top, _ := th.ReadHistory("h-m", Position{}, 0)
	for i := range 11 {
		th.SendToRoom("h-m", Text(strconv.Itoa(i)))
		readFramed(t, c1) // keep c1's queue short
	}
	_, s2 := th.dial(t)
	rec, err := th.JoinFrom(s2.ID(), "h-m", top)
	if err != nil || rec.Recovered || !errors.Is(rec.Reason, ErrHistory) {
		t.Fatalf("JoinFrom 11 behind with a queue of 10 = %+v, %v; want a resync", rec, err)
	}
	rec, err = th.JoinFrom(s2.ID(), "h-m", top)
	if !errors.Is(err, ErrHistory) {
		t.Fatalf("JoinFrom while in the room = %+v, %v; want ErrHistory", rec, err)
	}
	// Both go on live; the member that was there all along is unaffected.
	th.SendToRoom("h-m", Text("after"))
	if p, d := readFramed(t, c1); d != "after" || p.Offset != 12 {
		t.Fatalf("member read %s %q, want after at 12", p, d)
	}
	if st := th.Stats().History; st.Resynced != 1 || st.Recovered != 0 {
		t.Fatalf("Resynced %d, Recovered %d; want 1, 0", st.Resynced, st.Recovered)
	}
}

// Refusals: each answer names the problem, and nothing is joined or sent.
func TestHistoryRefusals(t *testing.T) {
	th := newTestHub(t, historyConfig(newMemStore(t), 10))
	_, s := th.dial(t)
	if _, err := th.JoinFrom(s.ID(), "plain", Position{}); !errors.Is(err, ErrHistory) {
		t.Errorf("JoinFrom a room without history = %v", err)
	}
	if _, err := th.JoinFrom(s.ID(), "", Position{}); !errors.Is(err, ErrBadName) {
		t.Errorf("JoinFrom an empty name = %v", err)
	}
	if _, err := th.JoinFrom("nobody-1", "h-x", Position{}); !errors.Is(err, ErrSessionNotFound) {
		t.Errorf("JoinFrom an unknown session = %v", err)
	}
	if _, err := th.SendToRoom("h-x", Text("x"), Where(func(*Session) bool { return true })); !errors.Is(err, ErrHistory) {
		t.Errorf("SendToRoom with Where on a history room = %v", err)
	}
	if _, _, err := th.ReadHistory("h-x", Position{}, -1); !errors.Is(err, ErrHistory) {
		t.Errorf("ReadHistory with a negative limit = %v", err)
	}
	if len(s.Rooms()) != 0 || th.Stats().History.Appended != 0 {
		t.Errorf("a refusal joined %v or appended %d", s.Rooms(), th.Stats().History.Appended)
	}

	bad := map[string]Config{
		"History.Store":   {Broker: NewMemoryBus().Broker(), History: HistoryConfig{Policy: func(string) HistoryPolicy { return HistoryPolicy{Size: 1} }}},
		"History.Policy":  {History: HistoryConfig{Frame: frameTest}},
		"History.Timeout": {History: HistoryConfig{Policy: func(string) HistoryPolicy { return HistoryPolicy{} }, Timeout: -1}},
	}
	for field, cfg := range bad {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), field) {
			t.Errorf("New with a bad %s = %v", field, err)
		}
	}

	// A policy out of bounds is refused where it is used.
	th2 := newTestHub(t, Config{History: HistoryConfig{Policy: func(string) HistoryPolicy { return HistoryPolicy{Size: -1} }}})
	if _, err := th2.SendToRoom("r", Text("x")); !errors.Is(err, ErrHistory) {
		t.Errorf("SendToRoom with a negative Size = %v", err)
	}
}

// A message the broker lost (the bus was down while it was published)
// reaches the other node's member anyway: the next message shows the gap
// and the node refills it from the store, in order.
func TestHistoryRefillsWhatTheBrokerLost(t *testing.T) {
	st := newMemStore(t)
	bus := NewMemoryBus()
	mk := func(name string) *testHub {
		cfg := historyConfig(st, 100)
		cfg.NodeID, cfg.Broker = name, bus.Broker()
		return newTestHub(t, cfg)
	}
	a, b := mk("a"), mk("b")
	c, s := b.dial(t)
	if err := b.Join(s.ID(), "h-g"); err != nil {
		t.Fatal(err)
	}
	a.SendToRoom("h-g", Text("1"))
	if p, d := readFramed(t, c); d != "1" || p.Offset != 1 {
		t.Fatalf("read %s %q", p, d)
	}
	bus.Down()
	a.SendToRoom("h-g", Text("2")) // stored, but the broker fails it
	awaitCond(t, "the outbox to fail the envelope", func() bool { return a.Stats().Cluster.Failed > 0 })
	bus.Up()
	a.SendToRoom("h-g", Text("3"))
	for _, want := range []string{"2", "3"} {
		if _, d := readFramed(t, c); d != want {
			t.Fatalf("read %q, want %q", d, want)
		}
	}
	if got := b.Stats().History.Refilled; got != 1 {
		t.Fatalf("Refilled = %d, want 1", got)
	}
}

func awaitCond(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// slowBroker is a real MemoryBus broker whose publishes wait while held,
// as a slow network would keep envelopes in flight.
type slowBroker struct {
	Broker
	mu   sync.Mutex
	gate chan struct{} // non-nil while held; closed to release
}

func (b *slowBroker) hold() {
	b.mu.Lock()
	b.gate = make(chan struct{})
	b.mu.Unlock()
}

func (b *slowBroker) release() {
	b.mu.Lock()
	close(b.gate)
	b.gate = nil
	b.mu.Unlock()
}

func (b *slowBroker) Publish(ctx context.Context, e Envelope) error {
	b.mu.Lock()
	gate := b.gate
	b.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return b.Broker.Publish(ctx, e)
}

// A session that rejoins on node b while node a's messages are still in
// flight gets them from the store; when the broker brings them late, it
// does not get them twice, and the members that were there all along get
// them once, in order.
func TestHistoryReplayAheadOfBroker(t *testing.T) {
	st := newMemStore(t)
	bus := NewMemoryBus()
	slow := &slowBroker{Broker: bus.Broker()}
	cfgA := historyConfig(st, 100)
	cfgA.NodeID, cfgA.Broker = "a", slow
	cfgB := historyConfig(st, 100)
	cfgB.NodeID, cfgB.Broker = "b", bus.Broker()
	a, b := newTestHub(t, cfgA), newTestHub(t, cfgB)

	m, ms := b.dial(t)
	if err := b.Join(ms.ID(), "h-f"); err != nil {
		t.Fatal(err)
	}
	a.SendToRoom("h-f", Text("1"))
	first, _ := readFramed(t, m)

	slow.hold()
	for _, d := range []string{"2", "3", "4"} {
		if _, err := a.SendToRoom("h-f", Text(d)); err != nil {
			t.Fatal(err)
		}
	}
	c, s := b.dial(t)
	rec, err := b.JoinFrom(s.ID(), "h-f", first)
	if err != nil || !rec.Recovered || rec.Replayed != 3 || rec.Position.Offset != 4 {
		t.Fatalf("JoinFrom while 2-4 are in flight = %+v, %v; want 3 replayed up to 4", rec, err)
	}
	slow.release()
	a.SendToRoom("h-f", Text("5"))
	for _, cc := range []*websocket.Conn{c, m} {
		for want := uint64(2); want <= 5; want++ {
			if p, d := readFramed(t, cc); p.Offset != want || d != strconv.FormatUint(want, 10) {
				t.Fatalf("read %s %q, want offset %d", p, d, want)
			}
		}
	}
	// Nothing more: a duplicate would come before this marker.
	b.SendToRoom("h-f", Text("6"))
	for _, cc := range []*websocket.Conn{c, m} {
		if p, _ := readFramed(t, cc); p.Offset != 6 {
			t.Fatalf("read offset %d, want 6", p.Offset)
		}
	}
}

// downStore is a MemoryStore that can be made to fail every call, as a
// store whose server is unreachable would.
type downStore struct {
	*MemoryStore
	down atomic.Bool
}

var errStoreDown = errors.New("store unreachable")

func (d *downStore) Append(ctx context.Context, room string, m Message, p HistoryPolicy) (Position, error) {
	if d.down.Load() {
		return Position{}, errStoreDown
	}
	return d.MemoryStore.Append(ctx, room, m, p)
}

func (d *downStore) Read(ctx context.Context, room string, since Position, limit int) (HistoryPage, error) {
	if d.down.Load() {
		return HistoryPage{}, errStoreDown
	}
	return d.MemoryStore.Read(ctx, room, since, limit)
}

// While the store is unreachable: SendToRoom sends nothing and says so,
// a first Join says it, JoinFrom answers resync; once it is back, the
// members get the following messages in order, with no gap.
func TestHistoryStoreDown(t *testing.T) {
	st := &downStore{MemoryStore: newMemStore(t)}
	th := newTestHub(t, historyConfig(st, 100))
	c, s := th.dial(t)
	if err := th.Join(s.ID(), "h-d"); err != nil {
		t.Fatal(err)
	}
	th.SendToRoom("h-d", Text("1"))
	readFramed(t, c)

	st.down.Store(true)
	if n, err := th.SendToRoom("h-d", Text("lost")); !errors.Is(err, ErrHistory) || !errors.Is(err, errStoreDown) || n != 0 {
		t.Fatalf("SendToRoom with the store down = %d, %v; want 0 and ErrHistory", n, err)
	}
	c2, s2 := th.dial(t)
	if err := th.Join(s2.ID(), "h-new"); !errors.Is(err, ErrHistory) {
		t.Fatalf("first Join of a room while the store is down = %v, want ErrHistory", err)
	}
	_, s3 := th.dial(t)
	rec, err := th.JoinFrom(s3.ID(), "h-d", Position{Epoch: "x", Offset: 1})
	if err != nil || rec.Recovered || !errors.Is(rec.Reason, ErrHistory) {
		t.Fatalf("JoinFrom with the store down = %+v, %v; want a resync", rec, err)
	}
	st.down.Store(false)

	th.SendToRoom("h-d", Text("2"))
	if p, d := readFramed(t, c); d != "2" || p.Offset != 2 {
		t.Fatalf("after the outage read %s %q, want 2 at offset 2", p, d)
	}
	// The room first joined during the outage starts once the store answers.
	th.SendToRoom("h-new", Text("a"))
	if p, d := readFramed(t, c2); d != "a" || p.Offset != 1 {
		t.Fatalf("room joined during the outage: read %s %q", p, d)
	}
	if got := th.Stats().History.AppendFailed; got != 1 {
		t.Fatalf("AppendFailed = %d, want 1", got)
	}
}

// A Frame hook that panics is reported; the message goes unframed and the
// hub carries on.
func TestHistoryFramePanics(t *testing.T) {
	cfg := historyConfig(newMemStore(t), 10)
	cfg.History.Frame = func(_ string, pos Position, m Message) Message {
		if pos.Offset == 1 {
			panic("bad frame")
		}
		return frameTest("", pos, m)
	}
	th := newTestHub(t, cfg)
	c, s := th.dial(t)
	if err := th.Join(s.ID(), "h-p"); err != nil {
		t.Fatal(err)
	}
	if _, err := th.SendToRoom("h-p", Text("raw")); err != nil {
		t.Fatal(err)
	}
	readText(t, c, "raw")
	var pe *PanicError
	if err := th.awaitErr(t); !errors.As(err, &pe) || pe.Value != "bad frame" {
		t.Fatalf("OnError got %v, want the Frame panic", err)
	}
	th.SendToRoom("h-p", Text("next"))
	if p, d := readFramed(t, c); p.Offset != 2 || d != "next" {
		t.Fatalf("read %s %q", p, d)
	}
}
