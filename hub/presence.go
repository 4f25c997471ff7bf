package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrNoPresence is returned by Presence and PresenceCount when
// Config.Presence is off.
var ErrNoPresence = errors.New("hub: presence is off (Config.Presence)")

// ErrInfoTooLarge is returned by Session.SetPresenceInfo for info longer
// than MaxPresenceInfo.
var ErrInfoTooLarge = errors.New("hub: presence info too large")

// maxPresencePending bounds the presence updates waiting for the broker.
// Past it updates are dropped and counted: the periodic refresh re-adds
// every member, and TTL expiry removes the departed.
const maxPresencePending = 1 << 16

// PresenceEvent says that a member joined or left a room.
type PresenceEvent struct {
	Room   string
	Left   bool // false: joined
	Member Member
}

// presence is the hub's side of Config.Presence: the members' info, the
// updates waiting for a PresenceBroker, and the periodic refresh.
//
// Lock order: membership.mu, then presence.mu.
type presence struct {
	h      *Hub
	on     bool
	remote PresenceBroker // nil: this node answers from its own memory

	mu      sync.Mutex // guards info, pending
	info    map[*Session][]byte
	pending map[presenceKey]bool // true: add, false: remove
	wake    chan struct{}
}

type presenceKey struct{ room, session string }

func (p *presence) init(h *Hub) {
	p.h = h
	p.on = h.cfg.Presence
	if p.on && h.cluster.on {
		p.remote, _ = h.cfg.Broker.(PresenceBroker)
	}
	p.info = make(map[*Session][]byte)
	p.pending = make(map[presenceKey]bool)
	p.wake = make(chan struct{}, 1)
}

// SetPresenceInfo sets what this session shows in the presence of the
// rooms it is in (Member.Info): a user ID, a name, JSON... up to
// MaxPresenceInfo bytes, copied. Set it before joining (in OnConnect, for
// example); a change reaches the rooms the session is already in within
// Config.PresenceTTL/3. Nil clears it.
func (s *Session) SetPresenceInfo(info []byte) error {
	if len(info) > MaxPresenceInfo {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInfoTooLarge, len(info), MaxPresenceInfo)
	}
	m := &s.hub.members
	m.mu.RLock() // against removeSession: no info is kept for an ended session
	defer m.mu.RUnlock()
	if s.state0() == stateEnded {
		return nil
	}
	p := &s.hub.cluster.presence
	p.mu.Lock()
	if info == nil {
		delete(p.info, s)
	} else {
		p.info[s] = slices.Clone(info)
	}
	p.mu.Unlock()
	return nil
}

// PresenceInfo returns what SetPresenceInfo set.
func (s *Session) PresenceInfo() []byte {
	p := &s.hub.cluster.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.info[s])
}

// OnPresence sets the function called when a member joins or leaves a room
// (Config.Presence on): for this node's sessions, and for other nodes'
// sessions in rooms where this node has a member. It runs on the hub's event
// goroutine, one event at a time, in order for each node; past 1024 waiting
// events, events are counted (ClusterStats.LostEvents) and not reported. A
// member that expires because its node died produces no event. Shutdown
// waits for it to return, so it must not wait for Shutdown.
func (h *Hub) OnPresence(f func(PresenceEvent)) { h.cluster.onPresence.Store(&f) }

// Presence returns the members of room on every node, sorted by session
// ID. In a cluster it asks the PresenceBroker once (bounded by ctx and
// Config.BrokerTimeout; it never asks every node); nodes update the broker
// asynchronously, so a join or leave shows a moment later, and the answer
// includes members of a node that died up to Config.PresenceTTL ago. Without a
// Broker it answers from this node's memory. ErrNoPresence when
// Config.Presence is off.
func (h *Hub) Presence(ctx context.Context, roomName string) ([]Member, error) {
	p := &h.cluster.presence
	if err := p.check(roomName); err != nil {
		return nil, err
	}
	if p.remote == nil {
		return p.local(roomName), nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.BrokerTimeout)
	defer cancel()
	ms, err := p.remote.Presence(ctx, roomName)
	if err != nil {
		return nil, fmt.Errorf("%w: presence of room %q: %w", ErrRemote, roomName, err)
	}
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.SessionID, b.SessionID) })
	return ms, nil
}

// PresenceCount returns how many members room has on every node, as
// Presence would list them, without transferring them.
func (h *Hub) PresenceCount(ctx context.Context, roomName string) (int, error) {
	p := &h.cluster.presence
	if err := p.check(roomName); err != nil {
		return 0, err
	}
	if p.remote == nil {
		m := &h.members
		m.mu.RLock()
		defer m.mu.RUnlock()
		if r := m.rooms[roomName]; r != nil {
			return len(r.members), nil
		}
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.BrokerTimeout)
	defer cancel()
	n, err := p.remote.PresenceCount(ctx, roomName)
	if err != nil {
		return 0, fmt.Errorf("%w: presence count of room %q: %w", ErrRemote, roomName, err)
	}
	return n, nil
}

func (p *presence) check(roomName string) error {
	if !p.on {
		return ErrNoPresence
	}
	if p.h.shuttingDown() {
		return ErrClosed
	}
	return checkRoomName(roomName)
}

// local lists this node's members of room.
func (p *presence) local(roomName string) []Member {
	m := &p.h.members
	m.mu.RLock()
	r := m.rooms[roomName]
	var out []Member
	if r != nil {
		out = make([]Member, 0, len(r.members))
		p.mu.Lock()
		for s, since := range r.members {
			out = append(out, p.memberLocked(s, since))
		}
		p.mu.Unlock()
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.SessionID, b.SessionID) })
	return out
}

func (p *presence) memberLocked(s *Session, since int64) Member {
	return Member{SessionID: s.id, Node: p.h.node, Info: p.info[s], Since: time.UnixMilli(since)}
}

// joined records that s joined room (membership lock held): an event for
// OnPresence, one for the other nodes, and an update for the broker.
func (p *presence) joined(s *Session, roomName string, since int64) {
	if !p.on {
		return
	}
	p.mu.Lock()
	mem := p.memberLocked(s, since)
	p.markLocked(presenceKey{roomName, s.id}, true)
	p.mu.Unlock()
	p.announce(roomName, false, mem)
}

// left records that s left room (membership lock held).
func (p *presence) left(s *Session, roomName string) {
	if !p.on {
		return
	}
	p.mu.Lock()
	mem := p.memberLocked(s, 0)
	mem.Since = time.Time{}
	p.markLocked(presenceKey{roomName, s.id}, false)
	p.mu.Unlock()
	p.announce(roomName, true, mem)
}

// forget drops an ended session's info (membership lock held).
func (p *presence) forget(s *Session) {
	p.mu.Lock()
	delete(p.info, s)
	p.mu.Unlock()
}

func (p *presence) markLocked(k presenceKey, add bool) {
	if p.remote == nil {
		return
	}
	if _, queued := p.pending[k]; !queued && len(p.pending) >= maxPresencePending {
		p.h.cluster.stats.presenceFailed.Add(1)
		return
	}
	p.pending[k] = add
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// announce reports an event to this node's OnPresence and sends it to the
// other nodes with members in the room. It never waits: a full outbox
// counts it as refused.
func (p *presence) announce(roomName string, left bool, mem Member) {
	c := &p.h.cluster
	c.event(PresenceEvent{Room: roomName, Left: left, Member: mem})
	if !c.on {
		return
	}
	data, _ := mem.MarshalBinary()
	op := OpPresenceJoin
	if left {
		op = OpPresenceLeave
	}
	if c.outbox.mb.put(Envelope{Node: p.h.node, Op: op, Kind: ToRoom, Target: roomName, Data: data}) == pushFull {
		c.stats.refused.Add(1)
	}
}

// remoteEvent reports another node's presence event to OnPresence.
func (p *presence) remoteEvent(e *Envelope) {
	if !p.on || e.Kind != ToRoom {
		return
	}
	var mem Member
	if err := mem.UnmarshalBinary(e.Data); err != nil {
		p.h.logger().Debug("wsgate: bad presence event", "node", e.Node, "err", err)
		return
	}
	mem.Info = slices.Clone(mem.Info)
	p.h.cluster.event(PresenceEvent{Room: e.Target, Left: e.Op == OpPresenceLeave, Member: mem})
}

// refreshSoon makes the presence goroutine re-add every member now (the
// broker has reconnected and may have lost them).
func (p *presence) refreshSoon() {
	if p.remote == nil {
		return
	}
	p.mu.Lock()
	p.pending[presenceKey{}] = true // the empty key means "refresh all"
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run hands presence updates to the broker and refreshes every member each
// PresenceTTL/3, until the hub stops; then it removes what is pending.
func (p *presence) run() {
	h := p.h
	tick := time.NewTicker(h.cfg.PresenceTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-p.wake:
			p.flush()
		case <-tick.C:
			p.refresh()
		case <-h.cluster.stop:
			p.flush()
			return
		}
	}
}

// flush sends the pending adds and removes, grouped by room.
func (p *presence) flush() {
	p.mu.Lock()
	pending := p.pending
	if len(pending) == 0 {
		p.mu.Unlock()
		return
	}
	p.pending = make(map[presenceKey]bool)
	p.mu.Unlock()
	if _, all := pending[presenceKey{}]; all {
		delete(pending, presenceKey{})
		p.refresh()
	}
	adds := make(map[string][]string)
	removes := make(map[string][]string)
	for k, add := range pending {
		if add {
			adds[k.room] = append(adds[k.room], k.session)
		} else {
			removes[k.room] = append(removes[k.room], k.session)
		}
	}
	for roomName, ids := range removes {
		p.call("remove", roomName, func(ctx context.Context) error {
			return p.remote.RemovePresence(ctx, roomName, ids)
		})
	}
	for roomName, ids := range adds {
		members := p.members(roomName, ids)
		if len(members) == 0 {
			continue // left again before the update went out
		}
		p.call("add", roomName, func(ctx context.Context) error {
			return p.remote.AddPresence(ctx, roomName, members, p.h.cfg.PresenceTTL)
		})
	}
}

// refresh re-adds every member of every local room.
func (p *presence) refresh() {
	m := &p.h.members
	m.mu.RLock()
	names := make([]string, 0, len(m.rooms))
	for name := range m.rooms {
		names = append(names, name)
	}
	m.mu.RUnlock()
	for _, roomName := range names {
		members := p.members(roomName, nil)
		if len(members) == 0 {
			continue
		}
		p.call("refresh", roomName, func(ctx context.Context) error {
			return p.remote.AddPresence(ctx, roomName, members, p.h.cfg.PresenceTTL)
		})
	}
}

// members returns the local members of room among ids (all with nil ids).
func (p *presence) members(roomName string, ids []string) []Member {
	var want map[string]struct{}
	if ids != nil {
		want = make(map[string]struct{}, len(ids))
		for _, id := range ids {
			want[id] = struct{}{}
		}
	}
	m := &p.h.members
	m.mu.RLock()
	defer m.mu.RUnlock()
	r := m.rooms[roomName]
	if r == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ids == nil {
		out := make([]Member, 0, len(r.members))
		for s, since := range r.members {
			out = append(out, p.memberLocked(s, since))
		}
		return out
	}
	out := make([]Member, 0, len(ids))
	for s, since := range r.members {
		if _, in := want[s.id]; in {
			out = append(out, p.memberLocked(s, since))
		}
	}
	return out
}

func (p *presence) call(op, roomName string, f func(context.Context) error) {
	h := p.h
	ctx, cancel := context.WithTimeout(h.cluster.base, h.cfg.BrokerTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		h.cluster.stats.presenceFailed.Add(1)
		h.reportHub(&RemoteError{Op: "presence " + op, Kind: ToRoom, Target: roomName, Err: err})
	}
}
