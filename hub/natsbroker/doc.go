// Package natsbroker connects the hubs of several wsgate nodes through a
// NATS server (or cluster): it implements hub.Broker, hub.BatchPublisher
// and hub.PresenceBroker on github.com/nats-io/nats.go.
//
// # Subjects
//
// Every subject starts with Config.Prefix (default "wsgate"), so several
// applications can share one NATS account:
//
//	<prefix>.all                     ToAll envelopes
//	<prefix>.node.<node>             envelopes for one node's sessions
//	<prefix>.room.<room>             one subject per room
//	<prefix>.topic.<t1>.<t2>...      one token per topic token
//	<prefix>.presence.<room>.<id>    presence (JetStream, see below)
//
// Node IDs, room names and topic tokens may contain ".", "*", ">", spaces
// or any byte: each one is encoded into a single NATS token of the
// characters A-Z, a-z, 0-9 and "-", with every other byte written as "_"
// and two upper-case hex digits (EncodeToken, DecodeToken). The encoding is
// reversible and never produces ".", "*" or ">", so a room named "a.b" and
// a topic token "*" are literals for NATS. A topic pattern keeps its "*"
// and ">" tokens as NATS wildcards: NATS "*" matches exactly one token and
// a final ">" one or more, token by token, which is exactly hub.MatchTopic
// once every other token is encoded. The broker still checks each topic
// envelope against the pattern it arrived on before delivering it, and
// counts any mismatch in Stats.Filtered (zero in every test).
//
// # Interest and delivery
//
// A node subscribes to <prefix>.all and its own node subject in Start, and
// to a room or topic pattern when its hub reports interest (Subscribe). A
// subscription is confirmed by a round trip to the server (a PING after the
// SUB) before Subscribe returns. All subscriptions feed one bounded queue
// (Config.QueueSize) read by one goroutine, which hands envelopes to the
// hub in the order the server sent them. A subject can match several of a
// node's topic patterns; NATS then sends the message once per pattern, and
// the broker delivers it once: every frame carries its publisher's
// instance ID and a sequence number, and copies after the first are
// dropped (Stats.Duplicates). The connection is opened with NoEcho, so a
// node never receives what it published itself.
//
// # Publishing
//
// Publish and PublishBatch write the envelopes and then wait for a PONG
// from the server, so a nil error means the server has processed (and
// routed) them. A batch costs one round trip, which is why the hub's outbox
// hands this broker whole batches.
//
// # When the server is down
//
// nats.go reconnects by itself (forever, every Config.ReconnectWait). The
// broker tells the hub Disconnected as soon as the connection drops; while
// disconnected, Publish, Subscribe and Unsubscribe fail at once with
// ErrNotConnected (nothing is buffered, so nothing arrives late and out of
// order). Once reconnected, nats.go sends every subscription again, the
// broker confirms them with a round trip and only then tells the hub
// Reconnected. What was published during the outage is lost; the hub counts
// it and tells the application.
//
// # Presence
//
// Presence lives in a JetStream stream (Config.PresenceStream, created on
// first use) with one subject per member and at most one message per
// subject. Each member is written with a per-message TTL (the server's
// Nats-TTL header), so the server itself removes the members of a node
// that died, within the TTL, without any node having to notice. A query
// (Presence, PresenceCount) is one request to the stream's direct-get API
// (pages of 512 members) and never asks other nodes anything. This needs a
// NATS server 2.11 or newer with JetStream enabled; the rest of the broker
// needs neither.
package natsbroker
