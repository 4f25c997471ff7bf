package hub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrPositionLost is returned by Store.Read, Hub.ReadHistory and
// Hub.JoinFrom (in Recovery.Err) when the position asked for cannot be
// continued without a gap: it is older than the oldest message the
// history holds (trimmed by size or age), of another epoch (the history
// was lost, for example a store restarted without persistence), or ahead
// of the newest message. The reader must resynchronise from scratch.
var ErrPositionLost = errors.New("hub: history position lost")

// ErrHistory wraps every other error of the history side: a store that
// failed or did not answer in time, a room without history, an invalid
// policy.
var ErrHistory = errors.New("hub: history")

// maxHistorySize bounds HistoryPolicy.Size.
const maxHistorySize = 1 << 20

// maxEpochLen bounds an epoch, on the wire and from a store.
const maxEpochLen = 64

// Position is where a message sits in a room's history. Offsets start at
// 1 and grow by one per message in the room, across every node of a
// cluster (the Store assigns them). The epoch names one life of the
// room's history: when the history is lost (a store restarted without
// persistence, a room that expired and was created again), the epoch
// changes and offsets start again from 1.
//
// The zero Position means "no position": a reader that has seen nothing.
// Offset 0 with an epoch is the position before the room's first message.
type Position struct {
	Epoch  string
	Offset uint64
}

// String returns "offset@epoch".
func (p Position) String() string { return strconv.FormatUint(p.Offset, 10) + "@" + p.Epoch }

// HistoryPolicy is how much of a room's traffic its history keeps. The
// zero value keeps nothing: the room has no history, and routing to it
// costs what it costs without history.
type HistoryPolicy struct {
	// Size is how many of the newest messages are kept; older ones are
	// trimmed. Zero means no history; at most 1,048,576.
	Size int
	// TTL is how long a message is kept. Zero means no age limit (only
	// Size trims).
	TTL time.Duration
}

func (p HistoryPolicy) validate() error {
	if p.Size < 0 || p.Size > maxHistorySize || p.TTL < 0 {
		return fmt.Errorf("%w: policy %+v: Size must be 0 to %d and TTL not negative", ErrHistory, p, maxHistorySize)
	}
	return nil
}

// HistoryEntry is one message of a room's history with its position.
type HistoryEntry struct {
	Position
	Message
}

// HistoryPage is what Store.Read returns.
type HistoryPage struct {
	// Entries are the messages after the position asked for, oldest
	// first, offsets consecutive. The caller must not modify their Data.
	Entries []HistoryEntry
	// Top is the room's newest position: the epoch now and the offset of
	// the newest message appended (0 when none has been). A room the
	// store has never seen has a fresh epoch and offset 0.
	Top Position
}

// Store keeps the history of the rooms that have a HistoryPolicy and gives
// their messages positions. HistoryConfig.Store sets it; nil means an
// in-process MemoryStore, which serves one node. In a cluster every node
// must use the same store (Redis, NATS JetStream), so that positions are
// cluster-wide: New refuses a Broker without a Store. hub/storetest is the
// conformance suite every store runs.
//
// # Positions
//
// Append gives each message of a room the next offset of the room's
// current epoch: one more than the previous message's, whichever node
// appended it, with no offset skipped or used twice, and stores it under
// that position atomically (a Redis store does both in one script; a
// JetStream store takes them from the stream). When a room's history is
// lost (the store restarted without persistence, or the room expired
// entirely and is created again) the room gets a new epoch and offsets
// start again from 1; an epoch is never reused for the same room.
//
// # Trimming
//
// Append trims the room to the policy it is given: at most p.Size of the
// newest messages, none older than p.TTL (when set). A store may keep a
// few more than Size (Redis MAXLEN ~) but never fewer while they are not
// expired. Read never returns an expired message.
//
// # Reading
//
// Read returns the messages after since, oldest first, at most limit of
// them, and the room's Top. A limit of 0 returns only Top (a cheap way to
// learn where a room is). With since.Epoch empty it reads from the oldest
// message held. It returns an error wrapping ErrPositionLost, together
// with a page holding Top, when since cannot be continued without a gap:
// since.Epoch is not the room's epoch, since.Offset+1 is older than the
// oldest message held while messages after since.Offset have been
// appended, or since.Offset is beyond Top.Offset.
//
// # Concurrency and lifetime
//
// Every method is safe for concurrent use and bounded by ctx. Append must
// not keep m.Data after it returns unless it copies it. The hub calls
// Close once in Shutdown, after its last Append and Read; a store shared
// by several hubs (as every node of a cluster does) must tolerate one
// Close per hub and keep serving the others, or ignore Close and be closed
// by its owner.
type Store interface {
	Append(ctx context.Context, room string, m Message, p HistoryPolicy) (Position, error)
	Read(ctx context.Context, room string, since Position, limit int) (HistoryPage, error)
	Close() error
}

// StoreSizer is an optional Store capability: how much history it holds,
// for Stats and metrics. It must answer from memory, without the network
// (the hub calls it on every Stats call).
type StoreSizer interface {
	HistorySize() (rooms, messages int, bytes int64)
}

// HistoryConfig turns history and recovery on for the rooms the
// application chooses.
type HistoryConfig struct {
	// Policy returns the history policy of a room; a zero policy means the
	// room has no history. It is called on each SendToRoom and on each
	// room's first local Join, so it must be fast and return the same
	// policy for a room on every node. Nil means no room has history.
	Policy func(room string) HistoryPolicy
	// Store keeps the history and assigns positions. Nil means an
	// in-process MemoryStore with its defaults, which is valid only
	// without a Broker (New refuses a Broker without a Store).
	Store Store
	// Frame puts a message's position into the message, so that clients
	// learn the position from which they will rejoin. It is applied once
	// per message routed to a room with history (not once per session),
	// and again to each message read back from the store (a replay, or a
	// gap refilled), so it must be deterministic: the same room, position
	// and message give the same bytes. It must not modify m.Data; it
	// returns a new message. Nil sends messages as they are.
	Frame func(room string, pos Position, m Message) Message
	// Timeout bounds each call to the store. Zero means Config.BrokerTimeout.
	Timeout time.Duration
}
