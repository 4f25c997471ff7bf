package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
)

// Presence keeps, per room, a sorted set (session ID scored by its expiry
// in Redis server milliseconds) and a hash (session ID → encoded Member).
// The scripts read the server's clock, so that the nodes' clocks do not
// matter, and give both keys a TTL as long as the room's longest-lived
// member: a room no node refreshes disappears whole.

// addPresence: KEYS zset, hash; ARGV ttl (ms), then session ID and member
// pairs. Members past their expiry are removed on the way.
var addPresence = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[1])
local exp = now + ttl
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], exp, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #old > 0 then
  redis.call('ZREM', KEYS[1], unpack(old))
  redis.call('HDEL', KEYS[2], unpack(old))
end
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < ttl then
    redis.call('PEXPIRE', k, ttl)
  end
end
return #old
`)

// removePresence: KEYS zset, hash; ARGV session IDs.
var removePresence = redis.NewScript(`
redis.call('ZREM', KEYS[1], unpack(ARGV))
redis.call('HDEL', KEYS[2], unpack(ARGV))
return 0
`)

// listPresence: KEYS zset, hash; returns the encoded unexpired members.
var listPresence = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
if #ids == 0 then
  return {}
end
return redis.call('HMGET', KEYS[2], unpack(ids))
`)

// countPresence: KEYS zset; returns how many members are unexpired.
var countPresence = redis.NewScript(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`)

// presenceBatch bounds the members one script call carries, so that a big
// room's refresh does not become one huge command.
const presenceBatch = 512

// AddPresence adds or refreshes members of room; each expires ttl after
// this call (by the Redis server's clock) unless added again.
func (b *Broker) AddPresence(ctx context.Context, room string, members []hub.Member, ttl time.Duration) error {
	if err := b.presenceUsable(); err != nil {
		return err
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("redisbroker: presence TTL %v is under 1ms", ttl)
	}
	zset, hash := b.names.presence(room)
	for len(members) > 0 {
		n := min(len(members), presenceBatch)
		args := make([]any, 0, 1+2*n)
		args = append(args, ttl.Milliseconds())
		for i := range members[:n] {
			m := &members[i]
			if m.SessionID == "" {
				return fmt.Errorf("redisbroker: presence member without session ID in room %q", room)
			}
			blob, err := m.MarshalBinary()
			if err != nil {
				return err
			}
			args = append(args, m.SessionID, blob)
		}
		if err := addPresence.Run(ctx, b.client, []string{zset, hash}, args...).Err(); err != nil {
			return fmt.Errorf("redisbroker: add presence in %q: %w", room, err)
		}
		members = members[n:]
	}
	return nil
}

// RemovePresence removes members of room by session ID; an absent member
// is not an error.
func (b *Broker) RemovePresence(ctx context.Context, room string, sessionIDs []string) error {
	if err := b.presenceUsable(); err != nil {
		return err
	}
	zset, hash := b.names.presence(room)
	for len(sessionIDs) > 0 {
		n := min(len(sessionIDs), presenceBatch)
		args := make([]any, n)
		for i, id := range sessionIDs[:n] {
			args[i] = id
		}
		if err := removePresence.Run(ctx, b.client, []string{zset, hash}, args...).Err(); err != nil {
			return fmt.Errorf("redisbroker: remove presence in %q: %w", room, err)
		}
		sessionIDs = sessionIDs[n:]
	}
	return nil
}

// Presence returns the unexpired members of room, in any order, with one
// round trip to Redis.
func (b *Broker) Presence(ctx context.Context, room string) ([]hub.Member, error) {
	if err := b.presenceUsable(); err != nil {
		return nil, err
	}
	zset, hash := b.names.presence(room)
	vals, err := listPresence.Run(ctx, b.client, []string{zset, hash}).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisbroker: presence of %q: %w", room, err)
	}
	out := make([]hub.Member, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok { // removed between ZRANGEBYSCORE and HMGET cannot happen in a script; a hash entry lost is skipped
			continue
		}
		var m hub.Member
		if err := m.UnmarshalBinary([]byte(s)); err != nil {
			b.cfg.Logger.Warn("redisbroker: malformed presence member", "room", room, "err", err)
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// PresenceCount returns how many unexpired members room has, without
// transferring them.
func (b *Broker) PresenceCount(ctx context.Context, room string) (int, error) {
	if err := b.presenceUsable(); err != nil {
		return 0, err
	}
	zset, _ := b.names.presence(room)
	n, err := countPresence.Run(ctx, b.client, []string{zset}).Int()
	if err != nil {
		return 0, fmt.Errorf("redisbroker: presence count of %q: %w", room, err)
	}
	return n, nil
}

// presenceUsable refuses calls after Close. Presence goes through the
// client's pool, not the subscriber connection, so it is tried even while
// the subscriber is reconnecting: ctx bounds it.
func (b *Broker) presenceUsable() error {
	if b.closed.Load() {
		return ErrClosed
	}
	return nil
}
