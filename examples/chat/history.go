package main

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/wsgate/wsgate/hub"
)

// Every chat room keeps a history, so that a page that reconnects (a
// laptop that slept, a server that restarted with a store that outlived
// it) gets what was said meanwhile, exactly once, or is told it may have
// missed some. Everything said in a room is kept: messages, joins and
// leaves, member lists.
const (
	// historySize is how many of a room's newest events are kept. A page
	// that missed more gets a "resync" event instead; so does one that
	// missed more than the hub's send queue holds (256 by default).
	historySize = 200
	// historyTTL is how long an event is kept.
	historyTTL = time.Hour
)

// chatHistory is the hub's history configuration: every room keeps
// historySize events for historyTTL in store (nil: a MemoryStore of the
// hub's own, lost when the program ends), and every event carries its
// position as "pos".
func chatHistory(store hub.Store) hub.HistoryConfig {
	return hub.HistoryConfig{
		Policy: func(string) hub.HistoryPolicy { return hub.HistoryPolicy{Size: historySize, TTL: historyTTL} },
		Store:  store,
		Frame:  framePosition,
	}
}

// shutdownUnserved shuts h down when run fails before serving (a bad flag,
// a busy address): a hub with history runs a goroutine from New on. After
// serve.Run has shut h down it returns at once.
func shutdownUnserved(h *hub.Hub) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.Shutdown(ctx)
}

// position is a place in a room's history on the wire: {"e":EPOCH,"o":OFFSET}.
type position struct {
	Epoch  string `json:"e"`
	Offset uint64 `json:"o"`
}

// framePosition puts pos into an event as its first field:
// {"type":"message",...} becomes {"pos":{"e":"…","o":7},"type":"message",...}.
// The hub calls it once per event routed to a room (not once per member)
// and again for each event it replays, so it only splices bytes: the same
// input gives the same output. A message that is not a JSON object (the
// chat sends none) goes as it is.
func framePosition(_ string, pos hub.Position, m hub.Message) hub.Message {
	if len(m.Data) < 2 || m.Data[0] != '{' {
		return m
	}
	epoch, _ := json.Marshal(pos.Epoch) // a string always marshals
	b := make([]byte, 0, len(m.Data)+len(epoch)+40)
	b = append(b, `{"pos":{"e":`...)
	b = append(b, epoch...)
	b = append(b, `,"o":`...)
	b = strconv.AppendUint(b, pos.Offset, 10)
	b = append(b, '}')
	if m.Data[1] != '}' { // not the empty object
		b = append(b, ',')
	}
	b = append(b, m.Data[1:]...)
	return hub.Message{Type: m.Type, Data: b}
}

// joinRoom adds s to room. With a position (the last one its page saw in
// the room) the hub replays what the page missed, then the live events;
// when it cannot (the history was lost or trimmed past it), s gets a
// "resync" event, so the page says it may have missed messages instead of
// showing a silent gap. Without a position (a first join) s joins live.
// It reports whether s is in the room.
func (c *chat) joinRoom(s *hub.Session, room string, since *position) bool {
	if !c.history {
		return c.h.Join(s.ID(), room) == nil || c.in(s, room)
	}
	var from hub.Position
	if since != nil {
		from = hub.Position{Epoch: since.Epoch, Offset: since.Offset}
	}
	rec, err := c.h.JoinFrom(s.ID(), room, from)
	if err != nil && !c.in(s, room) {
		return false
	}
	if since != nil && !rec.Recovered {
		s.Send(event{Type: "resync", Room: room}.message())
	}
	return true
}
