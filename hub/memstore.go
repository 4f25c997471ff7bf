package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore is the in-process Store: each room's history is a bounded
// ring of its newest messages in this process's memory. It is the default
// for one node; several hubs in one process may share one (as the nodes
// of a MemoryBus cluster do, standing in for a Redis or NATS store). Its
// epochs are random, so a new MemoryStore (a restarted process) never
// continues an old one's positions.
type MemoryStore struct {
	maxRooms int
	now      func() time.Time

	mu        sync.Mutex // guards everything below
	rooms     map[string]*memRoom
	messages  int
	bytes     int64
	lastSweep time.Time
}

// MemoryStoreConfig configures a MemoryStore. The zero value is ready to
// use.
type MemoryStoreConfig struct {
	// MaxRooms bounds the rooms whose history is kept. When a new room
	// would pass it, the room appended to least recently is forgotten
	// whole (a reader of it is then told its position is lost). Zero
	// means 10,000.
	MaxRooms int
}

type memRoom struct {
	epoch   string
	top     uint64 // offset of the newest message appended
	policy  HistoryPolicy
	entries []memEntry // oldest first; entries[i].off == first+i
	touched time.Time  // last Append
}

type memEntry struct {
	off  uint64
	at   time.Time
	typ  MessageType
	data []byte
}

var (
	_ Store      = (*MemoryStore)(nil)
	_ StoreSizer = (*MemoryStore)(nil)
)

// sweepEvery is how often Append also drops expired messages of every room.
const sweepEvery = time.Second

// NewMemoryStore returns an empty store.
func NewMemoryStore(cfg MemoryStoreConfig) (*MemoryStore, error) {
	if cfg.MaxRooms < 0 {
		return nil, fmt.Errorf("%w: MemoryStoreConfig.MaxRooms must not be negative", ErrConfig)
	}
	if cfg.MaxRooms == 0 {
		cfg.MaxRooms = 10_000
	}
	return &MemoryStore{maxRooms: cfg.MaxRooms, now: time.Now, rooms: make(map[string]*memRoom)}, nil
}

func newEpoch() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Append adds m to room's history and returns its position (Store).
func (st *MemoryStore) Append(ctx context.Context, room string, m Message, p HistoryPolicy) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	if err := p.validate(); err != nil {
		return Position{}, err
	}
	if p.Size == 0 {
		return Position{}, fmt.Errorf("%w: room %q: policy keeps nothing", ErrHistory, room)
	}
	data := slices.Clone(m.Data)
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	if now.Sub(st.lastSweep) >= sweepEvery {
		st.lastSweep = now
		for name, r := range st.rooms {
			st.trimLocked(name, r, now)
		}
	}
	r := st.rooms[room]
	if r == nil {
		if len(st.rooms) >= st.maxRooms {
			st.evictLocked()
		}
		r = &memRoom{epoch: newEpoch()}
		st.rooms[room] = r
	}
	r.policy = p
	r.touched = now
	r.top++
	r.entries = append(r.entries, memEntry{off: r.top, at: now, typ: m.Type, data: data})
	st.messages++
	st.bytes += int64(len(data))
	st.trimLocked(room, r, now)
	return Position{Epoch: r.epoch, Offset: r.top}, nil
}

// trimLocked applies r's policy. A room whose every message expired is
// forgotten: its next message starts a new epoch, and readers of the old
// one are told their position is lost.
func (st *MemoryStore) trimLocked(name string, r *memRoom, now time.Time) {
	drop := 0
	if n := len(r.entries) - r.policy.Size; n > 0 {
		drop = n
	}
	if ttl := r.policy.TTL; ttl > 0 {
		for drop < len(r.entries) && now.Sub(r.entries[drop].at) >= ttl {
			drop++
		}
	}
	if drop > 0 {
		for i := range drop {
			st.messages--
			st.bytes -= int64(len(r.entries[i].data))
		}
		clear(r.entries[:drop])
		r.entries = r.entries[drop:]
		if len(r.entries) == 0 {
			r.entries = nil
		}
	}
	if len(r.entries) == 0 && r.policy.TTL > 0 && now.Sub(r.touched) >= r.policy.TTL {
		delete(st.rooms, name)
	}
}

// evictLocked forgets the room appended to least recently.
func (st *MemoryStore) evictLocked() {
	var oldest string
	var at time.Time
	first := true
	for name, r := range st.rooms {
		if first || r.touched.Before(at) {
			oldest, at, first = name, r.touched, false
		}
	}
	if r := st.rooms[oldest]; r != nil {
		for _, e := range r.entries {
			st.bytes -= int64(len(e.data))
		}
		st.messages -= len(r.entries)
		delete(st.rooms, oldest)
	}
}

// Read returns room's messages after since (Store).
func (st *MemoryStore) Read(ctx context.Context, room string, since Position, limit int) (HistoryPage, error) {
	if err := ctx.Err(); err != nil {
		return HistoryPage{}, err
	}
	if limit < 0 {
		return HistoryPage{}, fmt.Errorf("%w: negative limit %d", ErrHistory, limit)
	}
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	r := st.rooms[room]
	if r != nil {
		st.trimLocked(room, r, now)
		r = st.rooms[room]
	}
	if r == nil {
		// A room never seen (or forgotten) gets its epoch now, so that a
		// reader that starts before the first message keeps a position
		// the first Append continues.
		if len(st.rooms) >= st.maxRooms {
			st.evictLocked()
		}
		r = &memRoom{epoch: newEpoch(), touched: now}
		st.rooms[room] = r
	}
	page := HistoryPage{Top: Position{Epoch: r.epoch, Offset: r.top}}
	first := r.top + 1 // offset of the oldest message held
	if len(r.entries) > 0 {
		first = r.entries[0].off
	}
	from := first
	if since.Epoch != "" {
		switch {
		case since.Epoch != r.epoch, since.Offset > r.top, since.Offset+1 < first:
			return page, fmt.Errorf("%w: %s in room %q (history holds %d to %d of epoch %s)",
				ErrPositionLost, since, room, first, r.top, r.epoch)
		}
		from = since.Offset + 1
	}
	if limit == 0 || from > r.top {
		return page, nil
	}
	i := int(from - first)
	n := min(len(r.entries)-i, limit)
	page.Entries = make([]HistoryEntry, n)
	for k := range n {
		e := &r.entries[i+k]
		page.Entries[k] = HistoryEntry{Position: Position{Epoch: r.epoch, Offset: e.off}, Message: Message{Type: e.typ, Data: e.data}}
	}
	return page, nil
}

// HistorySize says how many rooms, messages and payload bytes the store
// holds (StoreSizer).
func (st *MemoryStore) HistorySize() (rooms, messages int, bytes int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.rooms), st.messages, st.bytes
}

// Reset forgets every room, as a store restarted without persistence
// would: every room's next message starts a new epoch, and readers of the
// old epochs are told their positions are lost.
func (st *MemoryStore) Reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	clear(st.rooms)
	st.messages, st.bytes = 0, 0
}

// Close does nothing: a MemoryStore holds no goroutine or connection, and
// the hubs that share it may close it one by one.
func (st *MemoryStore) Close() error { return nil }
