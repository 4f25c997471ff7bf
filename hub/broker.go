package hub

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Kind says which sessions an Envelope is for.
type Kind uint8

// The kinds of envelope.
const (
	ToAll     Kind = iota + 1 // every session
	ToRoom                    // members of the room named by Target
	ToTopic                   // subscribers of patterns matching the subject in Target
	ToSession                 // the session whose ID is Target (see NodeOf)
)

// Op says what an Envelope asks the sessions it selects (by Kind and
// Target) to do. The zero Op delivers a message.
type Op uint8

// The operations an envelope carries.
const (
	// OpMessage queues the message in Type and Data for each session.
	OpMessage Op = iota
	// OpClose closes each session with Code and Reason (Session.Close).
	OpClose
	// OpJoin makes each session join the room named by Room (Hub.Join).
	OpJoin
	// OpLeave makes each session leave the room named by Room (Hub.Leave).
	OpLeave
	// OpPresenceJoin and OpPresenceLeave announce that a member (Data holds
	// its Member.MarshalBinary form) joined or left the room in Target; Kind
	// is ToRoom. They reach the nodes with members in the room, whose hubs
	// report them to OnPresence.
	OpPresenceJoin
	OpPresenceLeave

	maxOp = OpPresenceLeave
)

// Envelope is a routed operation as it travels between nodes: usually a
// message for some sessions, sometimes an operation on them (Op).
// MarshalBinary and UnmarshalBinary (envelope.go) are its wire form.
type Envelope struct {
	Node   string // the node that published it
	Op     Op
	Kind   Kind
	Target string   // room, subject or session ID; empty for ToAll
	Except []string // session IDs that must not be selected

	Type MessageType // OpMessage: the message type; zero for other ops
	Data []byte      // OpMessage: the message; OpPresence*: the Member

	Code   int    // OpClose: the close code
	Reason string // OpClose: the close reason
	Room   string // OpJoin, OpLeave: the room

	// Epoch and Offset are the message's position in the history of the
	// room in Target (OpMessage, ToRoom, a room with a HistoryPolicy);
	// Offset 0 means the message has no position.
	Epoch  string
	Offset uint64
}

// DestNode returns the one node an envelope is for: the node of the session
// in Target for ToSession, and "" (any node with interest) for the other
// kinds. A broker uses it for per-node addressing.
func (e *Envelope) DestNode() string {
	if e.Kind != ToSession {
		return ""
	}
	return NodeOf(e.Target)
}

// NodeOf returns the node part of a session ID. A session ID is the node ID,
// "-", and a per-node sequence number without "-"; node IDs may themselves
// contain "-", so the split is at the last one. It returns "" when id has no
// node part.
func NodeOf(sessionID string) string {
	i := strings.LastIndexByte(sessionID, '-')
	if i <= 0 || i == len(sessionID)-1 {
		return ""
	}
	return sessionID[:i]
}

// Channel names one subscription a node holds at its broker: a room (Kind
// ToRoom, Name the room name) or a topic pattern (Kind ToTopic, Name the
// pattern, which may use "*" and ">" as described in topic.go and
// MatchTopic).
type Channel struct {
	Kind Kind
	Name string
}

// BrokerHost is the hub as its broker sees it: the way in for envelopes and
// for news about the broker's connection. Its methods are safe for
// concurrent use and never block on the network or on a slow session.
type BrokerHost interface {
	// Deliver hands the hub an envelope published by another node. The hub
	// owns e from then on (the broker must not reuse e.Data's memory). It
	// queues messages without waiting (the Block slow policy does not
	// apply: a full queue disconnects the session as Disconnect does).
	Deliver(e Envelope)
	// Disconnected says the broker has lost its server: envelopes published
	// from now on, by any node, may never reach this one. err says why.
	Disconnected(err error)
	// Reconnected says the broker is connected again and has restored every
	// subscription (ToAll, this node's own, and each Channel subscribed and
	// not since unsubscribed). Messages published during the outage may
	// have been lost; the hub counts the outage and tells the application
	// (Hub.OnBroker) so that it can tell its clients to resynchronise.
	Reconnected()
}

// Broker carries envelopes between the nodes of a cluster. Each node's hub
// delivers what it routes to its own sessions itself and hands the broker,
// through a bounded outbox, what other nodes may need. Config.Broker sets
// it; nil means the hub is the only node. MemoryBus is the reference
// implementation, and hub/brokertest is the conformance suite every broker
// runs.
//
// # Lifecycle
//
// New calls Start once, before any other method. Start returns once the
// broker is subscribed, confirmed by its server, to what every node always
// receives: ToAll envelopes and envelopes addressed to this node (see
// DestNode). Shutdown calls Close once, after the last Publish, Subscribe
// and Unsubscribe have returned; Close stops every goroutine the broker
// started, and once it returns the broker calls no method of its host.
// Close must not wait for an unreachable server for long (bound it, as
// Config.BrokerTimeout bounds the other calls).
//
// # What a node receives
//
// After Start, the broker calls host.Deliver for each envelope published by
// another node that is:
//   - a ToAll envelope;
//   - addressed to this node: e.DestNode() == node (ToSession envelopes);
//   - a ToRoom envelope for a room this node is subscribed to;
//   - a ToTopic envelope whose subject matches (MatchTopic) at least one
//     pattern this node is subscribed to.
//
// and for nothing else: never the node's own envelopes, never a room or
// subject none of its subscriptions covers (if the server's wildcards are
// wider than MatchTopic's, filter with MatchTopic before Deliver). Each
// envelope reaches a node at most once, however many of its subscriptions
// match. Envelopes one node publishes for the same room, subject, node or
// ToAll reach each other node in the order they were published.
//
// # Subscriptions
//
// Subscribe returns nil only once the server has confirmed the subscription,
// so that every envelope published by any node after Subscribe returned
// reaches this node. After Unsubscribe returns, envelopes for the channel
// stop soon (some in flight may still arrive; the hub ignores what has no
// local target). For one Channel the hub never overlaps calls and calls
// Subscribe and Unsubscribe alternately, so the broker needs no reference
// count; calls for different channels may overlap. Both must be idempotent
// (after an error the hub retries before it relies on the channel, and may
// unsubscribe a channel whose Subscribe failed). ctx bounds the wait
// (Config.BrokerTimeout).
//
// # Publishing
//
// Publish is called by the hub's outbox goroutine, one call at a time per
// hub (a node's envelopes are handed over in order), with ctx bounded by
// Config.BrokerTimeout; it must nevertheless be safe for concurrent use
// (the conformance suite calls it from many goroutines). It returns nil
// once the server accepted the envelope, not when other nodes got it, and
// an error when it could not hand it over (the hub counts it and reports
// it to OnError). It must not keep e.Data after it returns unless it copies
// it.
//
// # Losing the server
//
// When the broker loses its server it calls host.Disconnected once, keeps
// trying to reconnect by itself, and once connected and resubscribed to
// everything (ToAll, this node, every Channel subscribed and not
// unsubscribed) calls host.Reconnected. The two calls alternate, starting
// with Disconnected. While disconnected, Publish, Subscribe and
// Unsubscribe return an error (at the latest when ctx ends).
type Broker interface {
	Start(node string, host BrokerHost) error
	Publish(ctx context.Context, e Envelope) error
	Subscribe(ctx context.Context, ch Channel) error
	Unsubscribe(ctx context.Context, ch Channel) error
	Close() error
}

// BatchPublisher is an optional Broker capability: publishing several
// envelopes in one round trip (a pipeline). When the broker implements it,
// the outbox goroutine hands it every envelope waiting, up to 128 at a
// time, in order, instead of calling Publish for each. An error means some
// or all of them were not handed over; the hub counts the whole batch as
// failed. Otherwise the rules of Publish apply.
type BatchPublisher interface {
	PublishBatch(ctx context.Context, es []Envelope) error
}

// PresenceBroker is an optional Broker capability: a cluster-wide record of
// who is in each room, so that Hub.Presence answers with one query to the
// server and never asks every node and waits for the slowest. With
// Config.Presence set and a Broker that does not implement it, New fails.
//
// The hub adds a member when a session joins a room and removes it when it
// leaves or ends; every PresenceTTL/3 it adds all its members again, so a
// node that dies without saying goodbye has its members expire within
// Config.PresenceTTL (30 s by default). Every method is safe for concurrent
// use, returns once the server answered, and is bounded by ctx.
type PresenceBroker interface {
	// AddPresence adds or refreshes members of room (keyed by SessionID,
	// replacing Info); each expires ttl after this call unless added again.
	AddPresence(ctx context.Context, room string, members []Member, ttl time.Duration) error
	// RemovePresence removes members of room by session ID; removing an
	// absent member is not an error.
	RemovePresence(ctx context.Context, room string, sessionIDs []string) error
	// Presence returns the unexpired members of room, in any order.
	Presence(ctx context.Context, room string) ([]Member, error)
	// PresenceCount returns how many unexpired members room has, without
	// transferring them.
	PresenceCount(ctx context.Context, room string) (int, error)
}

// ErrRemote is wrapped by the error a routing call (Broadcast, SendToRoom,
// Publish, Send and the cluster operations) returns when the envelope could
// not be queued for the other nodes (the outbox was full): local delivery
// still happened, and the count says how many local sessions took the
// message. It is also wrapped by the *RemoteError that OnError receives when
// the broker failed later.
var ErrRemote = errors.New("hub: not delivered to other nodes")

// localBroker is the default: this hub is the only node.
type localBroker struct{}

func (localBroker) Start(string, BrokerHost) error             { return nil }
func (localBroker) Publish(context.Context, Envelope) error    { return nil }
func (localBroker) Subscribe(context.Context, Channel) error   { return nil }
func (localBroker) Unsubscribe(context.Context, Channel) error { return nil }
func (localBroker) Close() error                               { return nil }
