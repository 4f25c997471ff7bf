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
// Each session has one reader, which is the goroutine that called Accept (the
// HTTP handler's goroutine), and at most one writer goroutine, which exists
// only while the session's queue holds messages. The writer takes everything
// queued, writes all of it and flushes once, so a burst costs one system call
// instead of one per message. A message sent to many sessions is framed once
// and the same bytes are written to every target.
//
// Queues are bounded in messages and bytes (Config.MaxQueuedMessages,
// Config.MaxQueuedBytes). When a bound is hit the session's SlowPolicy applies;
// the default closes the slow session with CloseSlowConsumer so that no
// message is lost without the client knowing. Every dropped message is
// counted.
//
// # Keep-alive
//
// The hub pings every Config.PingInterval with the send time in the payload,
// measures the round trip from the pong (Session.RTT), ends a session whose
// peer has sent nothing within PingInterval+PongTimeout, and ends sessions
// that sent no message within Config.IdleTimeout.
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
// # Shutdown
//
// Shutdown stops admitting sessions, lets every queued message reach its
// session, sends close 1001, waits for the peers' close frames until its
// context ends, then closes what is left. http.Server.Shutdown does not know
// about hijacked connections; Hub.RegisterOnShutdown hooks the two together.
package hub
