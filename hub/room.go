package hub

import (
	"fmt"
	"maps"
	"sort"
	"sync"
	"sync/atomic"
	"time"
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
	members  map[*Session]int64 // member → when it joined, Unix milliseconds
	messages atomic.Uint64
	bytes    atomic.Uint64
	line     *roomLine // nil unless the room has a HistoryPolicy (history.go)
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
//
// In a cluster, the first local member of a room makes the hub subscribe
// to it at the broker, and Join waits (at most Config.BrokerTimeout) for
// the broker to confirm; later joins of the same room wait for the same
// confirmation, or not at all once it is in. The guarantee: once Join
// returns nil, every message sent to the room from any node after that
// moment reaches the session (as far as its queue policy lets it). If the
// broker refuses or does not confirm in time, Join returns an error wrapping
// ErrRemote: the session is nevertheless in the room and gets what this node
// routes to it, the hub retries the subscription every second and when the
// broker reconnects, and the room's messages from other nodes may be missed
// until then (call Leave to undo the join instead).
//
// For the first local member of a room with history (Config.History),
// Join also reads the room's position from the store, so that the node
// releases the room's messages in order from there; when the store does
// not answer in time Join returns an error wrapping ErrHistory, with the
// same meaning (the hub tries again every second).
//
// For a session of another node (see NodeOf) Join asks that node to add it
// and returns once the request is queued, without waiting for it to be
// applied and without the guarantee; ErrRemote if the outbox is full.
func (h *Hub) Join(sessionID, roomName string) error {
	if err := checkRoomName(roomName); err != nil {
		return err
	}
	if remote, err := h.remoteSession(sessionID); err != nil || remote {
		if err != nil {
			return err
		}
		return h.remoteOp(Envelope{Op: OpJoin, Kind: ToSession, Target: sessionID, Room: roomName})
	}
	s, ok := h.Session(sessionID)
	if !ok {
		return fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
	}
	_, err := h.join(s, roomName, true, nil)
	return err
}

// remoteOp queues an operation for another node's session.
func (h *Hub) remoteOp(e Envelope) error {
	if h.shuttingDown() {
		return ErrClosed
	}
	e.Node = h.node
	return h.cluster.outbox.push(e)
}

// join adds s to the room and, with wait, waits for the broker's
// subscription (see Join). With a replay job (JoinFrom), s must not be in
// the room yet, and its line holds the room's messages for it until the
// replay is queued. It returns the room's line, nil without history.
func (h *Hub) join(s *Session, roomName string, wait bool, job *replayJob) (*roomLine, error) {
	history := false
	if h.hist.on { // the app's function runs before any hub lock is taken
		p, err := h.hist.roomPolicy(roomName)
		if err != nil {
			return nil, err
		}
		history = p.Size > 0
	}
	m := &h.members
	m.mu.Lock()
	if s.state0() == stateEnded {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrClosed, s.id)
	}
	var line *roomLine
	if r := m.rooms[roomName]; r != nil {
		line = r.line
	}
	if _, in := s.rooms[roomName]; in && job != nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: session %s is already in room %q", ErrHistory, s.id, roomName)
	}
	if _, in := s.rooms[roomName]; !in {
		if len(s.rooms) >= h.cfg.MaxRoomsPerSession {
			m.mu.Unlock()
			return nil, fmt.Errorf("%w: %d rooms", ErrTooManyRooms, len(s.rooms))
		}
		r := m.rooms[roomName]
		if r == nil {
			r = &room{members: make(map[*Session]int64)}
			if history {
				r.line = newRoomLine(h, roomName)
				line = r.line
			}
			m.rooms[roomName] = r
			h.cluster.interest.setWant(Channel{Kind: ToRoom, Name: roomName}, true)
		}
		if job != nil {
			if line == nil {
				m.mu.Unlock()
				return nil, fmt.Errorf("%w: room %q has no history policy on this node", ErrHistory, roomName)
			}
			line.register(s, job)
		}
		now := time.Now().UnixMilli()
		r.members[s] = now
		if s.rooms == nil {
			s.rooms = make(map[string]struct{})
		}
		s.rooms[roomName] = struct{}{}
		h.cluster.presence.joined(s, roomName, now)
	}
	if line != nil && !wait {
		line.mu.Lock()
		if !line.primed {
			line.requestFillLocked() // the history worker reads where the room is
		}
		line.mu.Unlock()
	}
	m.mu.Unlock()
	if !wait {
		return line, nil
	}
	err := h.cluster.interest.await(Channel{Kind: ToRoom, Name: roomName})
	if line != nil && job == nil {
		// Where the room is, read after the subscription is confirmed:
		// every message with a later offset comes through the broker.
		if perr := line.prime(); perr != nil && err == nil {
			err = perr
		}
	}
	return line, err
}

// joinReplaying is JoinFrom's join: it does not wait for the broker.
func (h *Hub) joinReplaying(s *Session, roomName string, job *replayJob) (*roomLine, error) {
	return h.join(s, roomName, false, job)
}

// Leave removes the session from room; a room left empty disappears (and
// this node unsubscribes from it at the broker, without waiting). For a
// session of another node it queues the request for that node, as Join
// does.
func (h *Hub) Leave(sessionID, roomName string) error {
	if remote, err := h.remoteSession(sessionID); err != nil || remote {
		if err != nil {
			return err
		}
		if err := checkRoomName(roomName); err != nil {
			return err
		}
		return h.remoteOp(Envelope{Op: OpLeave, Kind: ToSession, Target: sessionID, Room: roomName})
	}
	s, ok := h.Session(sessionID)
	if !ok {
		return fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
	}
	h.leave(s, roomName)
	return nil
}

func (h *Hub) leave(s *Session, roomName string) {
	h.members.mu.Lock()
	h.members.leaveLocked(s, roomName)
	h.members.mu.Unlock()
}

// LeaveAll removes the session (of this node) from every room.
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
	if _, in := r.members[s]; !in {
		return
	}
	delete(r.members, s)
	delete(s.rooms, name)
	if r.line != nil {
		r.line.forget(s)
	}
	h := s.hub
	if len(r.members) == 0 {
		delete(m.rooms, name)
		h.cluster.interest.setWant(Channel{Kind: ToRoom, Name: name}, false)
	}
	h.cluster.presence.left(s, name)
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
	s.hub.cluster.presence.forget(s)
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

// roomTargets appends the room's members to dst and, with count, counts
// the message against the room.
// roomTargets appends the members of the room; with a line, only while
// that line is still the room's (a room that emptied and was created again
// has a new line, and the old one must not reach the new members).
func (m *membership) roomTargets(dst []*Session, name string, size int, count bool, line *roomLine) []*Session {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r := m.rooms[name]
	if r == nil || line != nil && r.line != line {
		return dst
	}
	if count {
		r.messages.Add(1)
		r.bytes.Add(uint64(size))
	}
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
