// Package hub connects WebSocket sessions to the rest of an application.
//
// A Hub owns every session upgraded through it (usually by the middleware
// package, or directly with Hub.Accept) and routes messages to them: to all
// sessions, to the sessions a predicate selects, to all but some, to the
// members of a room, to the subscribers of a topic (with "*" and ">"
// wildcards) or to one session by ID. Every routing call queues the message
// and returns at once with the number of sessions it was queued for; it
// never waits for a network write.
//
// # Sessions
//
// Each session has one reader, a goroutine Accept starts (Accept itself
// returns as soon as the session is attached, so the HTTP handler's
// goroutine and buffers are freed), and at most one writer goroutine, which
// exists only while the session's queue holds messages. On Linux an idle
// session (no data message yet, or none for 2 s) gives its reader goroutine
// up too: its socket waits in one epoll set per hub, and a new reader
// starts when it becomes readable; pings and pongs are answered without
// waking the application. Callbacks run on the reader, one at a time per
// session. The writer takes everything
// queued, writes all of it and flushes once, so a burst costs one system call
// instead of one per message. A message sent to many sessions is framed once
// and the same bytes are written to every target. Session.NextWriter
// streams a message produced piece by piece.
//
// # Compression
//
// permessage-deflate (RFC 7692) is negotiated and done by the hub, with
// every window size a client asks for and, opt-in, context takeover in
// both directions (Compression); Session.Deflate reports what a session
// negotiated and the memory its windows may take.
//
// Queues are bounded in messages and bytes (Config.MaxQueuedMessages,
// Config.MaxQueuedBytes), counting the batch being written. When a bound is
// hit the session's SlowPolicy applies;
// the default closes the slow session with CloseSlowConsumer so that no
// message is lost without the client knowing. Every dropped message is
// counted.
//
// # Keep-alive
//
// The hub pings every Config.PingInterval with the send time in the payload
// (stamped when the ping is written), measures the round trip from the pong
// (Session.RTT), and ends a session with 1001 "pong timeout" when no pong
// arrives within Config.PongTimeout of a ping being written (time the
// reader spends held by an InboundLimiter does not count). Separately, a
// session that sends no data message for Config.IdleTimeout (pongs do not
// count) is closed with 1001 "idle timeout"; there is no idle timeout by
// default.
//
// # Closing and errors
//
// Session.Close sends a close frame after what is queued; Session.Kick drops
// the queue and sends it next; Session.Disconnect closes the connection
// without one. When the hub fails a connection for the peer's error
// (protocol violation 1002, invalid data 1007, oversized message 1009) it
// writes the close frame at once and then lingers: it half-closes the
// connection and discards what the peer still sends for up to
// Config.CloseTimeout, so that the peer can read the close frame instead of
// losing it to a reset. OnError receives a *SessionError for such failures,
// for missed pongs, failed writes and resets; OnClose reports how every
// session ended.
//
// # Brokers
//
// With a Broker in Config, several processes (nodes) serve one application:
// a routing call delivers to this node's sessions at once and queues the
// envelope in a bounded outbox, which one goroutine hands to the broker, so
// routing never waits on the network (a full outbox makes the call return
// ErrRemote; a failure later is counted and reported to OnError). A node
// subscribes at the broker only to the rooms and topic patterns its sessions
// need; once Join or Subscribe returns nil, every message sent from any node
// after that moment reaches the session. Send, Join, Leave and CloseSession
// address a session on any node by the node in its ID (NodeOf). With
// Config.Presence, Presence lists a room's members across the cluster with
// the info each session set (Session.SetPresenceInfo), OnPresence reports
// joins and leaves, and a dead node's members expire within
// Config.PresenceTTL. When the broker loses its server the hub counts it and
// tells OnBroker, so the application can have its clients resynchronise.
//
// MemoryBus joins hubs in one process and is the reference implementation
// of the Broker contract; hub/brokertest is the suite every broker passes.
//
// # History and recovery
//
// With Config.History, the rooms the application chooses keep their recent
// messages in a Store, and every message sent to them gets a Position: an
// epoch and an offset that grows by one per message in the room, across
// the cluster. HistoryConfig.Frame puts the position into each message
// once, so clients learn where they are. Hub.JoinFrom rejoins a session
// from the last position its client saw: the hub queues what it missed and
// then the live messages, with no gap and no duplicate, or tells the
// application the session must resynchronise (trimmed, another epoch).
// Each node delivers a room's messages in offset order and reads back from
// the store what the broker did not bring. MemoryStore is the in-process
// store; hub/storetest is the suite every store passes.
//
// # Shutdown
//
// Shutdown stops admitting sessions, lets every queued message reach its
// session, sends close 1001, waits for the peers' close frames until its
// context ends, then closes what is left and returns, even if a callback is
// still running. http.Server.Shutdown does not know
// about hijacked connections; Hub.RegisterOnShutdown hooks the two together.
package hub
