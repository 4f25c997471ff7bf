// Package redisstore is a hub.Store on Redis Streams, so that every node
// of a wsgate cluster gives a room's messages positions from one sequence
// and a client can rejoin from its last position on any node. It takes any
// redis.UniversalClient from github.com/redis/go-redis/v9 (standalone,
// Sentinel or Cluster; Redis 6.2 or later) and is usually paired with
// hub/redisbroker on the same server.
//
// # Keys
//
// A room with history has two keys under Config.Prefix (default "wsgate"),
// sharing the room's Redis Cluster hash tag:
//
//	<prefix>:history:{<room>}:s   the stream: one entry per message
//	<prefix>:history:{<room>}:m   a hash: the room's epoch, newest offset,
//	                              last append time and policy
//
// # Positions
//
// Append is one Lua script: it increments the room's offset in the hash
// and XADDs the message with the explicit stream ID "<offset>-0", so the
// position is taken and the message stored under it atomically, in one
// round trip, whichever node appends. Using the offset as the stream ID
// (rather than Redis's time-based IDs with the offset in a field) makes a
// read from a position a single XRANGE from "<offset+1>-0", with no index
// to keep; the append time is a field of the entry instead.
//
// The epoch is a random string kept in the hash. A room whose hash is
// missing (never written, the server's data lost by a restart without
// persistence, or the room expired whole) gets a new epoch and starts
// again at offset 1, so a reader of the old epoch is told its position is
// lost rather than handed a message that happens to have the same offset.
//
// # Trimming
//
// Size trims with XADD MAXLEN ~ (whole stream nodes, cheap), which may
// keep up to one stream node (stream-node-max-entries, 100 by default)
// more than Size in memory; Read never serves more than the newest Size,
// so readers see the policy exactly. TTL trims the expired head of the
// stream with XTRIM MINID on every Append and Read (found by a binary
// search over offsets, so the cost does not grow with the number of
// expired messages), and both keys expire TTL after the room's newest
// message, when everything in it has expired. Rooms whose policy has no
// TTL are kept until deleted: give them one, or size Redis for them. A
// room read before its first message (a client joining a quiet room) has
// only its hash, which expires after 24 hours.
//
// # When Redis is down
//
// Append and Read fail (within the hub's HistoryConfig.Timeout): a
// SendToRoom to a room with history returns an error wrapping
// hub.ErrHistory and sends nothing, and a JoinFrom answers resync. Once the
// server is back the store works again with no action: if it came back
// without its data, every room starts a new epoch and clients rejoining
// from an old position are told to resync.
package redisstore
