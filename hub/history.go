package hub

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"
)

// Bounds of a room's line on this node.
const (
	// maxPending bounds the messages a line holds while it waits for an
	// earlier offset; past it the gap is given up (counted as lost).
	maxPending = 1024
	// maxFill bounds the messages one read from the store refills.
	maxFill = 1024
	// maxRetired is how many past epochs of a room a line remembers, so
	// that a late message of an old epoch is not taken for a new one.
	maxRetired = 4
)

// history is the hub's side of history and recovery: it appends messages
// of rooms with a policy to the Store, and orders their delivery on this
// node by position (each room with local members has a line), refilling
// gaps from the store.
type history struct {
	h       *Hub
	on      bool
	policy  func(string) HistoryPolicy
	store   Store
	frame   func(string, Position, Message) Message
	timeout time.Duration

	work mailbox[*roomLine] // lines waiting for a read from the store

	stats struct {
		appended, appendFailed        atomic.Uint64
		recovered, resynced, replayed atomic.Uint64
		filled, lost                  atomic.Uint64
	}
}

// HistoryStats counts the history side of a hub. Without
// HistoryConfig.Policy every field stays zero.
type HistoryStats struct {
	// Rooms, Messages and Bytes are what the store holds now, when it can
	// tell (a StoreSizer, as MemoryStore is); else zero.
	Rooms, Messages int
	Bytes           int64
	// Appended counts messages this node added to the store;
	// AppendFailed counts routing calls that failed because the store did
	// not take the message (nothing was sent).
	Appended, AppendFailed uint64
	// Recovered counts JoinFrom calls that replayed what the session
	// missed; Resynced counts those that had to tell it to resynchronise;
	// Replayed counts the messages replayed.
	Recovered, Resynced, Replayed uint64
	// Refilled counts messages that did not reach this node through the
	// broker in order and were read back from the store; Lost counts
	// messages skipped because the store no longer held them (their
	// members see the offsets jump).
	Refilled, Lost uint64
}

func (hs *history) init(h *Hub) error {
	hs.h = h
	cfg := h.cfg.History
	if cfg.Policy == nil {
		return nil
	}
	hs.on = true
	hs.policy, hs.store, hs.frame = cfg.Policy, cfg.Store, cfg.Frame
	hs.timeout = cfg.Timeout
	if hs.timeout == 0 {
		hs.timeout = h.cfg.BrokerTimeout
	}
	if hs.store == nil {
		st, err := NewMemoryStore(MemoryStoreConfig{})
		if err != nil {
			return err
		}
		hs.store = st
	}
	hs.work.init(1024)
	return nil
}

func (hs *history) snapshot() HistoryStats {
	st := HistoryStats{
		Appended:     hs.stats.appended.Load(),
		AppendFailed: hs.stats.appendFailed.Load(),
		Recovered:    hs.stats.recovered.Load(),
		Resynced:     hs.stats.resynced.Load(),
		Replayed:     hs.stats.replayed.Load(),
		Refilled:     hs.stats.filled.Load(),
		Lost:         hs.stats.lost.Load(),
	}
	if sz, ok := hs.store.(StoreSizer); ok && hs.on {
		st.Rooms, st.Messages, st.Bytes = sz.HistorySize()
	}
	return st
}

// roomPolicy returns room's policy, zero when it has none or history is
// off.
func (hs *history) roomPolicy(room string) (HistoryPolicy, error) {
	if !hs.on {
		return HistoryPolicy{}, nil
	}
	p := hs.policy(room)
	return p, p.validate()
}

func (hs *history) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(hs.h.cluster.base, hs.timeout)
}

// framed applies the Frame hook. A hook that panics is reported to
// OnError and the message goes as it is.
func (hs *history) framed(room string, pos Position, m Message) (out Message) {
	if hs.frame == nil {
		return m
	}
	out = m
	func() {
		defer func() {
			if v := recover(); v != nil {
				out = m
				hs.h.logger().Error("wsgate: HistoryConfig.Frame panicked", "room", room, "panic", v)
				hs.h.callError(nil, &PanicError{Value: v, Stack: debug.Stack()})
			}
		}()
		out = hs.frame(room, pos, m)
	}()
	if !validType(out.Type) {
		return m
	}
	return out
}

// sendToRoom is SendToRoom for a room with a policy: the store gives the
// message its position, the Frame hook puts it in, then the message takes
// its place in the room's line here and goes to the other nodes.
func (h *Hub) sendToRoom(room string, p HistoryPolicy, m Message, opts []RouteOption) (int, error) {
	if !validType(m.Type) {
		return 0, errBadType
	}
	if h.shuttingDown() {
		return 0, ErrClosed
	}
	var r route
	for _, o := range opts {
		o(&r)
	}
	if r.where != nil {
		return 0, fmt.Errorf("%w: Where cannot select the sessions of room %q: its history is for every member", ErrHistory, room)
	}
	hs := &h.hist
	ctx, cancel := hs.ctx()
	pos, err := hs.store.Append(ctx, room, m, p)
	cancel()
	if err == nil && (pos.Offset == 0 || len(pos.Epoch) > maxEpochLen) {
		err = fmt.Errorf("store gave the invalid position %s", pos)
	}
	if err != nil {
		hs.stats.appendFailed.Add(1)
		return 0, fmt.Errorf("%w: appending to room %q: %w", ErrHistory, room, err)
	}
	hs.stats.appended.Add(1)
	fm := hs.framed(room, pos, m)
	e := Envelope{Node: h.node, Kind: ToRoom, Target: room, Except: r.except, Type: fm.Type, Data: fm.Data, Epoch: pos.Epoch, Offset: pos.Offset}
	n := h.deliverHistory(&e)
	if !h.cluster.on {
		return n, nil
	}
	return n, h.cluster.outbox.push(e)
}

// deliverHistory hands a positioned message to its room's line on this
// node and returns how many local members it is for.
func (h *Hub) deliverHistory(e *Envelope) int {
	m := &h.members
	m.mu.RLock()
	r := m.rooms[e.Target]
	var l *roomLine
	n := 0
	if r != nil {
		l = r.line
		for s := range r.members {
			if !slices.Contains(e.Except, s.id) {
				n++
			}
		}
	}
	m.mu.RUnlock()
	switch {
	case r == nil:
		return 0
	case l == nil: // this node gives the room no policy: deliver as it comes
		return h.deliver(e, nil, false)
	}
	l.offer(&lineItem{e: e})
	return n
}

// ReadHistory returns up to limit messages of room's history after since,
// oldest first, and the room's newest position. A zero since reads from
// the oldest message held; limit 0 returns only the position. When since
// cannot be continued without a gap (trimmed, another epoch) the error
// wraps ErrPositionLost and the position is still returned. Entries hold
// the messages as they were sent (before HistoryConfig.Frame). It waits
// for the store, at most HistoryConfig.Timeout.
func (h *Hub) ReadHistory(room string, since Position, limit int) ([]HistoryEntry, Position, error) {
	if err := checkRoomName(room); err != nil {
		return nil, Position{}, err
	}
	if !h.hist.on {
		return nil, Position{}, fmt.Errorf("%w: no HistoryConfig.Policy", ErrHistory)
	}
	if limit < 0 || limit > maxHistorySize {
		return nil, Position{}, fmt.Errorf("%w: limit %d must be 0 to %d", ErrHistory, limit, maxHistorySize)
	}
	ctx, cancel := h.hist.ctx()
	defer cancel()
	page, err := h.hist.store.Read(ctx, room, since, limit)
	if err != nil && !errors.Is(err, ErrPositionLost) {
		err = fmt.Errorf("%w: reading room %q: %w", ErrHistory, room, err)
	}
	return page.Entries, page.Top, err
}

// Recovery is what JoinFrom tells about a session's rejoin.
type Recovery struct {
	// Recovered is true when every message after the position asked for
	// was queued for the session, followed by the live messages, with no
	// gap and no duplicate. When false the session has joined live only
	// and must resynchronise: the application should send it the room's
	// full state.
	Recovered bool
	// Replayed is how many messages were queued from the history.
	Replayed int
	// Position is the position of the last message replayed (the position
	// asked for when none was missed); when not Recovered, the room's
	// newest position when the session joined, for the application's
	// snapshot.
	Position Position
	// Reason says why the session must resynchronise: it wraps
	// ErrPositionLost (no position given, trimmed, another epoch), or
	// ErrHistory (more missed than the session's queue holds, or the store
	// failed). Nil when Recovered.
	Reason error
}

// JoinFrom adds a session of this node to a room with history and queues
// for it every message the room had after since (the position of the last
// message the client saw, for example from HistoryConfig.Frame), then the
// live messages, with no gap and no duplicate even while any node keeps
// sending to the room. Messages routed to the room meanwhile are held for
// the session and released after the replay.
//
// When the messages cannot be replayed (since is zero, older than the
// history holds, of another epoch, or more messages were missed than
// Config.MaxQueuedMessages) the session joins live only and Recovery says
// it must resynchronise; that is not an error. The error is for a join
// that did not happen (a bad name, no such session, a room without a
// HistoryPolicy, too many rooms, a session already in the room) or for the
// broker (see Join: the session is then in the room). JoinFrom waits for
// the store and the broker, at most their timeouts, and for the messages
// routed to the room before it to be queued; do not call it from OnSlow or
// HistoryConfig.Frame, which run while they are.
//
// since usually comes from the client: an epoch longer than any store
// gives (64 bytes) is treated as no position.
func (h *Hub) JoinFrom(sessionID, room string, since Position) (Recovery, error) {
	if err := checkRoomName(room); err != nil {
		return Recovery{}, err
	}
	p, err := h.hist.roomPolicy(room)
	if err != nil {
		return Recovery{}, err
	}
	if p.Size == 0 {
		return Recovery{}, fmt.Errorf("%w: room %q has no history policy", ErrHistory, room)
	}
	s, ok := h.Session(sessionID)
	if !ok {
		return Recovery{}, fmt.Errorf("%w: %s (JoinFrom takes a session of this node)", ErrSessionNotFound, sessionID)
	}
	job := &replayJob{s: s, done: make(chan struct{})}
	l, err := h.joinReplaying(s, room, job)
	if err != nil {
		return Recovery{}, err
	}
	joinErr := h.cluster.interest.await(Channel{Kind: ToRoom, Name: room})
	if err := l.prime(); err != nil && joinErr == nil {
		joinErr = err
	}

	hs := &h.hist
	rec := h.readMissed(room, since, job)
	l.offer(&lineItem{job: job})
	<-job.done
	if job.overflowed {
		rec = Recovery{Position: rec.Position, Reason: fmt.Errorf("%w: more than %d messages arrived during the replay", ErrHistory, h.cfg.MaxQueuedMessages)}
		job.entries = nil
	}
	if rec.Recovered {
		hs.stats.recovered.Add(1)
		hs.stats.replayed.Add(uint64(rec.Replayed))
	} else {
		hs.stats.resynced.Add(1)
	}
	return rec, joinErr
}

// readMissed reads what the session missed into job and says whether it
// can be replayed.
func (h *Hub) readMissed(room string, since Position, job *replayJob) Recovery {
	hs := &h.hist
	max := h.cfg.MaxQueuedMessages
	if since.Epoch == "" || len(since.Epoch) > maxEpochLen {
		// No position, or one no store gives: the client's word is
		// not passed on to the store.
		_, top, err := h.ReadHistory(room, Position{}, 0)
		job.resyncAt(top)
		reason := fmt.Errorf("%w: no valid position given", ErrPositionLost)
		if err != nil {
			reason = err
		}
		return Recovery{Position: top, Reason: reason}
	}
	ctx, cancel := hs.ctx()
	defer cancel()
	var entries []HistoryEntry
	at := since
	for {
		page, err := hs.store.Read(ctx, room, at, max+1-len(entries))
		if err != nil {
			job.resyncAt(page.Top)
			if !errors.Is(err, ErrPositionLost) {
				err = fmt.Errorf("%w: reading room %q: %w", ErrHistory, room, err)
			}
			return Recovery{Position: page.Top, Reason: err}
		}
		entries = append(entries, page.Entries...)
		if len(entries) > max {
			job.resyncAt(page.Top)
			return Recovery{Position: page.Top, Reason: fmt.Errorf("%w: more than %d messages missed in room %q", ErrHistory, max, room)}
		}
		if len(entries) > 0 {
			at = entries[len(entries)-1].Position
		}
		if len(page.Entries) == 0 || at.Offset >= page.Top.Offset || at.Epoch != page.Top.Epoch {
			break
		}
	}
	job.epoch, job.last = since.Epoch, since.Offset
	job.entries = make([]lineMsg, len(entries))
	for i, en := range entries {
		fm := hs.framed(room, en.Position, en.Message)
		job.entries[i] = lineMsg{epoch: en.Epoch, off: en.Offset, o: newOutbound(fm)}
	}
	pos := since
	if len(entries) > 0 {
		pos = entries[len(entries)-1].Position
	}
	return Recovery{Recovered: true, Replayed: len(entries), Position: pos}
}
