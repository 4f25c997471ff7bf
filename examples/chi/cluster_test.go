package main

import (
	"io"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/examples/internal/rooms"
	"github.com/wsgate/wsgate/internal/redistest"
	"github.com/wsgate/wsgate/wstest"
)

// TestClusterRooms runs two chi programs over one Redis: a message said in
// a room on one node reaches the room's member on the other.
func TestClusterRooms(t *testing.T) {
	srv := redistest.Start(t)
	broker := []string{"-broker", "redis://" + srv.Addr()}
	urlA, _ := start(t, io.Discard, append(broker, "-node-id", "a")...)
	urlB, _ := start(t, io.Discard, append(broker, "-node-id", "b")...)
	dial := func(url, user string) *wstest.Conn {
		c := wstest.Dial(t, strings.Replace(url, "http://", "ws://", 1)+"/ws", wstest.Bearer(mint(t, user)))
		welcome(t, c, user)
		c.SendJSON(t, rooms.Request{Type: "join", Room: "lobby"})
		var ev rooms.Event
		if c.ReadJSON(t, &ev); ev.Type != "joined" || ev.Room != "lobby" {
			t.Fatalf("%s's join answered %+v", user, ev)
		}
		return c
	}
	alice, bob := dial(urlA, "alice"), dial(urlB, "bob")
	bob.SendJSON(t, rooms.Request{Type: "say", Room: "lobby", Text: "hi from b"})
	for {
		var ev rooms.Event
		alice.ReadJSON(t, &ev)
		if ev.Type == "message" {
			if ev.Name != "bob" || ev.Text != "hi from b" {
				t.Fatalf("alice on node a got %+v", ev)
			}
			break
		}
	}
}
