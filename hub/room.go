package hub

import (
	"fmt"
	"maps"
	"sort"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// membership indexes this node's sessions by room and by topic pattern.
type membership struct {
	mu     sync.RWMutex
	rooms  map[string]*room
	topics topicNode
	ntopic int // patterns with at least one subscriber
}

type room struct {
	members  map[*Session]struct{}
	messages atomic.Uint64
	bytes    atomic.Uint64
}

func (m *membership) init() { m.rooms = make(map[string]*room) }

func (m *membership) counts() (rooms, topics int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.rooms), m.ntopic
}

// maxNameLen bounds room names and topic subjects.
const maxNameLen = 256

func checkRoomName(name string) error {
	if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: room %q must be 1 to %d bytes of UTF-8", ErrBadName, name, maxNameLen)
	}
	return nil
}

// Join adds the session to room, creating the room if needed. Joining a room
// twice is not an error.
func (h *Hub) Join(sessionID, roomName string) error {
	if err := checkRoomName(roomName); err != nil {
		return err
	}
	s, ok := h.Session(sessionID)
	if !ok {
		return fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
	}
	m := &h.members
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.state0() == stateEnded {
		return fmt.Errorf("%w: %s", ErrClosed, sessionID)
	}
	if _, in := s.rooms[roomName]; in {
		return nil
	}
	if len(s.rooms) >= h.cfg.MaxRoomsPerSession {
		return fmt.Errorf("%w: %d rooms", ErrTooManyRooms, len(s.rooms))
	}
	r := m.rooms[roomName]
	if r == nil {
		r = &room{members: make(map[*Session]struct{})}
		m.rooms[roomName] = r
	}
	r.members[s] = struct{}{}
	if s.rooms == nil {
		s.rooms = make(map[string]struct{})
	}
	s.rooms[roomName] = struct{}{}
	return nil
}

// Leave removes the session from room; a room left empty disappears.
func (h *Hub) Leave(sessionID, roomName string) error {
	s, ok := h.Session(sessionID)
	if !ok {
		return fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
	}
	h.members.mu.Lock()
	h.members.leaveLocked(s, roomName)
	h.members.mu.Unlock()
	return nil
}

// LeaveAll removes the session from every room.
func (h *Hub) LeaveAll(sessionID string) error {
	s, ok := h.Session(sessionID)
	if !ok {
		return fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
	}
	h.members.mu.Lock()
	for name := range s.rooms {
		h.members.leaveLocked(s, name)
	}
	h.members.mu.Unlock()
	return nil
}

func (m *membership) leaveLocked(s *Session, name string) {
	r := m.rooms[name]
	if r == nil {
		return
	}
	delete(r.members, s)
	delete(s.rooms, name)
	if len(r.members) == 0 {
		delete(m.rooms, name)
	}
}

// removeSession takes an ended session out of every room and topic. The
// session keeps its own record of them, so Session.Rooms and Session.Topics
// still tell, in OnClose, where it was.
func (m *membership) removeSession(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rooms, topics := maps.Clone(s.rooms), maps.Clone(s.topics)
	for name := range rooms {
		m.leaveLocked(s, name)
	}
	for pattern := range topics {
		m.unsubscribeLocked(s, pattern)
	}
	s.rooms, s.topics = rooms, topics
}

// Members returns the IDs of the room's members on this node, sorted.
func (h *Hub) Members(roomName string) []string {
	m := &h.members
	m.mu.RLock()
	r := m.rooms[roomName]
	var ids []string
	if r != nil {
		ids = make([]string, 0, len(r.members))
		for s := range r.members {
			ids = append(ids, s.id)
		}
	}
	m.mu.RUnlock()
	sort.Strings(ids)
	return ids
}

// RoomInfo describes a room on this node.
type RoomInfo struct {
	Name    string
	Members int
	// Messages and Bytes count what was sent to the room through this node
	// (each message once, whatever the number of members).
	Messages, Bytes uint64
}

// Rooms lists this node's rooms, sorted by name. Rooms exist while they have
// members.
func (h *Hub) Rooms() []RoomInfo {
	m := &h.members
	m.mu.RLock()
	out := make([]RoomInfo, 0, len(m.rooms))
	for name, r := range m.rooms {
		out = append(out, RoomInfo{Name: name, Members: len(r.members), Messages: r.messages.Load(), Bytes: r.bytes.Load()})
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (h *Hub) sessionRooms(s *Session) []string {
	h.members.mu.RLock()
	out := make([]string, 0, len(s.rooms))
	for name := range s.rooms {
		out = append(out, name)
	}
	h.members.mu.RUnlock()
	sort.Strings(out)
	return out
}

// roomTargets appends the room's members to dst and counts the message
// against the room.
func (m *membership) roomTargets(dst []*Session, name string, size int) []*Session {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r := m.rooms[name]
	if r == nil {
		return dst
	}
	r.messages.Add(1)
	r.bytes.Add(uint64(size))
	for s := range r.members {
		dst = append(dst, s)
	}
	return dst
}

func (s *Session) state0() sessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}
