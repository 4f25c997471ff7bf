// Package serve is what the example programs share around their handlers:
// the common flags (-addr, -tls-cert, -tls-key, -log-level, -idle-timeout,
// -read-timeout, -shutdown-timeout), a text logger, an http.Server with
// every timeout and a header bound set, listening with or without TLS, and
// a graceful shutdown in which the hubs drain on their own budget while the
// HTTP server stops.
//
// The cluster flags (-broker, -node-id, -embedded-nats, -nats-addr) make a
// program one node of a cluster: Flags.OpenCluster turns them into a
// Cluster, which makes each hub's Broker (Redis or NATS) and serves their
// counters (GET /cluster in the examples).
//
// Run prints two kinds of lines that the examples' tests read, and
// OpenCluster one more with -embedded-nats:
//
//	listening on ADDR          (or http://ADDR, https://ADDR with Config.URL)
//	shutdown: N sessions drained, M forced     (one line per hub)
//	nats listening on nats://ADDR
package serve
