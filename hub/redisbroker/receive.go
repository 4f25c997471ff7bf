package redisbroker

import (
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
)

// Stats counts what a broker has sent and received since New. Received
// minus Delivered is the traffic Redis sent this node that it did not need:
// Own + Filtered + Duplicates + Malformed.
type Stats struct {
	Published     uint64 // envelopes Redis accepted from this node
	PublishErrors uint64 // envelopes Publish or PublishBatch failed to hand over

	Received      uint64 // messages read from Redis
	ReceivedBytes uint64 // their payload bytes
	Delivered     uint64 // envelopes handed to the hub
	// Own counts this node's own envelopes that Redis echoed back on a
	// channel it also subscribes to (ToAll, its rooms, its topics); they are
	// dropped.
	Own uint64
	// Filtered counts topic envelopes that a node's Redis glob matched but
	// none of its hub patterns does: "a.*.c" is the glob "a.*.c", which also
	// matches "a.b.x.c". They are dropped; this is the over-delivery of
	// mapping hub wildcards to Redis globs. With Config.SubscribeAll it
	// also counts every room and topic envelope the hub did not subscribe
	// to.
	Filtered uint64
	// Duplicates counts the extra copies Redis sends of one topic envelope
	// when several of a node's patterns match its subject (one per
	// pattern); one copy is delivered.
	Duplicates uint64
	// Malformed counts payloads that are not an envelope, or whose kind or
	// target does not fit the channel they came on.
	Malformed uint64
	// DroppedBytes is the payload bytes of Own, Filtered, Duplicates and
	// Malformed.
	DroppedBytes uint64

	Disconnects uint64 // subscriber connections lost after being up
	Reconnects  uint64 // times the broker was whole again (host.Reconnected)
}

type counters struct {
	published, publishErrors              atomic.Uint64
	received, receivedBytes, delivered    atomic.Uint64
	own, filtered, duplicates, malformed  atomic.Uint64
	droppedBytes, disconnects, reconnects atomic.Uint64
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	c := &b.stats
	return Stats{
		Published: c.published.Load(), PublishErrors: c.publishErrors.Load(),
		Received: c.received.Load(), ReceivedBytes: c.receivedBytes.Load(), Delivered: c.delivered.Load(),
		Own: c.own.Load(), Filtered: c.filtered.Load(), Duplicates: c.duplicates.Load(), Malformed: c.malformed.Load(),
		DroppedBytes: c.droppedBytes.Load(), Disconnects: c.disconnects.Load(), Reconnects: c.reconnects.Load(),
	}
}

// receive checks one message from Redis and hands it to the hub. It runs on
// the subscriber's goroutine; active holds the globs the server has
// confirmed on that connection, in the server's order.
func (b *Broker) receive(m *redis.Message, active map[string]struct{}) {
	n := uint64(len(m.Payload))
	b.stats.received.Add(1)
	b.stats.receivedBytes.Add(n)
	drop := func(c *atomic.Uint64) {
		c.Add(1)
		b.stats.droppedBytes.Add(n)
	}
	var e hub.Envelope
	if err := e.UnmarshalBinary([]byte(m.Payload)); err != nil {
		drop(&b.stats.malformed)
		b.cfg.Logger.Warn("redisbroker: malformed envelope", "channel", m.Channel, "err", err)
		return
	}
	if !b.fits(m, &e) {
		drop(&b.stats.malformed)
		b.cfg.Logger.Warn("redisbroker: envelope does not fit its channel", "channel", m.Channel, "kind", e.Kind, "target", e.Target)
		return
	}
	if e.Node == b.node {
		drop(&b.stats.own)
		return
	}
	if m.Pattern != "" && m.Pattern == b.names.allRooms() { // Config.SubscribeAll
		if !b.hasRoom(e.Target) {
			drop(&b.stats.filtered)
			return
		}
	} else if m.Pattern != "" {
		if !b.firstMatch(m, active) {
			drop(&b.stats.duplicates)
			return
		}
		if !b.wanted(e.Target) {
			drop(&b.stats.filtered)
			return
		}
	}
	b.stats.delivered.Add(1)
	b.host.Deliver(e)
}

// fits reports whether an envelope's kind and target are the ones its
// channel carries, so that a stray or hostile publish on our prefix cannot
// reach sessions it was not published for.
func (b *Broker) fits(m *redis.Message, e *hub.Envelope) bool {
	if m.Pattern != "" && m.Pattern == b.names.allRooms() {
		return e.Kind == hub.ToRoom && m.Channel == b.names.room(e.Target)
	}
	if m.Pattern != "" {
		return e.Kind == hub.ToTopic && m.Channel == b.names.subject(e.Target)
	}
	switch e.Kind {
	case hub.ToAll:
		return m.Channel == b.names.all()
	case hub.ToSession:
		return e.DestNode() == b.node && m.Channel == b.names.node(b.node)
	case hub.ToRoom:
		return m.Channel == b.names.room(e.Target)
	}
	return false
}

// firstMatch reports whether m came through the least (in byte order) of
// the active globs that match its channel. Redis sends one copy of a
// message per matching pattern, all of them at once; delivering only the
// copy of the least one delivers each envelope once. active changes only
// when the server's (un)subscribe replies arrive on the same connection,
// so it is exactly the set the server matched against.
func (b *Broker) firstMatch(m *redis.Message, active map[string]struct{}) bool {
	for g := range active {
		if g < m.Pattern && globMatch(g, m.Channel) {
			return false
		}
	}
	return true
}

// hasRoom reports whether the hub subscribed to room (Config.SubscribeAll).
func (b *Broker) hasRoom(room string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.rooms[room]
	return ok
}

// wanted reports whether one of the node's topic patterns matches subject
// by the hub's rules.
func (b *Broker) wanted(subject string) bool {
	if strings.ContainsAny(subject, "*>") {
		return false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, p := range b.topics {
		if hub.MatchTopic(p, subject) {
			return true
		}
	}
	return false
}
