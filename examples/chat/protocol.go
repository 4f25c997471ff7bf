package main

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/wsgate/wsgate/hub"
)

// subprotocol names the JSON protocol below.
const subprotocol = "chat.v1"

// Limits on what a client may send.
const (
	maxName  = 32
	maxRoom  = 64
	maxText  = 2000
	maxRooms = 8
)

// request is what a client sends:
//
//	{"type":"hello","name":"ada"}
//	{"type":"join","room":"lobby"}
//	{"type":"join","room":"lobby","pos":{"e":"9f2c…","o":41}}  rejoin from the last position seen
//	{"type":"leave","room":"lobby"}
//	{"type":"say","room":"lobby","text":"hi"}
type request struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
	Room string `json:"room,omitempty"`
	Text string `json:"text,omitempty"`
	// Pos, in a join, is the position of the last event the page saw in
	// the room: the server replays what came after it (see history.go).
	Pos *position `json:"pos,omitempty"`
}

// event is what the server sends:
//
//	{"type":"joined","room":"lobby","name":"ada"}     someone joined (you too)
//	{"type":"left","room":"lobby","name":"ada"}       someone left
//	{"type":"members","room":"lobby","members":[...]} the room's member names
//	{"type":"message","room":"lobby","name":"ada","text":"hi"}
//	{"type":"error","text":"..."}                     your last request was refused
//	{"type":"resync","room":"lobby"}                  your rejoin could not replay what you missed
//
// Every event sent to a room (all but error and resync) starts with its
// position in the room's history, which a page sends back when it rejoins:
//
//	{"pos":{"e":"9f2c…","o":42},"type":"message","room":"lobby",...}
type event struct {
	Pos     *position `json:"pos,omitempty"`
	Type    string    `json:"type"`
	Room    string    `json:"room,omitempty"`
	Name    string    `json:"name,omitempty"`
	Text    string    `json:"text,omitempty"`
	Members []string  `json:"members,omitempty"`
}

func (e event) message() hub.Message {
	b, _ := json.Marshal(e) // an event always marshals
	return hub.Message{Type: hub.TextMessage, Data: b}
}

// validName reports whether s is a usable name or room: 1 to max runes, no
// control characters, not only spaces.
func validName(s string, max int) bool {
	if strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}
