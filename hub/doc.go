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
// Routing goes through a Broker so that several processes can serve one
// application: a message published on one node reaches the matching sessions
// on every node. The default broker is in-process; MemoryBroker lets several
// hubs in one process act as nodes of one cluster.
//
// # Shutdown
//
// Shutdown stops admitting sessions, lets every queued message reach its
// session, sends close 1001, waits for the peers' close frames until its
// context ends, then closes what is left. http.Server.Shutdown does not know
// about hijacked connections; Hub.RegisterOnShutdown hooks the two together.
package hub
