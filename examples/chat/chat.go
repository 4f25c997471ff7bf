package main

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/wsgate/wsgate/hub"
)

// nameKey is the session metadata key holding the chatter's name.
const nameKey = "chat.name"

// chat wires the protocol to a hub.
type chat struct {
	h         *hub.Hub
	clustered bool // the hub has a broker and presence: rooms span nodes
	history   bool // rooms keep a history: a join may resume (history.go)
}

func newChat(h *hub.Hub, clustered bool) *chat {
	c := &chat{h: h, clustered: clustered}
	h.OnMessage(c.onMessage)
	h.OnClose(func(s *hub.Session, code int, reason string) {
		// The hub has already taken s out of its rooms; tell them.
		for _, room := range s.Rooms() {
			c.h.SendToRoom(room, event{Type: "left", Room: room, Name: name(s)}.message())
			c.sendMembers(room)
		}
	})
	return c
}

func name(s *hub.Session) string {
	v, _ := s.Get(nameKey)
	n, _ := v.(string)
	return n
}

func (c *chat) onMessage(s *hub.Session, m hub.Message) {
	if m.Type != hub.TextMessage {
		s.Close(hub.CloseUnsupportedData, "chat.v1 speaks text only")
		return
	}
	var req request
	if err := json.Unmarshal(m.Data, &req); err != nil {
		c.fail(s, "malformed request")
		return
	}
	switch req.Type {
	case "hello":
		if !validName(req.Name, maxName) {
			c.fail(s, "a name is 1 to 32 characters")
			return
		}
		if name(s) != "" {
			c.fail(s, "you already have a name")
			return
		}
		s.Set(nameKey, req.Name)
		s.SetPresenceInfo([]byte(req.Name)) // the name other nodes list (a no-op without Presence)
	case "join":
		switch {
		case name(s) == "":
			c.fail(s, "say hello with a name first")
		case !validName(req.Room, maxRoom):
			c.fail(s, "a room is 1 to 64 characters")
		case c.in(s, req.Room):
			// Joining again only asks for a fresh members list.
			c.sendMembers(req.Room)
		case len(s.Rooms()) >= maxRooms:
			c.fail(s, "you are in too many rooms")
		default:
			if !c.joinRoom(s, req.Room, req.Pos) {
				c.fail(s, "cannot join that room")
				return
			}
			c.h.SendToRoom(req.Room, event{Type: "joined", Room: req.Room, Name: name(s)}.message())
			c.sendMembers(req.Room)
		}
	case "leave":
		if !c.in(s, req.Room) {
			c.fail(s, "you are not in that room")
			return
		}
		c.h.Leave(s.ID(), req.Room)
		s.Send(event{Type: "left", Room: req.Room, Name: name(s)}.message())
		c.h.SendToRoom(req.Room, event{Type: "left", Room: req.Room, Name: name(s)}.message())
		c.sendMembers(req.Room)
	case "say":
		switch {
		case !c.in(s, req.Room):
			c.fail(s, "you are not in that room")
		case req.Text == "" || len(req.Text) > maxText:
			c.fail(s, "a message is 1 to 2000 bytes")
		default:
			if _, err := c.h.SendToRoom(req.Room, event{Type: "message", Room: req.Room, Name: name(s), Text: req.Text}.message()); err != nil {
				c.fail(s, "the message was not sent: try again") // the history store failed
			}
		}
	default:
		c.fail(s, "unknown request type")
	}
}

func (c *chat) in(s *hub.Session, room string) bool { return slices.Contains(s.Rooms(), room) }

func (c *chat) fail(s *hub.Session, why string) {
	s.Send(event{Type: "error", Text: why}.message())
}

// presenceWait bounds the presence query of sendMembers on a cluster.
const presenceWait = 5 * time.Second

// sendMembers tells a room who is in it: this node's members as they are
// now, and on a cluster the other nodes' members as the broker's presence
// record has them (a join on another node shows there within moments).
func (c *chat) sendMembers(room string) {
	ids := c.h.Members(room)
	if len(ids) == 0 {
		return
	}
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		if s, ok := c.h.Session(id); ok {
			names = append(names, name(s))
		}
	}
	if c.clustered {
		ctx, cancel := context.WithTimeout(context.Background(), presenceWait)
		members, _ := c.h.Presence(ctx, room) // on an error, this node's members only
		cancel()
		for _, m := range members {
			if m.Node != c.h.NodeID() {
				names = append(names, string(m.Info))
			}
		}
	}
	sort.Strings(names)
	c.h.SendToRoom(room, event{Type: "members", Room: room, Members: names}.message())
}
