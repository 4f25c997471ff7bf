package natsbroker_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
	"github.com/wsgate/wsgate/internal/natstest"
)

func member(id, node string) hub.Member {
	return hub.Member{SessionID: id, Node: node, Info: []byte("user " + id), Since: time.UnixMilli(1_700_000_000_123)}
}

func ids(ms []hub.Member) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.SessionID)
	}
	slices.Sort(out)
	return out
}

// Members added by two nodes are seen by a third, with their info, in
// rooms whose names are NATS syntax; rooms that look alike stay apart.
func TestPresenceAcrossNodes(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a, b, c := newNode(t, ts, "a", natsbroker.Config{}), newNode(t, ts, "b", natsbroker.Config{}), newNode(t, ts, "c", natsbroker.Config{})
	room := "a.b c>*ü"
	if err := a.b.AddPresence(ctx(t), room, []hub.Member{member("a-1", "a"), member("a-2", "a")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.b.AddPresence(ctx(t), room, []hub.Member{member("b-1", "b")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.b.AddPresence(ctx(t), "a.b", []hub.Member{member("b-9", "b")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := c.b.Presence(ctx(t), room)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a-1", "a-2", "b-1"}; !slices.Equal(ids(got), want) {
		t.Fatalf("Presence = %q, want %q", ids(got), want)
	}
	for _, m := range got {
		want := member(m.SessionID, m.SessionID[:1])
		if m.Node != want.Node || !bytes.Equal(m.Info, want.Info) || !m.Since.Equal(want.Since) {
			t.Fatalf("member %+v, want %+v", m, want)
		}
	}
	counts := map[string]int{room: 3, "a.b": 1, "a.b c": 0, "other": 0}
	for r, want := range counts {
		if n, err := c.b.PresenceCount(ctx(t), r); err != nil || n != want {
			t.Fatalf("PresenceCount(%q) = %d, %v; want %d", r, n, err, want)
		}
	}
	// Re-adding replaces; removing (also an absent member) is not an error.
	upd := member("a-1", "a")
	upd.Info = []byte("renamed")
	if err := a.b.AddPresence(ctx(t), room, []hub.Member{upd}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := a.b.RemovePresence(ctx(t), room, []string{"a-2", "a-404"}); err != nil {
		t.Fatal(err)
	}
	got, err = c.b.Presence(ctx(t), room)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), []string{"a-1", "b-1"}) {
		t.Fatalf("after remove: %q", ids(got))
	}
	for _, m := range got {
		if m.SessionID == "a-1" && string(m.Info) != "renamed" {
			t.Fatalf("a-1 info %q, want the replacement", m.Info)
		}
	}
	if n, err := c.b.PresenceCount(ctx(t), room); err != nil || n != 2 {
		t.Fatalf("PresenceCount = %d, %v; want 2", n, err)
	}
}

// A room larger than one page of the direct-get API is read whole.
func TestPresencePages(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a := newNode(t, ts, "a", natsbroker.Config{})
	const n = 1300
	members := make([]hub.Member, n)
	for i := range members {
		members[i] = member(fmt.Sprintf("a-%d", i), "a")
	}
	if err := a.b.AddPresence(ctx(t), "big", members, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := a.b.AddPresence(ctx(t), "small", members[:3], time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := a.b.Presence(ctx(t), "big")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || len(slices.Compact(ids(got))) != n {
		t.Fatalf("Presence returned %d members (%d distinct), want %d", len(got), len(slices.Compact(ids(got))), n)
	}
	if c, err := a.b.PresenceCount(ctx(t), "big"); err != nil || c != n {
		t.Fatalf("PresenceCount = %d, %v; want %d", c, err, n)
	}
}

// A member that is not refreshed expires by the server's TTL, with no
// node doing anything; a member refreshed in time stays.
func TestPresenceTTL(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a := newNode(t, ts, "a", natsbroker.Config{})
	ttl := 2 * time.Second
	if err := a.b.AddPresence(ctx(t), "r", []hub.Member{member("a-dead", "a"), member("a-live", "a")}, ttl); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		// Refresh the live member the way a hub does, every ttl/3 or so.
		if err := a.b.AddPresence(ctx(t), "r", []hub.Member{member("a-live", "a")}, ttl); err != nil {
			t.Fatal(err)
		}
		got, err := a.b.Presence(ctx(t), "r")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(ids(got), "a-live") {
			t.Fatalf("refreshed member expired: %q", ids(got))
		}
		if !slices.Contains(ids(got), "a-dead") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("member not refreshed for %v still present", wait)
		}
		time.Sleep(ttl / 4) // the refresh period, bounded by deadline
	}
}

// Without JetStream on the server, presence fails with ErrPresence, and
// messaging still works.
func TestPresenceWithoutJetStream(t *testing.T) {
	t.Parallel()
	ts := &testServer{natstest.StartWithoutJetStream(t)}
	a, b := newNode(t, ts, "a", natsbroker.Config{Timeout: 2 * time.Second}), newNode(t, ts, "b", natsbroker.Config{})
	err := a.b.AddPresence(ctx(t), "r", []hub.Member{member("a-1", "a")}, time.Minute)
	if !errors.Is(err, natsbroker.ErrPresence) || !strings.Contains(err.Error(), "presence") {
		t.Fatalf("AddPresence without JetStream = %v, want ErrPresence", err)
	}
	if _, err := a.b.Presence(ctx(t), "r"); !errors.Is(err, natsbroker.ErrPresence) {
		t.Fatalf("Presence without JetStream = %v, want ErrPresence", err)
	}
	a.publish(t, all("still routing"))
	if e := b.h.next(t); string(e.Data) != "still routing" {
		t.Fatalf("b got %q", e.Data)
	}
}
