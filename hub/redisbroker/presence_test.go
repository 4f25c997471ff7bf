package redisbroker

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

// TestPresenceAcrossNodes: members added by two nodes are listed in full
// (session ID, node, info, since) by either, counted without transfer,
// refreshed in place, and removed by ID; a big room goes through in
// batches.
func TestPresenceAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	a, b := startNode(t, client, "a", nil), startNode(t, client, "b", nil)
	ctx := ctxT(t)
	since := time.UnixMilli(time.Now().UnixMilli())
	ma := hub.Member{SessionID: "a-1", Node: "a", Info: []byte(`{"user":"ann"}`), Since: since}
	mb := hub.Member{SessionID: "b-1", Node: "b", Info: []byte("bob"), Since: since}
	if err := a.AddPresence(ctx, "room {x}", []hub.Member{ma}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.AddPresence(ctx, "room {x}", []hub.Member{mb}, time.Minute); err != nil {
		t.Fatal(err)
	}
	ma.Info = []byte(`{"user":"ann","away":true}`) // a refresh replaces Info
	if err := a.AddPresence(ctx, "room {x}", []hub.Member{ma}, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := b.Presence(ctx, "room {x}")
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].SessionID < got[j].SessionID })
	if len(got) != 2 || !sameMember(got[0], ma) || !sameMember(got[1], mb) {
		t.Fatalf("presence %+v, want %+v and %+v", got, ma, mb)
	}
	if n, err := a.PresenceCount(ctx, "room {x}"); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
	if err := a.RemovePresence(ctx, "room {x}", []string{"a-1", "a-never"}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.PresenceCount(ctx, "room {x}"); err != nil || n != 1 {
		t.Fatalf("count after remove = %d, %v; want 1", n, err)
	}
	if got, err := a.Presence(ctx, "empty"); err != nil || len(got) != 0 {
		t.Fatalf("presence of an empty room: %v, %v", got, err)
	}

	var many []hub.Member
	for i := range 2*presenceBatch + 3 {
		many = append(many, hub.Member{SessionID: fmt.Sprintf("a-%d", i+100), Node: "a"})
	}
	if err := a.AddPresence(ctx, "big", many, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := b.PresenceCount(ctx, "big"); err != nil || n != len(many) {
		t.Fatalf("big room count = %d, %v; want %d", n, err, len(many))
	}
	ids := make([]string, len(many))
	for i, m := range many {
		ids[i] = m.SessionID
	}
	if err := a.RemovePresence(ctx, "big", ids); err != nil {
		t.Fatal(err)
	}
	if n, err := b.PresenceCount(ctx, "big"); err != nil || n != 0 {
		t.Fatalf("big room count after remove = %d, %v", n, err)
	}
	if err := a.AddPresence(ctx, "r", []hub.Member{{Node: "a"}}, time.Minute); err == nil {
		t.Fatal("a member without session ID was accepted")
	}
}

func sameMember(a, b hub.Member) bool {
	return a.SessionID == b.SessionID && a.Node == b.Node && bytes.Equal(a.Info, b.Info) && a.Since.Equal(b.Since)
}

// TestPresenceOfDeadNode: the members of a node that stops refreshing (its
// broker closed without removing them, as in a crash) expire by the
// server's clock, while another node's refreshed members stay; and the
// room's keys themselves carry a TTL, so nothing is left in Redis.
func TestPresenceOfDeadNode(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	a, b := startNode(t, client, "a", nil), startNode(t, client, "b", nil)
	ctx := ctxT(t)
	const ttl = 300 * time.Millisecond
	if err := a.AddPresence(ctx, "r", []hub.Member{{SessionID: "a-1", Node: "a"}}, ttl); err != nil {
		t.Fatal(err)
	}
	a.Close() // a dies without saying goodbye
	deadline := time.Now().Add(waitFor)
	for {
		// b refreshes its own member, as its hub does every TTL/3.
		if err := b.AddPresence(ctx, "r", []hub.Member{{SessionID: "b-1", Node: "b"}}, ttl); err != nil {
			t.Fatal(err)
		}
		got, err := b.Presence(ctx, "r")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range got {
			ids = append(ids, m.SessionID)
		}
		sort.Strings(ids)
		if slices.Equal(ids, []string{"b-1"}) {
			break
		}
		if !slices.Contains(ids, "b-1") || time.Now().After(deadline) {
			t.Fatalf("presence %q: want only b-1 once a-1's TTL passed", ids)
		}
		time.Sleep(ttl / 3) // polling a server-side expiry
	}
	zset, hash := b.names.presence("r")
	for _, k := range []string{zset, hash} {
		if d, err := client.PTTL(ctx, k).Result(); err != nil || d <= 0 || d > ttl {
			t.Fatalf("PTTL %s = %v, %v; want a TTL of at most %v", k, d, err, ttl)
		}
	}
	// The next refresh removes a-1 from the hash too, not just from the
	// answers.
	if err := b.AddPresence(ctx, "r", []hub.Member{{SessionID: "b-1", Node: "b"}}, ttl); err != nil {
		t.Fatal(err)
	}
	if ok, err := client.HExists(ctx, hash, "a-1").Result(); err != nil || ok {
		t.Fatalf("a-1 still in the hash: %v, %v", ok, err)
	}
}
