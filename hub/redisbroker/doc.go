// Package redisbroker is a hub.Broker over Redis pub/sub, so that several
// wsgate nodes behind a load balancer share rooms, topics and sessions. It
// takes any redis.UniversalClient from github.com/redis/go-redis/v9:
// standalone, Sentinel or Cluster.
//
// # Channels
//
// Every name lives under Config.Prefix (default "wsgate"), so several
// applications can share one Redis:
//
//	<prefix>:all            ToAll envelopes; every node subscribes
//	<prefix>:node:<node>    envelopes for one node's sessions (ToSession)
//	<prefix>:room:<room>    one room; a node subscribes while it has members
//	<prefix>:topic:<subject> one topic subject; nodes PSUBSCRIBE a pattern
//
// A node subscribes to a room's channel only while one of its sessions is
// in the room (the hub says so through Subscribe and Unsubscribe), so a node
// gets no traffic for rooms it has no member of. With Config.Sharded the
// all, node and room channels use SSUBSCRIBE/SPUBLISH (sharded pub/sub,
// Redis 7), which a Redis Cluster keeps on the shard that owns the channel's
// slot instead of broadcasting to every shard; topic patterns stay on
// PSUBSCRIBE because Redis has no sharded patterns. On a cluster a node then
// holds one subscriber connection per shard, so envelopes of different
// channels may reach it in another order than they were published (the
// order per channel holds, as hub.Broker promises). Each sharded channel is
// bound to the shard that owned its slot when the node first subscribed it;
// a resharding that moves the slot is not followed until the node restarts,
// so reshard with Sharded off, or restart the nodes after.
//
// # Topic patterns
//
// A hub pattern becomes a Redis glob: literal tokens with the glob
// metacharacters * ? [ ] \ escaped, and both "*" (one token) and ">" (one
// or more trailing tokens) mapped to the glob "*", which matches any run of
// characters, dots included. Redis therefore hands a node some subjects its
// patterns do not match ("a.*.c" also receives "a.b.x.c"); the broker
// checks every topic envelope with hub.MatchTopic before it reaches the hub,
// and when several of a node's patterns match one subject (Redis sends one
// copy per pattern) it delivers the envelope once. What was received and
// dropped is counted in Stats: that is the over-delivery between nodes.
//
// # Losing Redis
//
// Each subscriber connection reads with a deadline of Config.HealthInterval:
// when nothing arrived for that long it sends a PING on the connection, and
// when the answer does not arrive within another interval, or when a read
// fails (the server closed the connection or was killed), the connection is
// declared lost: the hub hears Disconnected, Publish and Subscribe fail
// fast, and the broker dials again with a capped backoff. Once a new
// connection has resubscribed every channel and answered a PING sent after
// the subscriptions (so the server has confirmed them all), the hub hears
// Reconnected. Messages published while a node was disconnected are lost
// for it (Redis pub/sub keeps nothing); the hub counts the outage and tells
// the application.
//
// # Presence
//
// The broker implements hub.PresenceBroker with two keys per room, a sorted
// set of session IDs scored by their expiry time (Redis server time, so the
// nodes' clocks do not matter) and a hash of their encoded hub.Member. Each
// operation is one Lua script, one round trip; queries read only the
// unexpired members and never ask the other nodes. Both keys share a Redis
// Cluster hash tag and expire as a whole when no node refreshes the room.
package redisbroker
