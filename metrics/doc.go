// Package metrics exports a hub's counters to Prometheus.
//
// A Collector reads everything at scrape time — Hub.Stats, and each open
// session's queue depth and ping round trip — and hands Prometheus constant
// metrics, so it adds nothing to the hub's hot path: the hub keeps its own
// atomic counters whether or not anyone scrapes them.
//
//	reg := prometheus.NewRegistry()
//	c, err := metrics.New(h, metrics.Options{Refusals: refusalsOf(ws)})
//	if err != nil { ... }
//	reg.MustRegister(c)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Metrics
//
// With the default namespace "wsgate":
//
//	wsgate_sessions_active                 gauge      sessions open now
//	wsgate_sessions_total                  counter    sessions attached since the hub started
//	wsgate_sessions_closed_total{code}     counter    ended sessions by close code (1006: dropped)
//	wsgate_messages_total{direction}       counter    data messages, direction "in" (received) or "out" (written)
//	wsgate_message_bytes_total{direction}  counter    their payload bytes
//	wsgate_messages_dropped_total          counter    routed to a session but never delivered
//	wsgate_refusals_total{reason}          counter    upgrade requests refused (only with Options.Refusals)
//	wsgate_rooms                           gauge      rooms with members
//	wsgate_topics                          gauge      subscription patterns with subscribers
//	wsgate_session_queue_messages          histogram  messages waiting in each session's send queue
//	wsgate_session_ping_rtt_seconds        histogram  each session's last ping round trip
//
// and for a hub with a Broker (zero, and broker_up 1, on a single node):
//
//	wsgate_broker_outbox_envelopes          gauge    envelopes waiting for the broker
//	wsgate_broker_envelopes_total{result}   counter  for other nodes: "published", "refused" (outbox full), "failed"
//	wsgate_broker_received_total            counter  envelopes received from other nodes
//	wsgate_broker_subscriptions             gauge    rooms and topic patterns subscribed at the broker
//	wsgate_broker_subscribe_failures_total  counter  subscriptions refused or not confirmed (retried)
//	wsgate_broker_outages_total             counter  times the broker lost its server (possible loss)
//	wsgate_broker_up                        gauge    0 during an outage, else 1
//	wsgate_presence_update_failures_total   counter  presence updates the broker did not take
//	wsgate_events_lost_total                counter  presence and broker events not reported (too many waiting)
//
// and for a hub with history (hub.HistoryConfig; zero without):
//
//	wsgate_history_rooms                    gauge    rooms whose history the store holds (stores that can tell)
//	wsgate_history_messages                 gauge    messages the history store holds (stores that can tell)
//	wsgate_history_bytes                    gauge    payload bytes the history store holds (stores that can tell)
//	wsgate_history_appends_total{result}    counter  messages to rooms with history: ok, failed (store refused: not sent)
//	wsgate_history_recoveries_total{result} counter  JoinFrom: recovered, resync
//	wsgate_history_gap_messages_total{result} counter messages out of order from the broker: refilled from the store, lost
//
// The two histograms describe the sessions open at scrape time: they are a
// snapshot, not cumulative, so their buckets may go down between scrapes.
// Read them with histogram_quantile over the raw buckets (for example
// histogram_quantile(0.99, wsgate_session_queue_messages_bucket)), never with
// rate(). Sessions that have not answered a ping yet are left out of the
// round-trip histogram.
//
// # Refusals
//
// Requests refused before the upgrade never reach the hub, so the hub cannot
// count them; whoever refuses them can. This package does not import the
// middleware package (the hub is its only wsgate dependency): Options.Refusals
// is a function returning the counts by reason, and a three-line adapter
// turns middleware.Handler.Refusals into it (see the package example). Use
// the Reason constants as keys so that dashboards agree across programs.
package metrics
