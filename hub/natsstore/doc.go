// Package natsstore keeps the history of wsgate rooms in a NATS JetStream
// stream: it implements hub.Store, so that every node of a cluster gives
// a room's messages the same positions and a client that reconnects to
// any node is replayed what it missed (see hub.HistoryConfig and
// hub.Hub.JoinFrom). It is usually paired with hub/natsbroker on the same
// server.
//
// # Stream and subjects
//
// One stream (Config.Stream, created on first use) holds every room, one
// subject per room: <Config.Prefix>.<room>, the room name encoded into a
// single NATS token by the rule of natsbroker.EncodeToken, so that a room
// called "a.b" or "*" is a literal. The stream's per-subject limit
// (MaxMsgsPerSubject, Config.MaxMsgsPerRoom) and age limit (MaxAge,
// Config.MaxAge) bound what any room keeps; within them each room keeps
// what its hub.HistoryPolicy asks: a policy's TTL is set on each message
// (the Nats-TTL header), and its Size is kept by Read, which never
// returns more than Size of the newest messages, and by a purge of the
// room's older messages every max(Size, 64) appends. The stream needs a
// NATS server 2.11 or newer (per-message TTL, batched direct gets).
//
// # Positions
//
// Each message carries its position in headers (Wsgate-Epoch,
// Wsgate-Offset). Append publishes the room's next offset with the
// header Nats-Expected-Last-Subject-Sequence set to the stream sequence
// of the room's newest message: the server stores the message only if no
// other node has appended to the room since, so the offset check and the
// store are one atomic step on the server. A publish that lost the race
// reads the room's new newest message and tries again. Each Store
// remembers the newest message of the rooms it touches (Config.
// MaxCachedRooms), so an Append costs one round trip unless another node
// appended to the room in between.
//
// # Epochs
//
// A room's epoch is a random value chosen by the Append that finds the
// room's subject empty: a room never written, a room whose every message
// expired, or every room after the stream was lost (a server restarted
// without its store directory, or the stream deleted; the next Append
// creates it again). Offsets then start again from 1 under the new epoch,
// and a reader of the old one is told its position is lost
// (hub.ErrPositionLost), never served a gap. A Read of an empty room
// answers a fresh epoch at offset 0 that the first Append does not
// continue: a client that joined a room before its first message is told
// to resync once, when that message arrives.
//
// # When the server is down
//
// Append and Read fail at once (wrapping ErrServer) while the connection
// is down: nothing is buffered, so nothing is stored late and out of
// order. The hub then refuses SendToRoom for rooms with history (it
// returns the error; nothing is sent) and JoinFrom answers "resync". A
// call whose connection is lost while it waits for a reply fails then too,
// instead of waiting for its context: the reply would have come on that
// connection, and nats.go does not fail a pending request when it
// reconnects. An Append whose context ends, or whose connection is lost,
// while its publish is in flight may still have been stored: the message
// then has its position, and nodes deliver it (read back from the store)
// like any other, although SendToRoom returned an error. nats.go
// reconnects by itself, forever, every Config.ReconnectWait; a Store
// forgets what it remembered of every room on reconnecting, since the
// server may have come back without the stream.
package natsstore
