package natsbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wsgate/wsgate/hub"
)

// Presence design. One JetStream stream holds one message per member
// (subject <prefix>.presence.<room>.<session>, at most one message per
// subject), written with a per-message TTL: the server removes a member
// whose node stopped refreshing it, so expiry needs no live node and no
// clock but the server's. Per-node heartbeat keys were the alternative;
// they would make every query filter members against heartbeats, and a
// dead node's members would still sit in the stream. Queries read the
// stream through its direct-get API in pages, one request per page, and
// never ask another node.

// presencePage is how many members one direct-get request returns.
const presencePage = 512

// minTTL is the smallest per-message TTL the server accepts.
const minTTL = time.Second

// ensurePresence creates (or updates) the presence stream once and
// returns it.
func (b *Broker) ensurePresence(ctx context.Context) (jetstream.Stream, error) {
	if err := b.usable(); err != nil {
		return nil, err
	}
	if !b.nc.IsConnected() {
		return nil, ErrNotConnected
	}
	b.presenceMu.Lock()
	stream := b.presence
	b.presenceMu.Unlock()
	if stream != nil {
		return stream, nil
	}
	// Not under presenceMu (no lock during I/O): calls that race here
	// all create it, which CreateOrUpdateStream makes harmless.
	stream, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              b.cfg.PresenceStream,
		Description:       "wsgate presence: one message per room member, each with a TTL",
		Subjects:          []string{b.subj.presenceAll()},
		Storage:           b.cfg.PresenceStorage,
		Replicas:          b.cfg.PresenceReplicas,
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardOld,
		AllowMsgTTL:       true,
		AllowDirect:       true,
	})
	if err != nil { // b.presence stays nil: the next call tries again
		if errors.Is(err, nats.ErrConnectionClosed) {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("%w: creating stream %s: %w", ErrPresence, b.cfg.PresenceStream, err)
	}
	b.presenceMu.Lock()
	b.presence = stream
	b.presenceMu.Unlock()
	return stream, nil
}

// presenceErr wraps an error of a presence call, and forgets the stream
// when the server no longer has it.
func (b *Broker) presenceErr(what string, err error) error {
	if errors.Is(err, nats.ErrConnectionClosed) {
		return ErrClosed
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		// The stream or JetStream went away (a server restarted with
		// memory storage): create it again on the next call.
		b.presenceMu.Lock()
		b.presence = nil
		b.presenceMu.Unlock()
	}
	return fmt.Errorf("%w: %s: %w", ErrPresence, what, err)
}

// AddPresence writes each member with a TTL of ttl (at least one second,
// the server's smallest), replacing the member's earlier record, and
// returns once the server stored all of them.
func (b *Broker) AddPresence(ctx context.Context, room string, members []hub.Member, ttl time.Duration) error {
	if _, err := b.ensurePresence(ctx); err != nil {
		return err
	}
	if ttl < minTTL {
		ttl = minTTL
	}
	// Async publishes, acknowledged together: one round trip for the lot,
	// in chunks below nats.go's limit on outstanding acks.
	const chunk = 1000
	for len(members) > 0 {
		n := min(len(members), chunk)
		futures := make([]jetstream.PubAckFuture, 0, n)
		for i := range members[:n] {
			m := &members[i]
			data, err := m.MarshalBinary()
			if err != nil {
				return fmt.Errorf("natsbroker: %w", err)
			}
			f, err := b.js.PublishMsgAsync(&nats.Msg{Subject: b.subj.presenceMember(room, m.SessionID), Data: data},
				jetstream.WithMsgTTL(ttl), jetstream.WithExpectStream(b.cfg.PresenceStream))
			if err != nil {
				return b.presenceErr("adding members", err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return b.presenceErr("adding members", err)
			case <-ctx.Done():
				return fmt.Errorf("%w: adding members: %w", ErrPresence, ctx.Err())
			}
		}
		members = members[n:]
	}
	return nil
}

// RemovePresence removes members by session ID: one purge request each.
func (b *Broker) RemovePresence(ctx context.Context, room string, sessionIDs []string) error {
	stream, err := b.ensurePresence(ctx)
	if err != nil {
		return err
	}
	for _, id := range sessionIDs {
		if err := stream.Purge(ctx, jetstream.WithPurgeSubject(b.subj.presenceMember(room, id))); err != nil {
			return b.presenceErr("removing members", err)
		}
	}
	return nil
}

// Presence returns the room's members, reading the stream one page of 512
// members per request.
func (b *Broker) Presence(ctx context.Context, room string) ([]hub.Member, error) {
	if _, err := b.ensurePresence(ctx); err != nil {
		return nil, err
	}
	var out []hub.Member
	var seq uint64
	for {
		n, next, more, err := b.directGet(ctx, room, seq, presencePage, func(m *nats.Msg) error {
			var mem hub.Member
			if err := mem.UnmarshalBinary(m.Data); err != nil {
				return err
			}
			mem.Info = append([]byte(nil), mem.Info...) // Data is the message's
			out = append(out, mem)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if n == 0 || !more {
			return out, nil
		}
		seq = next
	}
}

// PresenceCount returns how many members the room has with one request
// that transfers at most one of them: the server reports how many more
// match.
func (b *Broker) PresenceCount(ctx context.Context, room string) (int, error) {
	if _, err := b.ensurePresence(ctx); err != nil {
		return 0, err
	}
	n, pending, err := b.directCount(ctx, room)
	return n + pending, err
}

// directGet asks the stream for up to batch members of room from sequence
// seq on, calls each for each, and returns how many it got, the sequence to
// continue from, and whether more are pending.
func (b *Broker) directGet(ctx context.Context, room string, seq uint64, batch int,
	each func(*nats.Msg) error) (n int, next uint64, more bool, err error) {
	n, pending, last, err := b.direct(ctx, room, seq, batch, each)
	return n, last + 1, pending > 0, err
}

func (b *Broker) directCount(ctx context.Context, room string) (n, pending int, err error) {
	n, p, _, err := b.direct(ctx, room, 0, 1, func(*nats.Msg) error { return nil })
	return n, int(p), err
}

// direct sends one batched direct-get request (next message by subject
// from seq, batch of them) and reads the replies up to the end-of-batch
// status, which carries the number still pending and the last sequence.
func (b *Broker) direct(ctx context.Context, room string, seq uint64, batch int,
	each func(*nats.Msg) error) (n int, pending, last uint64, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.Timeout)
		defer cancel()
	}
	req, _ := json.Marshal(struct {
		Seq     uint64 `json:"seq,omitempty"`
		NextFor string `json:"next_by_subj"`
		Batch   int    `json:"batch"`
	}{seq, b.subj.presenceRoom(room), batch})
	inbox := b.nc.NewInbox()
	sub, err := b.nc.SubscribeSync(inbox)
	if err != nil {
		return 0, 0, 0, b.presenceErr("querying", err)
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(batch+2, -1); err != nil {
		return 0, 0, 0, b.presenceErr("querying", err)
	}
	if err := b.nc.PublishRequest("$JS.API.DIRECT.GET."+b.cfg.PresenceStream, inbox, req); err != nil {
		return 0, 0, 0, b.presenceErr("querying", err)
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return 0, 0, 0, b.presenceErr("querying", err)
		}
		switch status := m.Header.Get("Status"); status {
		case "":
			if err := each(m); err != nil {
				return 0, 0, 0, fmt.Errorf("%w: stored member: %w", ErrPresence, err)
			}
			n++
			if s, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64); err == nil {
				last = s
			}
		case "204": // end of batch
			pending, _ = strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
			if s, err := strconv.ParseUint(m.Header.Get("Nats-Last-Sequence"), 10, 64); err == nil && s > last {
				last = s
			}
			return n, pending, last, nil
		case "404": // no member (left)
			return n, 0, last, nil
		case "503": // no stream to answer (a restarted memory-only server)
			return 0, 0, 0, b.presenceErr("querying", nats.ErrNoResponders)
		default:
			return 0, 0, 0, fmt.Errorf("%w: querying: status %s %s", ErrPresence, status, m.Header.Get("Description"))
		}
	}
}
