package metrics

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wsgate/wsgate/hub"
)

// ErrConfig is wrapped by every error New returns; the message names the
// bad field.
var ErrConfig = errors.New("metrics: invalid config")

// The reasons of wsgate_refusals_total, one for each answer the middleware
// gives before the upgrade. Options.Refusals may return others (they become
// label values as they are), but a fixed, small set keeps the series count
// bounded.
const (
	ReasonHandshake = "handshake" // 400, 426: not a valid WebSocket handshake
	ReasonAuth      = "auth"      // 401: token missing or invalid
	ReasonOrigin    = "origin"    // 403: origin not allowed
	ReasonRate      = "rate"      // 429: handshake rate exceeded
	ReasonLimits    = "limits"    // 503: connection limits, hub full or shutting down
	ReasonOther     = "other"     // any other refusal
)

// defaultQueueBuckets reach the hub's default queue bound of 256 messages.
func defaultQueueBuckets() []float64 { return []float64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256} }

func defaultRTTBuckets() []float64 {
	return []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
}

// Options configures a Collector. The zero value exports every metric but
// wsgate_refusals_total under the namespace "wsgate".
type Options struct {
	// Namespace prefixes every metric name, followed by "_". Zero means
	// "wsgate".
	Namespace string
	// ConstLabels are added to every metric, for example {"endpoint":
	// "chat"} to register the collectors of two hubs in one registry.
	// Nil means none.
	ConstLabels prometheus.Labels
	// Refusals returns how many upgrade requests were refused so far, by
	// reason (see the Reason constants); it is called once per scrape, on
	// the scraping goroutine, and must be safe for concurrent use. Nil
	// leaves wsgate_refusals_total out.
	Refusals func() map[string]uint64
	// QueueBuckets are the upper bounds of wsgate_session_queue_messages,
	// strictly increasing. Nil means 0, 1, 2, 4, 8, ... 256 (the hub's
	// default queue bound).
	QueueBuckets []float64
	// RTTBuckets are the upper bounds of wsgate_session_ping_rtt_seconds,
	// strictly increasing. Nil means .001, .0025, .005, .01, .025, .05, .1,
	// .25, .5, 1, 2.5 and 5.
	RTTBuckets []float64
}

// Collector is a prometheus.Collector over one hub. Register it with a
// prometheus.Registerer; it is safe for concurrent scrapes.
type Collector struct {
	hub      *hub.Hub
	refusals func() map[string]uint64
	queueB   []float64
	rttB     []float64

	active, total, closed    *prometheus.Desc
	messages, bytes, dropped *prometheus.Desc
	refused                  *prometheus.Desc
	rooms, topics            *prometheus.Desc
	queue, rtt               *prometheus.Desc

	// The cluster side (hub.ClusterStats); zero on a single node.
	outbox, envelopes, received      *prometheus.Desc
	subscriptions, subscribeFailures *prometheus.Desc
	outages, brokerUp                *prometheus.Desc
	presenceFailures, eventsLost     *prometheus.Desc

	// The history side (hub.HistoryStats); zero without history.
	histRooms, histMessages, histBytes *prometheus.Desc
	histAppends, recoveries, histGaps  *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// New returns a Collector for h, or an error wrapping ErrConfig that names
// the first bad field of opts.
func New(h *hub.Hub, opts Options) (*Collector, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: hub is nil", ErrConfig)
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "wsgate"
	}
	if !metricName.MatchString(ns) {
		return nil, fmt.Errorf("%w: Namespace %q is not a metric name", ErrConfig, ns)
	}
	for name := range opts.ConstLabels {
		if !metricName.MatchString(name) || name[0] == ':' {
			return nil, fmt.Errorf("%w: ConstLabels key %q is not a label name", ErrConfig, name)
		}
	}
	queueB, err := buckets("QueueBuckets", opts.QueueBuckets, defaultQueueBuckets())
	if err != nil {
		return nil, err
	}
	rttB, err := buckets("RTTBuckets", opts.RTTBuckets, defaultRTTBuckets())
	if err != nil {
		return nil, err
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(ns+"_"+name, help, labels, opts.ConstLabels)
	}
	c := &Collector{
		hub:      h,
		refusals: opts.Refusals,
		queueB:   queueB,
		rttB:     rttB,
		active:   desc("sessions_active", "WebSocket sessions open now."),
		total:    desc("sessions_total", "WebSocket sessions attached since the hub started."),
		closed:   desc("sessions_closed_total", "Ended WebSocket sessions by close code (1006: the connection dropped without one).", "code"),
		messages: desc("messages_total", "Data messages received (direction in) and written to sockets (direction out).", "direction"),
		bytes:    desc("message_bytes_total", "Payload bytes of the data messages received (in) and written (out).", "direction"),
		dropped:  desc("messages_dropped_total", "Messages routed to a session that it never received (queue policy, or still queued when it ended)."),
		refused:  desc("refusals_total", "Upgrade requests refused before the upgrade, by reason.", "reason"),
		rooms:    desc("rooms", "Rooms with at least one member on this node."),
		topics:   desc("topics", "Subscription patterns with at least one subscriber on this node."),
		queue:    desc("session_queue_messages", "Messages waiting in each open session's send queue at scrape time (a snapshot, not cumulative)."),
		rtt:      desc("session_ping_rtt_seconds", "Each open session's last measured ping round trip at scrape time (a snapshot, not cumulative)."),

		outbox:            desc("broker_outbox_envelopes", "Envelopes waiting in the hub's outbox for the broker now."),
		envelopes:         desc("broker_envelopes_total", "Envelopes for other nodes: published (the broker took them), refused (outbox full: the routing call returned ErrRemote) or failed (the broker did not take them).", "result"),
		received:          desc("broker_received_total", "Envelopes the broker delivered from other nodes."),
		subscriptions:     desc("broker_subscriptions", "Rooms and topic patterns this node is subscribed to at the broker now."),
		subscribeFailures: desc("broker_subscribe_failures_total", "Subscriptions the broker refused or did not confirm in time (the hub retries them)."),
		outages:           desc("broker_outages_total", "Times the broker lost its server; messages from other nodes may have been lost in each."),
		brokerUp:          desc("broker_up", "1 while the broker is connected to its server (always 1 on a single node), 0 during an outage."),
		presenceFailures:  desc("presence_update_failures_total", "Presence updates the broker did not take (the next refresh repairs them)."),
		eventsLost:        desc("events_lost_total", "Presence and broker events not reported to OnPresence or OnBroker because too many were waiting."),

		histRooms:    desc("history_rooms", "Rooms whose history the store holds now (stores that can tell, such as the in-process one)."),
		histMessages: desc("history_messages", "Messages the history store holds now (stores that can tell)."),
		histBytes:    desc("history_bytes", "Payload bytes the history store holds now (stores that can tell)."),
		histAppends:  desc("history_appends_total", "Messages to rooms with history: appended to the store (ok) or not sent because the store failed (failed).", "result"),
		recoveries:   desc("history_recoveries_total", "JoinFrom calls: recovered (replayed what was missed) or resync (the session had to resynchronise).", "result"),
		histGaps:     desc("history_gap_messages_total", "Messages that did not arrive in order through the broker: refilled from the store, or lost (no longer held; members see the offsets jump).", "result"),
	}
	return c, nil
}

// buckets validates a bucket list, or returns a copy of def when b is nil.
func buckets(field string, b, def []float64) ([]float64, error) {
	if b == nil {
		return def, nil
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", ErrConfig, field)
	}
	for i, v := range b {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: %s[%d] is not finite", ErrConfig, field, i)
		}
		if i > 0 && v <= b[i-1] {
			return nil, fmt.Errorf("%w: %s[%d] %v is not above %v", ErrConfig, field, i, v, b[i-1])
		}
	}
	return slices.Clone(b), nil
}

// Describe sends the descriptors of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.active, c.total, c.closed, c.messages, c.bytes, c.dropped, c.rooms, c.topics, c.queue, c.rtt,
		c.outbox, c.envelopes, c.received, c.subscriptions, c.subscribeFailures, c.outages, c.brokerUp,
		c.presenceFailures, c.eventsLost,
		c.histRooms, c.histMessages, c.histBytes, c.histAppends, c.recoveries, c.histGaps,
	} {
		ch <- d
	}
	if c.refusals != nil {
		ch <- c.refused
	}
}

// Collect reads the hub's counters and its sessions' queues and round trips
// and sends them as constant metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.hub.Stats()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	gauge(c.active, float64(st.Active))
	counter(c.total, st.Total)
	for code, n := range st.CloseCodes {
		counter(c.closed, n, strconv.Itoa(code))
	}
	counter(c.messages, st.MessagesReceived, "in")
	counter(c.messages, st.MessagesSent, "out")
	counter(c.bytes, st.BytesReceived, "in")
	counter(c.bytes, st.BytesSent, "out")
	counter(c.dropped, st.Dropped)
	gauge(c.rooms, float64(st.Rooms))
	gauge(c.topics, float64(st.Topics))
	cl := st.Cluster
	gauge(c.outbox, float64(cl.Outbox))
	counter(c.envelopes, cl.Published, "published")
	counter(c.envelopes, cl.Refused, "refused")
	counter(c.envelopes, cl.Failed, "failed")
	counter(c.received, cl.Received)
	gauge(c.subscriptions, float64(cl.Subscriptions))
	counter(c.subscribeFailures, cl.SubscribeFailed)
	counter(c.outages, cl.Outages)
	up := 1.0
	if cl.Down {
		up = 0
	}
	gauge(c.brokerUp, up)
	counter(c.presenceFailures, cl.PresenceFailed)
	counter(c.eventsLost, cl.LostEvents)
	hs := st.History
	gauge(c.histRooms, float64(hs.Rooms))
	gauge(c.histMessages, float64(hs.Messages))
	gauge(c.histBytes, float64(hs.Bytes))
	counter(c.histAppends, hs.Appended, "ok")
	counter(c.histAppends, hs.AppendFailed, "failed")
	counter(c.recoveries, hs.Recovered, "recovered")
	counter(c.recoveries, hs.Resynced, "resync")
	counter(c.histGaps, hs.Refilled, "refilled")
	counter(c.histGaps, hs.Lost, "lost")
	if c.refusals != nil {
		for reason, n := range c.refusals() {
			counter(c.refused, n, reason)
		}
	}

	queue := newSnapshot(c.queueB)
	rtt := newSnapshot(c.rttB)
	for _, id := range c.hub.SessionIDs() {
		s, ok := c.hub.Session(id)
		if !ok {
			continue // ended since the IDs were listed
		}
		msgs, _ := s.Queued()
		queue.observe(float64(msgs))
		if d := s.RTT(); d > 0 {
			rtt.observe(d.Seconds())
		}
	}
	ch <- queue.metric(c.queue)
	ch <- rtt.metric(c.rtt)
}
