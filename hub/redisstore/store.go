package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
)

// Store is a hub.Store on Redis Streams: one stream per room with history
// and a small hash beside it holding the room's epoch and newest offset.
// Every node of a cluster uses a Store on the same Redis (and Prefix), so
// that positions are cluster-wide. It holds no goroutine; its methods are
// safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	prefix string
}

var _ hub.Store = (*Store)(nil)

// Bounds the store checks itself (the hub checks them too, but a Store may
// be used alone).
const (
	maxSize = 1 << 20
	// emptyRoomTTL is how long the epoch of a room read before its first
	// message is kept (see the package doc).
	emptyRoomTTL = 24 * time.Hour
)

// New returns a Store on cfg.Client. It does not talk to Redis: a server
// that is down makes Append and Read fail until it is back.
func New(cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Store{client: cfg.Client, prefix: cfg.Prefix}, nil
}

// keys returns the stream and meta keys of a room. They differ only after
// the room's name, so they share a Redis Cluster hash tag (the room's, or
// the prefix's if it has braces) and live on one slot, as a script
// touching both requires.
func (st *Store) keys(room string) []string {
	base := st.prefix + ":history:{" + room + "}"
	return []string{base + ":s", base + ":m"}
}

// newEpoch returns a random epoch: a room that loses its history and is
// created again never gets an epoch it had.
func newEpoch() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Append adds m to room's history, trimmed to p, and returns its position
// (hub.Store): one script call, which takes the next offset of the room
// and adds the entry under it atomically.
func (st *Store) Append(ctx context.Context, room string, m hub.Message, p hub.HistoryPolicy) (hub.Position, error) {
	switch {
	case p.Size <= 0 || p.Size > maxSize || p.TTL < 0:
		return hub.Position{}, fmt.Errorf("%w: redisstore: room %q: policy %+v: Size must be 1 to %d and TTL not negative", hub.ErrHistory, room, p, maxSize)
	case m.Type != hub.TextMessage && m.Type != hub.BinaryMessage:
		return hub.Position{}, fmt.Errorf("%w: redisstore: room %q: message type %d", hub.ErrHistory, room, m.Type)
	}
	ttl := p.TTL.Milliseconds()
	if p.TTL > 0 && ttl == 0 {
		ttl = 1 // Redis counts whole milliseconds
	}
	res, err := appendScript.Run(ctx, st.client, st.keys(room),
		newEpoch(), int(m.Type), m.Data, p.Size, ttl).Slice()
	if err != nil {
		return hub.Position{}, fmt.Errorf("redisstore: append to room %q: %w", room, err)
	}
	if len(res) != 2 {
		return hub.Position{}, fmt.Errorf("%w: append to room %q answered %v", ErrReply, room, res)
	}
	epoch, ok1 := res[0].(string)
	off, ok2 := res[1].(int64)
	if !ok1 || !ok2 || epoch == "" || off <= 0 {
		return hub.Position{}, fmt.Errorf("%w: append to room %q answered %v", ErrReply, room, res)
	}
	return hub.Position{Epoch: epoch, Offset: uint64(off)}, nil
}

// Read returns room's messages after since (hub.Store): one script call,
// which also drops the messages older than the room's TTL.
func (st *Store) Read(ctx context.Context, room string, since hub.Position, limit int) (hub.HistoryPage, error) {
	if limit < 0 {
		return hub.HistoryPage{}, fmt.Errorf("%w: redisstore: negative limit %d", hub.ErrHistory, limit)
	}
	res, err := readScript.Run(ctx, st.client, st.keys(room),
		newEpoch(), since.Epoch, strconv.FormatUint(since.Offset, 10), limit, emptyRoomTTL.Milliseconds()).Slice()
	if err != nil {
		return hub.HistoryPage{}, fmt.Errorf("redisstore: read room %q: %w", room, err)
	}
	bad := func() (hub.HistoryPage, error) {
		return hub.HistoryPage{}, fmt.Errorf("%w: read of room %q answered %v", ErrReply, room, res)
	}
	if len(res) < 3 {
		return bad()
	}
	lost, ok1 := res[0].(int64)
	epoch, ok2 := res[1].(string)
	top, ok3 := res[2].(int64)
	if !ok1 || !ok2 || !ok3 || epoch == "" || top < 0 {
		return bad()
	}
	page := hub.HistoryPage{Top: hub.Position{Epoch: epoch, Offset: uint64(top)}}
	if lost == 1 {
		return page, fmt.Errorf("%w: redisstore: %s in room %q (room at %s)", hub.ErrPositionLost, since, room, page.Top)
	}
	if len(res) < 4 {
		return page, nil
	}
	raw, ok := res[3].([]any)
	if !ok {
		return bad()
	}
	page.Entries = make([]hub.HistoryEntry, 0, len(raw))
	for _, r := range raw {
		e, ok := parseEntry(r)
		if !ok {
			return bad()
		}
		e.Epoch = epoch
		page.Entries = append(page.Entries, e)
	}
	return page, nil
}

// parseEntry reads one XRANGE entry: ["<offset>-0", ["t", type, "d", data, "a", ms]].
func parseEntry(r any) (hub.HistoryEntry, bool) {
	var e hub.HistoryEntry
	pair, ok := r.([]any)
	if !ok || len(pair) != 2 {
		return e, false
	}
	id, _ := pair[0].(string)
	offPart, _, _ := strings.Cut(id, "-")
	off, err := strconv.ParseUint(offPart, 10, 64)
	if err != nil || off == 0 {
		return e, false
	}
	fields, ok := pair[1].([]any)
	if !ok {
		return e, false
	}
	var typ, data string
	var haveType, haveData bool
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		v, ok := fields[i+1].(string)
		if !ok {
			return e, false
		}
		switch k {
		case "t":
			typ, haveType = v, true
		case "d":
			data, haveData = v, true
		}
	}
	t, err := strconv.Atoi(typ)
	if !haveType || !haveData || err != nil || (hub.MessageType(t) != hub.TextMessage && hub.MessageType(t) != hub.BinaryMessage) {
		return e, false
	}
	e.Offset = off
	e.Message = hub.Message{Type: hub.MessageType(t), Data: []byte(data)}
	return e, true
}

// Close does nothing: the store holds no goroutine, and the client is the
// caller's to close. The hubs sharing a Store may each close it, and it
// keeps serving the others.
func (st *Store) Close() error { return nil }
