// Package storetest is the conformance suite every hub.Store runs: the
// in-process MemoryStore runs it in hub's tests, and a Redis Streams or
// NATS JetStream store runs the same cases against a real server. It
// checks the contract written on hub.Store:
//
//   - offsets start at 1 and grow by one per message in a room, with no
//     offset skipped or used twice under concurrent appends from many
//     clients (as from many nodes), each room on its own;
//   - Read returns what follows a position, in order, bounded by limit,
//     and the room's Top; limit 0 returns Top only, also for a room never
//     written;
//   - trimming by Size and by TTL, and a position older than what is held,
//     of another epoch or ahead of Top, answered with ErrPositionLost,
//     never with a silent gap;
//   - Append does not keep the caller's bytes;
//   - a lost history (Cluster.Reset) starts a new epoch.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
)

// Wait bounds every call; it is a failure bound, not an expected time.
var Wait = 10 * time.Second

// TTL is the age limit the trimming case asks for. A store whose server
// counts ages in whole seconds gets at least one second.
var TTL = time.Second

// Cluster is what a store's test hands the suite for one fresh, empty
// store.
type Cluster struct {
	// Store returns a client of the store; within one Cluster every
	// client sees the same rooms (as the nodes of a cluster do). Required.
	Store func(t *testing.T) hub.Store
	// Reset makes the store lose every room's history, as a restart
	// without persistence would. Nil skips the epoch case.
	Reset func(t *testing.T)
}

// Run runs the conformance suite; each case calls newCluster once.
func Run(t *testing.T, newCluster func(t *testing.T) Cluster) {
	cases := []struct {
		name string
		run  func(*testing.T, Cluster)
	}{
		{"Offsets", offsets},
		{"ReadSince", readSince},
		{"EmptyRoom", emptyRoom},
		{"ConcurrentAppends", concurrentAppends},
		{"TrimSize", trimSize},
		{"TrimTTL", trimTTL},
		{"PositionLost", positionLost},
		{"DataNotKept", dataNotKept},
		{"Reset", reset},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newCluster(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), Wait)
	t.Cleanup(cancel)
	return c
}

func closeStore(t *testing.T, st hub.Store) {
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func newStore(t *testing.T, c Cluster) hub.Store {
	st := c.Store(t)
	closeStore(t, st)
	return st
}

var policy = hub.HistoryPolicy{Size: 100}

func appendN(t *testing.T, st hub.Store, room string, n int, p hub.HistoryPolicy) []hub.Position {
	t.Helper()
	out := make([]hub.Position, n)
	for i := range n {
		pos, err := st.Append(ctx(t), room, hub.Text(room+"#"+strconv.Itoa(i)), p)
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		out[i] = pos
	}
	return out
}

// checkEntries fails unless es are the messages room+"#"+i for i in
// [from, to) with offsets first.. in order.
func checkEntries(t *testing.T, es []hub.HistoryEntry, room string, from, to int, firstOff uint64, epoch string) {
	t.Helper()
	if len(es) != to-from {
		t.Fatalf("got %d entries, want %d", len(es), to-from)
	}
	for k, e := range es {
		want := room + "#" + strconv.Itoa(from+k)
		if string(e.Data) != want || e.Type != hub.TextMessage || e.Offset != firstOff+uint64(k) || e.Epoch != epoch {
			t.Fatalf("entry %d = %s %q, want %d@%s %q", k, e.Position, e.Data, firstOff+uint64(k), epoch, want)
		}
	}
}

func offsets(t *testing.T, c Cluster) {
	st := newStore(t, c)
	a := appendN(t, st, "a", 5, policy)
	b := appendN(t, st, "b", 3, policy)
	for i, p := range a {
		if p.Offset != uint64(i+1) || p.Epoch != a[0].Epoch || p.Epoch == "" {
			t.Fatalf("room a message %d at %s; want offset %d in one non-empty epoch", i, p, i+1)
		}
	}
	for i, p := range b {
		if p.Offset != uint64(i+1) {
			t.Fatalf("room b message %d at %s: rooms must count on their own", i, p)
		}
	}
	// Another client of the same store continues the same rooms.
	other := newStore(t, c)
	p, err := other.Append(ctx(t), "a", hub.Text("a#5"), policy)
	if err != nil || p != (hub.Position{Epoch: a[0].Epoch, Offset: 6}) {
		t.Fatalf("second client's Append = %s, %v; want 6@%s", p, err, a[0].Epoch)
	}
}

func readSince(t *testing.T, c Cluster) {
	st := newStore(t, c)
	ps := appendN(t, st, "r", 10, policy)
	epoch := ps[0].Epoch
	page, err := st.Read(ctx(t), "r", hub.Position{Epoch: epoch, Offset: 3}, 100)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, page.Entries, "r", 3, 10, 4, epoch)
	if page.Top != ps[9] {
		t.Fatalf("Top = %s, want %s", page.Top, ps[9])
	}
	page, err = st.Read(ctx(t), "r", hub.Position{Epoch: epoch, Offset: 3}, 4)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, page.Entries, "r", 3, 7, 4, epoch)
	page, err = st.Read(ctx(t), "r", hub.Position{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, page.Entries, "r", 0, 10, 1, epoch)
	page, err = st.Read(ctx(t), "r", ps[9], 100)
	if err != nil || len(page.Entries) != 0 || page.Top != ps[9] {
		t.Fatalf("Read at Top = %d entries, Top %s, %v; want none, %s", len(page.Entries), page.Top, err, ps[9])
	}
	page, err = st.Read(ctx(t), "r", hub.Position{Epoch: epoch, Offset: 2}, 0)
	if err != nil || len(page.Entries) != 0 || page.Top != ps[9] {
		t.Fatalf("Read limit 0 = %d entries, Top %s, %v; want only Top %s", len(page.Entries), page.Top, err, ps[9])
	}
}

func emptyRoom(t *testing.T, c Cluster) {
	st := newStore(t, c)
	page, err := st.Read(ctx(t), "never", hub.Position{}, 10)
	if err != nil || len(page.Entries) != 0 || page.Top.Offset != 0 {
		t.Fatalf("Read of a room never written = %+v, %v; want no entries at offset 0", page, err)
	}
	// A reader that starts before the first message keeps a position the
	// first Append continues (or is told it is lost: never a silent gap).
	p, err := st.Append(ctx(t), "never", hub.Text("never#0"), policy)
	if err != nil || p.Offset != 1 {
		t.Fatalf("first Append = %s, %v", p, err)
	}
	page, err = st.Read(ctx(t), "never", page.Top, 10)
	switch {
	case errors.Is(err, hub.ErrPositionLost):
		if page.Top != p {
			t.Fatalf("lost position answered with Top %s, want %s", page.Top, p)
		}
	case err != nil:
		t.Fatal(err)
	default:
		checkEntries(t, page.Entries, "never", 0, 1, 1, p.Epoch)
	}
}

func concurrentAppends(t *testing.T, c Cluster) {
	const clients, each, rooms = 4, 50, 2
	type got struct {
		room string
		pos  hub.Position
		data string
	}
	results := make(chan got, clients*each*rooms)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		st := newStore(t, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				for r := range rooms {
					room := "c" + strconv.Itoa(r)
					data := fmt.Sprintf("%d/%d", i, j)
					p, err := st.Append(context.Background(), room, hub.Text(data), hub.HistoryPolicy{Size: clients * each})
					if err != nil {
						errs <- err
						return
					}
					results <- got{room, p, data}
				}
			}
		}()
	}
	wg.Wait()
	close(results)
	select {
	case err := <-errs:
		t.Fatalf("Append: %v", err)
	default:
	}
	byOff := map[string]map[uint64]string{}
	for g := range results {
		m := byOff[g.room]
		if m == nil {
			m = map[uint64]string{}
			byOff[g.room] = m
		}
		if prev, dup := m[g.pos.Offset]; dup {
			t.Fatalf("room %s offset %d given twice (%s and %s)", g.room, g.pos.Offset, prev, g.data)
		}
		m[g.pos.Offset] = g.data
	}
	st := newStore(t, c)
	for room, m := range byOff {
		for off := uint64(1); off <= clients*each; off++ {
			if _, ok := m[off]; !ok {
				t.Fatalf("room %s offset %d skipped", room, off)
			}
		}
		page, err := st.Read(ctx(t), room, hub.Position{}, clients*each)
		if err != nil || len(page.Entries) != clients*each {
			t.Fatalf("Read %s: %d entries, %v", room, len(page.Entries), err)
		}
		for _, e := range page.Entries {
			if string(e.Data) != m[e.Offset] {
				t.Fatalf("room %s offset %d holds %q, Append gave it to %q", room, e.Offset, e.Data, m[e.Offset])
			}
		}
	}
}

func trimSize(t *testing.T, c Cluster) {
	st := newStore(t, c)
	p := hub.HistoryPolicy{Size: 5}
	ps := appendN(t, st, "s", 20, p)
	epoch := ps[0].Epoch
	page, err := st.Read(ctx(t), "s", hub.Position{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	// At least Size of the newest; a store may keep a few more.
	n := len(page.Entries)
	if n < 5 || n > 20 {
		t.Fatalf("kept %d messages with Size 5", n)
	}
	checkEntries(t, page.Entries, "s", 20-n, 20, uint64(21-n), epoch)
	// The newest five are always there to continue from.
	page, err = st.Read(ctx(t), "s", ps[14], 100)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, page.Entries, "s", 15, 20, 16, epoch)
}

func trimTTL(t *testing.T, c Cluster) {
	st := newStore(t, c)
	p := hub.HistoryPolicy{Size: 100, TTL: TTL}
	ps := appendN(t, st, "t", 3, p)
	// Poll until the first three have expired (bounded); the store may
	// expire them lazily, but Read never returns an expired message.
	deadline := time.Now().Add(TTL + Wait)
	for {
		page, err := st.Read(ctx(t), "t", hub.Position{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still held %v after a TTL of %v", len(page.Entries), TTL+Wait, TTL)
		}
		time.Sleep(TTL / 10) // waiting for time itself to pass
	}
	// A reader at the newest expired position has missed nothing, unless
	// the store started a new epoch for the room; one further back is
	// told its position is lost once something new arrives.
	q, err := st.Append(ctx(t), "t", hub.Text("t#3"), p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Read(ctx(t), "t", ps[0], 100)
	if !errors.Is(err, hub.ErrPositionLost) {
		t.Fatalf("Read from an expired position = %v, want ErrPositionLost", err)
	}
	page, err := st.Read(ctx(t), "t", ps[2], 100)
	if q.Epoch == ps[2].Epoch {
		if err != nil {
			t.Fatalf("Read from the newest expired position = %v", err)
		}
		checkEntries(t, page.Entries, "t", 3, 4, 4, q.Epoch)
	} else if !errors.Is(err, hub.ErrPositionLost) {
		t.Fatalf("Read from the old epoch = %v, want ErrPositionLost", err)
	}
}

func positionLost(t *testing.T, c Cluster) {
	st := newStore(t, c)
	ps := appendN(t, st, "l", 10, hub.HistoryPolicy{Size: 3})
	epoch := ps[0].Epoch
	cases := map[string]hub.Position{
		"trimmed":       {Epoch: epoch, Offset: 2},
		"another epoch": {Epoch: epoch + "x", Offset: 9},
		"ahead":         {Epoch: epoch, Offset: 11},
	}
	for name, since := range cases {
		t.Run(name, func(t *testing.T) {
			page, err := st.Read(ctx(t), "l", since, 10)
			if !errors.Is(err, hub.ErrPositionLost) {
				t.Fatalf("Read(%s) = %d entries, %v; want ErrPositionLost", since, len(page.Entries), err)
			}
			if page.Top != ps[9] {
				t.Fatalf("Top with ErrPositionLost = %s, want %s", page.Top, ps[9])
			}
		})
	}
}

func dataNotKept(t *testing.T, c Cluster) {
	st := newStore(t, c)
	b := []byte("original")
	p, err := st.Append(ctx(t), "d", hub.Binary(b), policy)
	if err != nil {
		t.Fatal(err)
	}
	copy(b, "XXXXXXXX")
	page, err := st.Read(ctx(t), "d", hub.Position{Epoch: p.Epoch}, 1)
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("Read = %+v, %v", page, err)
	}
	if e := page.Entries[0]; !bytes.Equal(e.Data, []byte("original")) || e.Type != hub.BinaryMessage {
		t.Fatalf("stored %v %q after the caller reused its buffer", e.Type, e.Data)
	}
}

func reset(t *testing.T, c Cluster) {
	if c.Reset == nil {
		t.Skip("the store cannot be reset")
	}
	st := newStore(t, c)
	ps := appendN(t, st, "e", 3, policy)
	c.Reset(t)
	p, err := st.Append(ctx(t), "e", hub.Text("e#0"), policy)
	if err != nil {
		t.Fatalf("Append after Reset: %v", err)
	}
	if p.Epoch == ps[0].Epoch || p.Offset != 1 {
		t.Fatalf("after Reset the room is at %s, want offset 1 of a new epoch (was %s)", p, ps[0].Epoch)
	}
	page, err := st.Read(ctx(t), "e", ps[2], 10)
	if !errors.Is(err, hub.ErrPositionLost) || page.Top != p {
		t.Fatalf("Read from the old epoch = %v, Top %s; want ErrPositionLost, %s", err, page.Top, p)
	}
}
