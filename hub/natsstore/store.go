package natsstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
)

// Store is a hub.Store on a NATS JetStream stream. Create it with New;
// every node of a cluster creates its own, on the same server (or
// cluster) and Config, and gives it to its hub in hub.HistoryConfig.Store.
// A Store holds one connection and serves one hub, which closes it in
// Shutdown: give each hub of a process its own (a Store shared by two
// hubs fails with ErrClosed once the first one shuts down).
type Store struct {
	cfg       Config
	nc        *nats.Conn
	js        jetstream.JetStream
	prefix    string // cfg.Prefix + "."
	directGet string // the stream's direct-get API subject

	mu    sync.Mutex         // guards tops
	tops  map[string]roomTop // room subject -> its newest message, as last seen
	close sync.Once
	done  atomic.Bool
}

// roomTop is the newest message of a room as this client last saw it.
type roomTop struct {
	seq   uint64 // stream sequence
	epoch string
	off   uint64
	gen   uint64 // the connection's reconnect count when seen
}

var _ hub.Store = (*Store)(nil)

// maxAttempts bounds the publishes one Append tries while other nodes
// keep taking the room's next offset first.
const maxAttempts = 1000

// New connects to the server and creates the stream if it does not
// exist. It fails, wrapping ErrConfig, on an invalid Config (naming the
// field), and wrapping ErrServer when the server cannot be reached within
// Config.Timeout or has no JetStream.
func New(cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	log := cfg.Logger
	opts := append([]nats.Option{}, cfg.Options...)
	opts = append(opts,
		nats.Timeout(cfg.Timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.ReconnectWait),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: the store's own Close
				log.Warn("natsstore: disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("natsstore: reconnected") }),
	)
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: connecting to %s: %w", ErrServer, cfg.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w: %w", ErrServer, err)
	}
	st := &Store{
		cfg:       cfg,
		nc:        nc,
		js:        js,
		prefix:    cfg.Prefix + ".",
		directGet: "$JS.API.DIRECT.GET." + cfg.Stream,
		tops:      make(map[string]roomTop),
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	if err := st.ensureStream(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return st, nil
}

// ensureStream creates the stream, or finds it created.
func (st *Store) ensureStream(ctx context.Context) error {
	c := st.cfg
	_, err := st.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:              c.Stream,
		Description:       "wsgate room history (hub/natsstore)",
		Subjects:          []string{c.Prefix + ".>"},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: int64(c.MaxMsgsPerRoom),
		MaxAge:            c.MaxAge,
		MaxBytes:          c.MaxBytes,
		Storage:           c.Storage,
		Replicas:          c.Replicas,
		Duplicates:        min(c.MaxAge, 2*time.Minute),
		AllowDirect:       true,
		AllowMsgTTL:       true,
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("%w: creating stream %s: %w", ErrServer, c.Stream, err)
	}
	if err != nil {
		st.cfg.Logger.Warn("natsstore: the stream exists with another configuration; using it", "stream", c.Stream)
	}
	return nil
}

func newEpoch() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// subject is the room's subject: its name encoded as natsbroker encodes
// it, so a room is one literal token whatever its bytes.
func (st *Store) subject(room string) string { return st.prefix + natsbroker.EncodeToken(room) }

func (st *Store) gen() uint64 { return st.nc.Stats().Reconnects }

// cached returns what this client last saw of a room, unless the
// connection has been lost since (the server may have lost the stream).
func (st *Store) cached(subj string) (roomTop, bool) {
	g := st.gen()
	st.mu.Lock()
	defer st.mu.Unlock()
	t, ok := st.tops[subj]
	if ok && t.gen != g {
		delete(st.tops, subj)
		ok = false
	}
	return t, ok
}

func (st *Store) remember(subj string, t roomTop) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.tops[subj]; !ok && len(st.tops) >= st.cfg.MaxCachedRooms {
		clear(st.tops)
	}
	st.tops[subj] = t
}

func (st *Store) forget(subj string) {
	st.mu.Lock()
	delete(st.tops, subj)
	st.mu.Unlock()
}

// isWrongLast reports a publish refused because another message took the
// room's next offset first.
func isWrongLast(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Append adds m to room's history and returns its position (hub.Store).
//
// The room's next offset is one more than the offset in the header of
// its newest message; the publish carries that offset and expects the
// room's subject to still end at that newest message
// (Nats-Expected-Last-Subject-Sequence), so the server stores it only if
// no other node took the offset first. Else Append reads the room's new
// newest message and tries again. This client remembers each room's
// newest message, so an Append to a room that only it writes costs one
// round trip. A room with no message starts a new random epoch at offset
// 1 (the stream was lost, or every message expired).
func (st *Store) Append(ctx context.Context, room string, m hub.Message, p hub.HistoryPolicy) (hub.Position, error) {
	if st.done.Load() {
		return hub.Position{}, ErrClosed
	}
	switch {
	case p.Size <= 0 || p.TTL < 0:
		return hub.Position{}, fmt.Errorf("%w: room %q: policy %+v keeps nothing", ErrPolicy, room, p)
	case p.Size > st.cfg.MaxMsgsPerRoom:
		return hub.Position{}, fmt.Errorf("%w: room %q: policy Size %d is more than Config.MaxMsgsPerRoom %d", ErrPolicy, room, p.Size, st.cfg.MaxMsgsPerRoom)
	}
	ctx, stop := st.watchConn(ctx)
	defer stop()
	pos, err := st.append(ctx, room, m, p)
	return pos, connErr(ctx, fmt.Sprintf("appending to room %q", room), err)
}

// append is Append once the policy is checked, under watchConn.
func (st *Store) append(ctx context.Context, room string, m hub.Message, p hub.HistoryPolicy) (hub.Position, error) {
	subj := st.subject(room)
	typ := "t"
	if m.Type == hub.BinaryMessage {
		typ = "b"
	}
	var ttl time.Duration
	if p.TTL > 0 && p.TTL < st.cfg.MaxAge {
		ttl = (p.TTL + time.Second - 1).Truncate(time.Second) // the server counts whole seconds
	}
	size := strconv.Itoa(p.Size)
	created := false
	for attempt := 0; attempt < maxAttempts; attempt++ {
		top, ok := st.cached(subj)
		if !ok {
			g := st.gen()
			last, err := st.last(ctx, subj)
			switch {
			case err == nil:
				top = roomTop{seq: last.seq, epoch: last.epoch, off: last.off, gen: g}
			case errors.Is(err, errNotFound), errors.Is(err, errNoStream):
				top = roomTop{gen: g} // no message: a new epoch
			default:
				return hub.Position{}, err
			}
		}
		pos := hub.Position{Epoch: top.epoch, Offset: top.off + 1}
		if top.seq == 0 {
			pos = hub.Position{Epoch: newEpoch(), Offset: 1}
		}
		msg := nats.NewMsg(subj)
		msg.Header.Set(hdrEpoch, pos.Epoch)
		msg.Header.Set(hdrOffset, strconv.FormatUint(pos.Offset, 10))
		msg.Header.Set(hdrSize, size)
		msg.Header.Set(hdrType, typ)
		msg.Data = m.Data // nats.go copies it into its write buffer
		popts := []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(top.seq)}
		if ttl > 0 {
			popts = append(popts, jetstream.WithMsgTTL(ttl))
		}
		ack, err := st.js.PublishMsg(ctx, msg, popts...)
		switch {
		case err == nil:
			st.remember(subj, roomTop{seq: ack.Sequence, epoch: pos.Epoch, off: pos.Offset, gen: top.gen})
			st.trim(ctx, subj, pos.Offset, p.Size)
			return pos, nil
		case isWrongLast(err):
			st.forget(subj)
		case errors.Is(err, jetstream.ErrNoStreamResponse) && !created:
			// The stream is gone (a server restarted without its
			// store): create it again; every room starts a new epoch.
			st.forget(subj)
			if err := st.ensureStream(ctx); err != nil {
				return hub.Position{}, err
			}
			created = true
		default:
			return hub.Position{}, fmt.Errorf("%w: appending to room %q: %w", ErrServer, room, err)
		}
		if err := ctx.Err(); err != nil {
			return hub.Position{}, fmt.Errorf("%w: appending to room %q: %w", ErrServer, room, err)
		}
	}
	return hub.Position{}, fmt.Errorf("%w: appending to room %q: other clients took the next offset %d times", ErrServer, room, maxAttempts)
}

// trimEvery is the least number of appends between two purges of a room.
const trimEvery = 64

// trim purges a room down to size messages every max(size, trimEvery)
// appends, so that the server holds at most about twice the policy (Read
// never returns more than size in any case). A failure is only logged:
// the message is stored, and the next purge catches up.
func (st *Store) trim(ctx context.Context, subj string, off uint64, size int) {
	every := uint64(max(size, trimEvery))
	if off <= uint64(size) || off%every != 0 {
		return
	}
	body, _ := json.Marshal(struct {
		Filter string `json:"filter"`
		Keep   uint64 `json:"keep"`
	}{subj, uint64(size)})
	if _, err := st.request(ctx, "$JS.API.STREAM.PURGE."+st.cfg.Stream, body); err != nil {
		st.cfg.Logger.Warn("natsstore: trimming a room", "subject", subj, "err", err)
	}
}

// Read returns room's messages after since (hub.Store).
//
// It reads the room's newest message (its header gives the epoch, the
// newest offset and the policy size), finds the stream sequence of the
// first message wanted by a few lookups of "the room's first message at
// or after sequence s" (interpolating between messages already seen),
// then reads the page in one batch.
func (st *Store) Read(ctx context.Context, room string, since hub.Position, limit int) (hub.HistoryPage, error) {
	if st.done.Load() {
		return hub.HistoryPage{}, ErrClosed
	}
	if limit < 0 {
		return hub.HistoryPage{}, fmt.Errorf("%w: negative limit %d", hub.ErrHistory, limit)
	}
	ctx, stop := st.watchConn(ctx)
	defer stop()
	page, err := st.read(ctx, room, since, limit)
	return page, connErr(ctx, fmt.Sprintf("reading room %q", room), err)
}

// read is Read once the limit is checked, under watchConn.
func (st *Store) read(ctx context.Context, room string, since hub.Position, limit int) (hub.HistoryPage, error) {
	subj := st.subject(room)
	g := st.gen()
	last, err := st.last(ctx, subj)
	var page hub.HistoryPage
	switch {
	case errors.Is(err, errNotFound), errors.Is(err, errNoStream):
		// No message: the room is new, expired, or the stream was lost.
		// Its next message starts a new epoch, so only "nothing seen"
		// can be continued.
		page.Top = hub.Position{Epoch: newEpoch()}
		if since.Epoch != "" && since.Offset > 0 {
			return page, fmt.Errorf("%w: %s in room %q, which holds no message", hub.ErrPositionLost, since, room)
		}
		return page, nil
	case err != nil:
		return page, fmt.Errorf("reading room %q: %w", room, err)
	}
	st.remember(subj, roomTop{seq: last.seq, epoch: last.epoch, off: last.off, gen: g})
	page.Top = hub.Position{Epoch: last.epoch, Offset: last.off}
	first := uint64(1) // the oldest offset the policy keeps
	if last.size > 0 && last.off > last.size {
		first = last.off - last.size + 1
	}
	from := first
	if since.Epoch != "" {
		if since.Epoch != last.epoch || since.Offset > last.off || since.Offset+1 < first {
			return page, fmt.Errorf("%w: %s in room %q (history keeps %d to %d of epoch %s)",
				hub.ErrPositionLost, since, room, first, last.off, last.epoch)
		}
		from = since.Offset + 1
	}
	if limit == 0 || from > last.off {
		return page, nil
	}
	seq, off, err := st.locate(ctx, subj, from, last)
	if err != nil {
		return page, fmt.Errorf("reading room %q: %w", room, err)
	}
	if off != from && since.Epoch != "" {
		return page, fmt.Errorf("%w: %s in room %q (the server no longer holds offset %d)", hub.ErrPositionLost, since, room, from)
	}
	n := int(min(uint64(limit), last.off-off+1))
	got, err := st.batch(ctx, subj, seq, n)
	if err != nil && !errors.Is(err, errNotFound) {
		return page, fmt.Errorf("reading room %q: %w", room, err)
	}
	page.Entries = make([]hub.HistoryEntry, 0, len(got))
	want := off
	for _, s := range got {
		if s.epoch != last.epoch || s.off != want {
			break // expired meanwhile: the reader continues from here and is told
		}
		page.Entries = append(page.Entries, hub.HistoryEntry{
			Position: hub.Position{Epoch: s.epoch, Offset: s.off},
			Message:  hub.Message{Type: s.typ, Data: s.data},
		})
		want++
	}
	return page, nil
}

// maxProbes bounds the lookups of one locate.
const maxProbes = 128

// locate returns the stream sequence and offset of the room's first
// message whose offset is at least target, given its newest message.
// Offsets grow with stream sequences, at most one per sequence, so the
// message at offset o sits above the last message seen below o and at or
// below both s-1 for any probe at s that found a higher offset and
// seq-(off-o) for any message seen above o. Each probe ("the room's first
// message at or after sequence s") narrows that window; probes alternate
// between interpolating by offset and bisecting, so a room spread evenly
// through the stream takes one or two and any room O(log n).
func (st *Store) locate(ctx context.Context, subj string, target uint64, last stored) (uint64, uint64, error) {
	type point struct{ seq, off uint64 }
	lo, hi := point{0, 0}, point{last.seq, last.off} // messages below and above target
	ub := hi.seq - (hi.off - target)                 // the highest sequence target can have
	guess := ub
	for probe := 0; probe < maxProbes; probe++ {
		if hi.off == target {
			return hi.seq, hi.off, nil
		}
		if ub <= lo.seq { // target is not held: the first message after lo
			m, err := st.next(ctx, subj, lo.seq+1)
			if err != nil {
				return 0, 0, err
			}
			return m.seq, m.off, nil
		}
		s := min(max(guess, lo.seq+1), ub)
		m, err := st.next(ctx, subj, s)
		if err != nil {
			return 0, 0, err
		}
		switch {
		case m.off == target:
			return m.seq, m.off, nil
		case m.off > target:
			if m.seq > hi.seq { // the room changed under us
				return 0, 0, fmt.Errorf("%w: room subject %s changed during a read", ErrServer, subj)
			}
			hi = point{m.seq, m.off}
			ub = min(ub, s-1, m.seq-(m.off-target))
		default:
			lo = point{m.seq, m.off}
		}
		if probe%2 == 0 && hi.off > lo.off {
			frac := float64(target-lo.off) / float64(hi.off-lo.off)
			guess = lo.seq + uint64(frac*float64(hi.seq-lo.seq))
		} else {
			guess = lo.seq + 1 + (ub-lo.seq)/2
		}
	}
	return 0, 0, fmt.Errorf("%w: room subject %s: offset %d not found in %d lookups", ErrServer, subj, target, maxProbes)
}

// Close closes the connection; later calls fail with ErrClosed. It is
// safe to call more than once.
func (st *Store) Close() error {
	st.close.Do(func() {
		st.done.Store(true)
		st.nc.Close()
	})
	return nil
}
