package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/redistest"
)

// engines are the brokers the cluster test runs over: each returns the
// broker flags of the first node, and of the second given what the first
// printed before listening (they differ for the embedded NATS server,
// which the first node runs).
var engines = []struct {
	name  string
	setup func(t *testing.T) (first []string, second func(t *testing.T, out []string) []string)
}{
	{"redis", func(t *testing.T) ([]string, func(*testing.T, []string) []string) {
		srv := redistest.Start(t)
		args := []string{"-broker", "redis://" + srv.Addr()}
		return args, func(*testing.T, []string) []string { return args }
	}},
	{"nats", func(t *testing.T) ([]string, func(*testing.T, []string) []string) {
		return []string{"-embedded-nats", "-nats-addr", "127.0.0.1:0"}, func(t *testing.T, out []string) []string {
			t.Helper()
			for _, l := range out {
				if u, ok := strings.CutPrefix(l, "nats listening on "); ok {
					return []string{"-broker", u}
				}
			}
			t.Fatalf("the first chat printed no NATS address: %q", out)
			return nil
		}
	}},
}

// TestClusterRoom runs two chat nodes over one broker: a chatter on one
// node sees a chatter on the other join and talk in their room, and the
// members list comes to name both.
func TestClusterRoom(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			first, second := eng.setup(t)
			a, out := startOut(t, append([]string{"-node-id", "a"}, first...)...)
			b := start(t, append([]string{"-node-id", "b"}, second(t, out)...)...)
			ada := joinLocal(t, a, "ada")
			ada.send(request{Type: "join", Room: "lobby"})
			ada.next("members") // ada's join has returned: a is subscribed to lobby
			bob := joinLocal(t, b, "bob")
			bob.send(request{Type: "join", Room: "lobby"})
			if ev := ada.next("joined"); ev.Name != "bob" || ev.Room != "lobby" {
				t.Fatalf("ada on node a saw %+v, want bob joining lobby", ev)
			}
			bob.next("members") // bob's join has returned: b is subscribed too
			bob.send(request{Type: "say", Room: "lobby", Text: "hi from b"})
			ada.send(request{Type: "say", Room: "lobby", Text: "hi from a"})
			for _, ch := range []*chatter{ada, bob} {
				got := map[string]string{}
				for len(got) < 2 {
					ev := ch.next("message")
					got[ev.Text] = ev.Name
				}
				if got["hi from b"] != "bob" || got["hi from a"] != "ada" {
					t.Fatalf("messages %v, want one from each node", got)
				}
			}
			// Presence reaches the broker asynchronously: a members list
			// names ada on b once a's update is there. Joining again (which
			// the chat allows) asks for a fresh list; poll, bounded.
			deadline := time.Now().Add(30 * time.Second)
			for {
				bob.send(request{Type: "join", Room: "lobby"})
				ev := bob.next("members")
				if slices.Equal(ev.Members, []string{"ada", "bob"}) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("members on b %v, want [ada bob]", ev.Members)
				}
				time.Sleep(50 * time.Millisecond) // a poll interval, not a synchronisation
			}
		})
	}
}
