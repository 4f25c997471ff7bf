// Package rooms is the small application behind the router examples (chi
// and echorouter): authenticated users join rooms over a WebSocket, and
// REST handlers publish to rooms, list members and kick sessions.
//
// # Protocol
//
// Every message is a JSON text message whose "type" says what it is, as in
// the chat example (docs/browser-client.md, "The examples' protocol"). A
// client sends:
//
//	{"type":"join","room":"lobby"}
//	{"type":"leave","room":"lobby"}
//	{"type":"say","room":"lobby","text":"hi"}
//
// and receives:
//
//	{"type":"welcome","session":"<id>","user":"alice"}  first, on connect
//	{"type":"joined","room":"lobby","name":"alice"}      your join was done
//	{"type":"left","room":"lobby","name":"alice"}        your leave was done
//	{"type":"message","room":"lobby","name":"alice","text":"hi"}
//	{"type":"error","text":"..."}                        your last request was refused
//
// Messages said in a room go to every member, the sender included; "name"
// is the sender's token subject (or the REST caller's), where the chat has
// the name its chatter said hello with. A binary message closes the
// session with 1003.
package rooms

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wsgate/wsgate/hub"
)

// Limits on what a client may send.
const (
	MaxRoom = 64   // runes in a room name
	MaxText = 2000 // bytes in a message
)

// userKey is the session metadata key holding the token subject.
const userKey = "rooms.user"

// Request is what a client sends.
type Request struct {
	Type string `json:"type"`
	Room string `json:"room,omitempty"`
	Text string `json:"text,omitempty"`
}

// Event is what the server sends.
type Event struct {
	Type    string `json:"type"`
	Session string `json:"session,omitempty"`
	User    string `json:"user,omitempty"`
	Room    string `json:"room,omitempty"`
	Name    string `json:"name,omitempty"` // who said, joined or left
	Text    string `json:"text,omitempty"`
}

func (e Event) message() hub.Message {
	b, _ := json.Marshal(e) // an Event always marshals
	return hub.Message{Type: hub.TextMessage, Data: b}
}

// Errors of the REST operations.
var (
	ErrBadRoom = errors.New("rooms: a room is 1 to 64 characters, without control characters")
	ErrBadText = errors.New("rooms: a message is 1 to 2000 bytes")
)

// App wires the protocol to a hub.
type App struct {
	hub  *hub.Hub
	user func(*hub.Session) string
}

// New installs the protocol's callbacks on h. user names a session's user
// (its token subject) at connect time.
func New(h *hub.Hub, user func(*hub.Session) string) *App {
	a := &App{hub: h, user: user}
	h.OnConnect(a.onConnect)
	h.OnMessage(a.onMessage)
	return a
}

// Hub returns the application's hub.
func (a *App) Hub() *hub.Hub { return a.hub }

func (a *App) onConnect(s *hub.Session) {
	u := a.user(s)
	s.Set(userKey, u)
	s.Send(Event{Type: "welcome", Session: s.ID(), User: u}.message())
}

// User returns the user a session belongs to.
func User(s *hub.Session) string {
	v, _ := s.Get(userKey)
	u, _ := v.(string)
	return u
}

func (a *App) onMessage(s *hub.Session, m hub.Message) {
	if m.Type != hub.TextMessage {
		s.Close(hub.CloseUnsupportedData, "text only")
		return
	}
	var req Request
	if err := json.Unmarshal(m.Data, &req); err != nil {
		fail(s, "malformed request")
		return
	}
	if !ValidRoom(req.Room) {
		fail(s, "a room is 1 to 64 characters")
		return
	}
	switch req.Type {
	case "join":
		if err := a.hub.Join(s.ID(), req.Room); err != nil {
			fail(s, "cannot join that room")
			return
		}
		s.Send(Event{Type: "joined", Room: req.Room, Name: User(s)}.message())
	case "leave":
		a.hub.Leave(s.ID(), req.Room)
		s.Send(Event{Type: "left", Room: req.Room, Name: User(s)}.message())
	case "say":
		if !slices.Contains(s.Rooms(), req.Room) {
			fail(s, "you are not in that room")
			return
		}
		if _, err := a.Publish(req.Room, User(s), req.Text); err != nil {
			fail(s, "a message is 1 to 2000 bytes")
		}
	default:
		fail(s, "unknown request type")
	}
}

func fail(s *hub.Session, why string) { s.Send(Event{Type: "error", Text: why}.message()) }

// Publish sends text from a user to every member of room and returns how
// many sessions it was queued for.
func (a *App) Publish(room, from, text string) (int, error) {
	if !ValidRoom(room) {
		return 0, ErrBadRoom
	}
	if text == "" || len(text) > MaxText {
		return 0, ErrBadText
	}
	return a.hub.SendToRoom(room, Event{Type: "message", Room: room, Name: from, Text: text}.message())
}

// Member is a session in a room.
type Member struct {
	Session string `json:"session"`
	User    string `json:"user"`
}

// Members lists the members of room, by session ID.
func (a *App) Members(room string) ([]Member, error) {
	if !ValidRoom(room) {
		return nil, ErrBadRoom
	}
	ids := a.hub.Members(room)
	out := make([]Member, 0, len(ids))
	for _, id := range ids {
		if s, ok := a.hub.Session(id); ok {
			out = append(out, Member{Session: id, User: User(s)})
		}
	}
	return out, nil
}

// Kick closes a session with 1008 "kicked". It returns
// hub.ErrSessionNotFound for an unknown ID.
func (a *App) Kick(id string) error {
	s, ok := a.hub.Session(id)
	if !ok {
		return hub.ErrSessionNotFound
	}
	return s.Close(hub.ClosePolicy, "kicked")
}

// Stats is the body of GET /stats.
type Stats struct {
	Active     int               `json:"active"`
	Total      uint64            `json:"total"`
	Received   uint64            `json:"messages_received"`
	Sent       uint64            `json:"messages_sent"`
	Dropped    uint64            `json:"messages_dropped"`
	Rooms      int               `json:"rooms"`
	Topics     int               `json:"topics"`
	CloseCodes map[int]uint64    `json:"close_codes"`
	Refusals   map[string]uint64 `json:"refusals"`
}

// Stats returns the hub's counters with the given refusal counts.
func (a *App) Stats(refusals map[string]uint64) Stats {
	st := a.hub.Stats()
	return Stats{
		Active: st.Active, Total: st.Total,
		Received: st.MessagesReceived, Sent: st.MessagesSent, Dropped: st.Dropped,
		Rooms: st.Rooms, Topics: st.Topics,
		CloseCodes: st.CloseCodes, Refusals: refusals,
	}
}

// ValidRoom reports whether s is a usable room name: 1 to MaxRoom runes of
// valid UTF-8, no control characters, not only spaces.
func ValidRoom(s string) bool {
	if strings.TrimSpace(s) == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxRoom {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}
