package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/hub"
)

func TestFramePosition(t *testing.T) {
	pos := hub.Position{Epoch: `e"7\`, Offset: 42}
	cases := []struct {
		name, in, want string
	}{
		{"event", `{"type":"message","text":"hi"}`, `{"pos":{"e":"e\"7\\","o":42},"type":"message","text":"hi"}`},
		{"empty object", `{}`, `{"pos":{"e":"e\"7\\","o":42}}`},
		{"not an object", `"hi"`, `"hi"`},
		{"empty", ``, ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := hub.Message{Type: hub.TextMessage, Data: []byte(tc.in)}
			got := framePosition("lobby", pos, in)
			if string(got.Data) != tc.want || got.Type != hub.TextMessage {
				t.Fatalf("framed %s: %s, want %s", tc.in, got.Data, tc.want)
			}
			if string(in.Data) != tc.in {
				t.Fatalf("the input was modified: %s", in.Data)
			}
			if strings.HasPrefix(tc.want, "{") {
				var ev struct{ Pos position }
				if err := json.Unmarshal(got.Data, &ev); err != nil || ev.Pos != (position{pos.Epoch, pos.Offset}) {
					t.Fatalf("framed %s: %+v, %v; want the position back", got.Data, ev.Pos, err)
				}
			}
		})
	}
}

// events reads ch's events until one satisfies stop, and returns them all.
func (ch *chatter) events(stop func(event) bool) []event {
	ch.t.Helper()
	var evs []event
	for range 1000 {
		var ev event
		ch.c.ReadJSON(ch.t, &ev)
		evs = append(evs, ev)
		if stop(ev) {
			return evs
		}
	}
	ch.t.Fatalf("no awaited event in 1000: %+v", evs)
	return nil
}

// texts returns the texts of the message events among evs, and of the
// resync events as "resync ROOM".
func texts(evs []event) []string {
	var out []string
	for _, ev := range evs {
		switch ev.Type {
		case "message":
			out = append(out, ev.Text)
		case "resync":
			out = append(out, "resync "+ev.Room)
		}
	}
	return out
}

func isMessage(text string) func(event) bool {
	return func(ev event) bool { return ev.Type == "message" && ev.Text == text }
}

// TestEventsCarryPositions: everything sent to a room carries its place in
// the room's history, one offset after the other.
func TestEventsCarryPositions(t *testing.T) {
	addr := start(t)
	ada := joinLocal(t, addr, "ada")
	ada.send(request{Type: "join", Room: "lobby"})
	ada.send(request{Type: "say", Room: "lobby", Text: "one"})
	evs := ada.events(isMessage("one"))
	var got []string
	for _, ev := range evs {
		if ev.Pos == nil {
			t.Fatalf("event %+v has no position", ev)
		}
		got = append(got, fmt.Sprintf("%s@%d", ev.Type, ev.Pos.Offset))
		if ev.Pos.Epoch != evs[0].Pos.Epoch || ev.Pos.Epoch == "" {
			t.Fatalf("epochs %q then %q", evs[0].Pos.Epoch, ev.Pos.Epoch)
		}
	}
	if strings.Join(got, " ") != "joined@1 members@2 message@3" {
		t.Fatalf("events %v, want joined@1 members@2 message@3", got)
	}
	// An error goes to one session, not to a room: no position.
	ada.send(request{Type: "say", Room: "elsewhere", Text: "x"})
	if ev := ada.next("error"); ev.Pos != nil {
		t.Fatalf("error %+v carries a position", ev)
	}
}

// TestRejoinReplaysMissed: a chatter who comes back with the position of
// the last event she saw gets every message said meanwhile, once, in
// order, then the live ones.
func TestRejoinReplaysMissed(t *testing.T) {
	addr := start(t)
	ada := joinLocal(t, addr, "ada")
	ada.send(request{Type: "join", Room: "lobby"})
	ada.next("members") // ada's join is done, before bob's begins
	bob := joinLocal(t, addr, "bob")
	bob.send(request{Type: "join", Room: "lobby"})
	bob.next("members")
	bob.send(request{Type: "say", Room: "lobby", Text: "before"})
	last := ada.events(isMessage("before"))
	pos := last[len(last)-1].Pos
	ada.c.Close()
	bob.next("left") // ada's session has ended
	for _, text := range []string{"while away 1", "while away 2", "while away 3"} {
		bob.send(request{Type: "say", Room: "lobby", Text: text})
	}
	bob.events(isMessage("while away 3"))

	ada = joinLocal(t, addr, "ada")
	ada.send(request{Type: "join", Room: "lobby", Pos: pos})
	// ada's own joined event is live: everything missed comes before it.
	evs := ada.events(func(ev event) bool { return ev.Type == "joined" && ev.Name == "ada" })
	if got := strings.Join(texts(evs), ","); got != "while away 1,while away 2,while away 3" {
		t.Fatalf("ada got %q on rejoining, want the three messages said while she was away", got)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Pos.Offset != evs[i-1].Pos.Offset+1 {
			t.Fatalf("offsets jump from %d to %d", evs[i-1].Pos.Offset, evs[i].Pos.Offset)
		}
	}
	if evs[0].Pos.Offset != pos.Offset+1 {
		t.Fatalf("replay starts at %d, want %d", evs[0].Pos.Offset, pos.Offset+1)
	}
	bob.send(request{Type: "say", Room: "lobby", Text: "live"})
	if got := texts(ada.events(isMessage("live"))); strings.Join(got, ",") != "live" {
		t.Fatalf("after the replay ada got %q, want only the live message", got)
	}
}

// TestRejoinResync: a position the history cannot continue from gets a
// resync event (the page says it may have missed messages), and the
// chatter is in the room live; the others are unaffected.
func TestRejoinResync(t *testing.T) {
	addr := start(t)
	bob := joinLocal(t, addr, "bob")
	bob.send(request{Type: "join", Room: "lobby"})
	bob.send(request{Type: "say", Room: "lobby", Text: "first"})
	top := bob.events(isMessage("first"))
	epoch := top[len(top)-1].Pos.Epoch
	cases := []struct {
		name string
		pos  position
	}{
		{"another epoch (a store that restarted)", position{"not-the-epoch", 1}},
		{"ahead of the room", position{epoch, 1 << 40}},
		{"an epoch no store gives", position{strings.Repeat("e", 65), 1}},
		{"no epoch", position{"", 1}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			room := fmt.Sprintf("room%d", i)
			eve := joinLocal(t, addr, "eve")
			eve.send(request{Type: "join", Room: "lobby", Pos: &tc.pos})
			eve.send(request{Type: "join", Room: room, Pos: &tc.pos})
			eve.send(request{Type: "say", Room: "lobby", Text: "live " + tc.name})
			evs := eve.events(isMessage("live " + tc.name))
			if got := strings.Join(texts(evs), ","); got != "resync lobby,resync "+room+",live "+tc.name {
				t.Fatalf("eve got %q, want a resync for each room, then her live message", got)
			}
			if got := texts(bob.events(isMessage("live " + tc.name))); strings.Join(got, ",") != "live "+tc.name {
				t.Fatalf("bob got %q, want only eve's message", got)
			}
		})
	}
	t.Run("trimmed: more missed than the history keeps", func(t *testing.T) {
		for i := range historySize + 1 {
			bob.send(request{Type: "say", Room: "lobby", Text: fmt.Sprint("flood ", i)})
		}
		bob.events(isMessage(fmt.Sprint("flood ", historySize)))
		eve := joinLocal(t, addr, "eve")
		// top is from before the flood: what came after it is gone.
		eve.send(request{Type: "join", Room: "lobby", Pos: top[len(top)-1].Pos})
		eve.send(request{Type: "say", Room: "lobby", Text: "after the flood"})
		if got := texts(eve.events(isMessage("after the flood"))); strings.Join(got, ",") != "resync lobby,after the flood" {
			t.Fatalf("eve got %q, want a resync, then her live message", got)
		}
	})
	t.Run("no position: a first join, live without a notice", func(t *testing.T) {
		eve := joinLocal(t, addr, "eve")
		eve.send(request{Type: "join", Room: "lobby"})
		eve.send(request{Type: "say", Room: "lobby", Text: "hello"})
		if got := texts(eve.events(isMessage("hello"))); strings.Join(got, ",") != "hello" {
			t.Fatalf("eve got %q, want only her message", got)
		}
	})
	t.Run("a negative offset is malformed", func(t *testing.T) {
		eve := joinLocal(t, addr, "eve")
		eve.c.SendText(t, `{"type":"join","room":"lobby","pos":{"e":"x","o":-1}}`)
		if ev := eve.next("error"); ev.Text != "malformed request" {
			t.Fatalf("error %q, want malformed request", ev.Text)
		}
	})
}
