package metrics

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/wsgate/wsgate/hub"
)

// failBound bounds every wait; it is a failure bound, never an expected
// duration.
const failBound = 10 * time.Second

// testServer is a hub behind an httptest server that refuses requests
// without ?token=ok with 401 and counts them, as a middleware would.
type testServer struct {
	hub     *hub.Hub
	url     string
	refused atomic.Uint64
}

func newTestServer(t *testing.T, cfg hub.Config) *testServer {
	t.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{hub: h}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != "ok" {
			ts.refused.Add(1)
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		h.Accept(w, r, hub.AcceptOptions{})
	}))
	ts.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		ctx, cancel := contextWithBound()
		defer cancel()
		h.Shutdown(ctx)
		srv.Close()
	})
	return ts
}

func (ts *testServer) refusals() map[string]uint64 {
	return map[string]uint64{ReasonAuth: ts.refused.Load()}
}

// client is a gorilla client whose reads happen on its own goroutine (so it
// answers pings); received messages arrive on msgs, and done closes when
// reading ends.
type client struct {
	c    *websocket.Conn
	msgs chan string
	done chan struct{}
	err  error // set before done closes
}

func dial(t *testing.T, url string) *client {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	cl := &client{c: c, msgs: make(chan string, 16), done: make(chan struct{})}
	go func() {
		defer close(cl.done)
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				cl.err = err
				return
			}
			select {
			case cl.msgs <- string(b):
			default: // the test reads only what it expects
			}
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-cl.done
	})
	return cl
}

func (cl *client) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-cl.msgs:
		return m
	case <-cl.done:
		t.Fatalf("read: %v", cl.err)
	case <-time.After(failBound):
		t.Fatal("no message")
	}
	return ""
}

// scrape gathers reg and returns its families by name.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := make(map[string]*dto.MetricFamily, len(fams))
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// value returns the value of the sample of name whose labels include the
// given name=value pairs, or -1 if there is none. For a histogram it is the
// sample count.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f, ok := fams[name]
	if !ok {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// await scrapes until cond holds, failing after failBound.
func await(t *testing.T, reg *prometheus.Registry, what string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(failBound)
	for {
		fams := scrape(t, reg)
		if cond(fams) {
			return fams
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("waiting for %s", what)
		}
	}
}

func TestValuesMove(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, hub.Config{PingInterval: 20 * time.Millisecond})
	ts.hub.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
	c, err := New(ts.hub, Options{Refusals: ts.refusals})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	fams := scrape(t, reg)
	for _, name := range []string{"wsgate_sessions_active", "wsgate_sessions_total", "wsgate_rooms", "wsgate_topics", "wsgate_messages_dropped_total"} {
		if got := value(fams, name); got != 0 {
			t.Errorf("before any session %s = %v, want 0", name, got)
		}
	}
	if got := value(fams, "wsgate_messages_total", "direction", "in"); got != 0 {
		t.Errorf("messages in before any session = %v", got)
	}

	// A refused request counts under its reason.
	if _, resp, err := websocket.DefaultDialer.Dial(ts.url, nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial without token: %v, want 401", err)
	}
	if got := value(scrape(t, reg), "wsgate_refusals_total", "reason", "auth"); got != 1 {
		t.Errorf("refusals{reason=auth} = %v, want 1", got)
	}

	a := dial(t, ts.url+"?token=ok")
	b := dial(t, ts.url+"?token=ok")
	for _, cl := range []*client{a, b} {
		cl.c.WriteMessage(websocket.TextMessage, []byte("hello"))
		if got := cl.next(t); got != "hello" {
			t.Fatalf("echo %q", got)
		}
	}
	// The hub counts a message as sent once its flush returns, which can be
	// just after the client has read it, and it adds the messages and the
	// bytes one after the other: await both. (Not the queues' emptiness:
	// with pings every 20ms a busy writer may never be seen idle.)
	fams = await(t, reg, "both echoes counted as sent, messages and bytes", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "wsgate_messages_total", "direction", "out") == 2 &&
			value(f, "wsgate_message_bytes_total", "direction", "out") == 10
	})
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"wsgate_sessions_active", nil, 2},
		{"wsgate_sessions_total", nil, 2},
		{"wsgate_messages_total", []string{"direction", "in"}, 2},
		{"wsgate_messages_total", []string{"direction", "out"}, 2},
		{"wsgate_message_bytes_total", []string{"direction", "in"}, 10},
		{"wsgate_message_bytes_total", []string{"direction", "out"}, 10},
		{"wsgate_session_queue_messages", nil, 2}, // one observation per session
	}
	for _, c := range checks {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	var sessions []*hub.Session // both attached: both echoes came back
	for _, id := range ts.hub.SessionIDs() {
		if s, ok := ts.hub.Session(id); ok {
			sessions = append(sessions, s)
		}
	}
	if len(sessions) != 2 {
		t.Fatalf("%d sessions, want 2", len(sessions))
	}
	if err := ts.hub.Join(sessions[0].ID(), "lobby"); err != nil {
		t.Fatal(err)
	}
	if err := ts.hub.Subscribe(sessions[1].ID(), "news.>"); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, reg)
	if value(fams, "wsgate_rooms") != 1 || value(fams, "wsgate_topics") != 1 {
		t.Errorf("rooms %v topics %v, want 1 and 1", value(fams, "wsgate_rooms"), value(fams, "wsgate_topics"))
	}

	// The clients answer pings on their reading goroutines.
	await(t, reg, "two ping round trips", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "wsgate_session_ping_rtt_seconds") == 2
	})

	// One client closes politely, the other drops its connection.
	a.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(failBound))
	<-a.done
	b.c.UnderlyingConn().Close()
	// A session leaves sessions_active in the same step as its close code
	// is counted; await each one's Done, which follows (OnClose has run).
	for _, s := range sessions {
		select {
		case <-s.Done():
		case <-time.After(failBound):
			t.Fatalf("session %s did not end", s.ID())
		}
	}
	fams = scrape(t, reg)
	if got := value(fams, "wsgate_sessions_active"); got != 0 {
		t.Errorf("sessions_active = %v after both sessions ended, want 0", got)
	}
	if got := value(fams, "wsgate_sessions_closed_total", "code", "1000"); got != 1 {
		t.Errorf("closed{code=1000} = %v, want 1", got)
	}
	if got := value(fams, "wsgate_sessions_closed_total", "code", "1006"); got != 1 {
		t.Errorf("closed{code=1006} = %v, want 1", got)
	}
	if got := value(fams, "wsgate_sessions_total"); got != 2 {
		t.Errorf("sessions_total after closes = %v, want 2", got)
	}
	if value(fams, "wsgate_rooms") != 0 || value(fams, "wsgate_session_ping_rtt_seconds") != 0 {
		t.Error("rooms or RTT samples left after every session ended")
	}
}

// TestQueueDepth fills the queue of a client that does not read until the
// histogram shows it.
func TestQueueDepth(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, hub.Config{MaxQueuedMessages: 100_000, MaxQueuedBytes: 1 << 30, PingInterval: -1})
	c, err := New(ts.hub, Options{QueueBuckets: []float64{0, 10}})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	conn, _, err := websocket.DefaultDialer.Dial(ts.url+"?token=ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var s *hub.Session
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for s == nil {
		if ids := ts.hub.SessionIDs(); len(ids) == 1 {
			s, _ = ts.hub.Session(ids[0])
		}
		<-tick.C
	}
	// The client never reads: once the socket buffers are full the writer
	// blocks and messages stay queued until it takes them.
	chunk := hub.Binary(make([]byte, 64<<10))
	var h *dto.Histogram
	for i := 0; ; i++ {
		if i == 20_000 {
			t.Fatal("the queue never grew")
		}
		if err := s.Send(chunk); err != nil {
			t.Fatal(err)
		}
		h = scrape(t, reg)["wsgate_session_queue_messages"].GetMetric()[0].GetHistogram()
		if h.GetSampleSum() > 0 {
			break
		}
	}
	queued := h.GetSampleSum()
	if h.GetSampleCount() != 1 {
		t.Errorf("histogram count %d, want 1 session", h.GetSampleCount())
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		if queued <= b.GetUpperBound() {
			want = 1
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("with %v queued, bucket le=%v holds %d, want %d", queued, b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(t.Context())
	cases := []struct {
		name  string
		h     *hub.Hub
		opts  Options
		field string
	}{
		{"nil hub", nil, Options{}, "hub"},
		{"bad namespace", h, Options{Namespace: "ws-gate"}, "Namespace"},
		{"bad label", h, Options{ConstLabels: prometheus.Labels{"a-b": "x"}}, "ConstLabels"},
		{"empty queue buckets", h, Options{QueueBuckets: []float64{}}, "QueueBuckets"},
		{"unsorted RTT buckets", h, Options{RTTBuckets: []float64{1, 0.5}}, "RTTBuckets[1]"},
		{"infinite bucket", h, Options{RTTBuckets: []float64{1, math.Inf(1)}}, "RTTBuckets[1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.h, tc.opts)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err %v, want ErrConfig naming %s", err, tc.field)
			}
		})
	}
}

// TestTwoHubsInOneRegistry registers the collectors of two hubs, told apart
// by a constant label.
func TestTwoHubsInOneRegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	for _, name := range []string{"echo", "fanout"} {
		h, err := hub.New(hub.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Shutdown(t.Context())
		c, err := New(h, Options{Namespace: "app", ConstLabels: prometheus.Labels{"endpoint": name}})
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Register(c); err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
	}
	fams := scrape(t, reg)
	if n := len(fams["app_sessions_active"].GetMetric()); n != 2 {
		t.Fatalf("app_sessions_active has %d series, want 2", n)
	}
}

// TestBrokerSeries follows two nodes on a MemoryBus: what one publishes and
// the other receives, the subscription interest creates, and an outage with
// the publish it made fail.
func TestBrokerSeries(t *testing.T) {
	t.Parallel()
	bus := hub.NewMemoryBus()
	a := newTestServer(t, hub.Config{NodeID: "node-a", Broker: bus.Broker(), PingInterval: -1})
	b := newTestServer(t, hub.Config{NodeID: "node-b", Broker: bus.Broker(), PingInterval: -1})
	regs := map[string]*prometheus.Registry{}
	for name, ts := range map[string]*testServer{"a": a, "b": b} {
		c, err := New(ts.hub, Options{})
		if err != nil {
			t.Fatal(err)
		}
		regs[name] = prometheus.NewRegistry()
		regs[name].MustRegister(c)
	}
	fams := scrape(t, regs["a"])
	for _, name := range []string{"wsgate_broker_outbox_envelopes", "wsgate_broker_received_total", "wsgate_broker_subscriptions", "wsgate_broker_outages_total"} {
		if got := value(fams, name); got != 0 {
			t.Errorf("at start %s = %v, want 0", name, got)
		}
	}
	if got := value(fams, "wsgate_broker_up"); got != 1 {
		t.Errorf("broker_up = %v, want 1", got)
	}

	cl := dial(t, b.url+"?token=ok")
	var id string
	deadline := time.Now().Add(failBound)
	for id == "" {
		if ids := b.hub.SessionIDs(); len(ids) == 1 {
			id = ids[0]
		} else if time.Now().After(deadline) {
			t.Fatal("no session on node-b")
		} else {
			time.Sleep(5 * time.Millisecond) // polling the hub's session list
		}
	}
	if err := b.hub.Join(id, "r"); err != nil {
		t.Fatal(err)
	}
	if got := value(scrape(t, regs["b"]), "wsgate_broker_subscriptions"); got != 1 {
		t.Errorf("node-b subscriptions = %v, want 1", got)
	}
	if _, err := a.hub.SendToRoom("r", hub.Text("hi")); err != nil {
		t.Fatal(err)
	}
	if got := cl.next(t); got != "hi" {
		t.Fatalf("client read %q", got)
	}
	await(t, regs["a"], "one envelope published", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "wsgate_broker_envelopes_total", "result", "published") == 1
	})
	if got := value(scrape(t, regs["b"]), "wsgate_broker_received_total"); got != 1 {
		t.Errorf("node-b received = %v, want 1", got)
	}

	bus.Down()
	await(t, regs["b"], "the outage", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "wsgate_broker_up") == 0 && value(f, "wsgate_broker_outages_total") == 1
	})
	if _, err := a.hub.Broadcast(hub.Text("lost")); err != nil {
		t.Fatal(err)
	}
	await(t, regs["a"], "the failed publish", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "wsgate_broker_envelopes_total", "result", "failed") == 1
	})
	bus.Up()
	await(t, regs["b"], "the recovery", func(f map[string]*dto.MetricFamily) bool {
		return value(f, "wsgate_broker_up") == 1
	})
	if got := value(scrape(t, regs["a"]), "wsgate_broker_envelopes_total", "result", "refused"); got != 0 {
		t.Errorf("refused = %v, want 0", got)
	}
}

// TestHistorySeries follows a room with history: the store's size, the
// appends, a recovery and a resync.
func TestHistorySeries(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, hub.Config{PingInterval: -1, History: hub.HistoryConfig{
		Policy: func(string) hub.HistoryPolicy { return hub.HistoryPolicy{Size: 2} },
	}})
	c, err := New(ts.hub, Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	fams := scrape(t, reg)
	for _, name := range []string{"wsgate_history_messages", "wsgate_history_rooms", "wsgate_history_bytes"} {
		if got := value(fams, name); got != 0 {
			t.Errorf("at start %s = %v, want 0", name, got)
		}
	}
	for _, p := range []string{"ab", "cd", "ef"} {
		if _, err := ts.hub.SendToRoom("r", hub.Text(p)); err != nil {
			t.Fatal(err)
		}
	}
	fams = scrape(t, reg)
	if got := value(fams, "wsgate_history_messages"); got != 2 {
		t.Errorf("history_messages = %v, want 2 (Size 2)", got)
	}
	if got := value(fams, "wsgate_history_bytes"); got != 4 {
		t.Errorf("history_bytes = %v, want 4", got)
	}
	if got := value(fams, "wsgate_history_appends_total", "result", "ok"); got != 3 {
		t.Errorf("appends ok = %v, want 3", got)
	}

	dial(t, ts.url+"?token=ok")
	dial(t, ts.url+"?token=ok")
	var ids []string
	deadline := time.Now().Add(failBound)
	for len(ids) != 2 {
		if ids = ts.hub.SessionIDs(); len(ids) != 2 && time.Now().After(deadline) {
			t.Fatal("no sessions")
		} else if len(ids) != 2 {
			time.Sleep(5 * time.Millisecond) // polling the hub's session list
		}
	}
	_, top, err := ts.hub.ReadHistory("r", hub.Position{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := ts.hub.JoinFrom(ids[0], "r", hub.Position{Epoch: top.Epoch, Offset: 2}); err != nil || !rec.Recovered {
		t.Fatalf("JoinFrom within the history = %+v, %v", rec, err)
	}
	if rec, err := ts.hub.JoinFrom(ids[1], "r", hub.Position{Epoch: top.Epoch, Offset: 0}); err != nil || rec.Recovered {
		t.Fatalf("JoinFrom before the history = %+v, %v", rec, err)
	}
	fams = scrape(t, reg)
	if got := value(fams, "wsgate_history_recoveries_total", "result", "recovered"); got != 1 {
		t.Errorf("recoveries recovered = %v, want 1", got)
	}
	if got := value(fams, "wsgate_history_recoveries_total", "result", "resync"); got != 1 {
		t.Errorf("recoveries resync = %v, want 1", got)
	}
}
