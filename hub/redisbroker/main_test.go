package redisbroker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every wait for an event: a failure bound, never an
// expected duration.
const waitFor = 20 * time.Second

// newClient returns a client of srv, closed when the test ends.
func newClient(t *testing.T, srv *redistest.Server) *redis.Client { return newClientTB(t, srv) }

func newClientTB(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// host is the hub's side of the broker for tests of the broker alone: it
// records what the broker hands it.
type host struct {
	name string
	got  chan hub.Envelope

	mu     sync.Mutex
	events []string // "down" and "up", in order
	change chan struct{}
}

func newHost(name string) *host {
	return &host{name: name, got: make(chan hub.Envelope, 4096), change: make(chan struct{}, 64)}
}

func (h *host) Deliver(e hub.Envelope) { h.got <- e }
func (h *host) Disconnected(error)     { h.event("down") }
func (h *host) Reconnected()           { h.event("up") }

func (h *host) event(ev string) {
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
	select {
	case h.change <- struct{}{}:
	default:
	}
}

func (h *host) eventList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...)
}

// awaitEvents waits until the host has seen exactly want (a prefix is not
// enough: extra events fail too, once they arrive).
func (h *host) awaitEvents(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		got := h.eventList()
		if len(got) >= len(want) {
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s: events %v, want %v", h.name, got, want)
				}
			}
			if len(got) > len(want) {
				t.Fatalf("%s: events %v, want %v", h.name, got, want)
			}
			return
		}
		select {
		case <-h.change:
		case <-deadline:
			t.Fatalf("%s: events %v, want %v", h.name, got, want)
		}
	}
}

// next returns the next envelope the host was handed.
func (h *host) next(t *testing.T) hub.Envelope {
	t.Helper()
	select {
	case e := <-h.got:
		return e
	case <-time.After(waitFor):
		t.Fatalf("%s: no envelope delivered", h.name)
		return hub.Envelope{}
	}
}

// none fails if the host has been handed anything (call once a sentinel
// published later has arrived).
func (h *host) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-h.got:
		t.Fatalf("%s was handed %s %q %q", h.name, kindName(e.Kind), e.Target, e.Data)
	default:
	}
}

func kindName(k hub.Kind) string {
	return map[hub.Kind]string{hub.ToAll: "ToAll", hub.ToRoom: "ToRoom", hub.ToTopic: "ToTopic", hub.ToSession: "ToSession"}[k]
}

// node is a started broker with its recording host.
type node struct {
	*Broker
	*host
}

// startNode starts a broker named name on client, closed when the test
// ends. edit, if not nil, changes the Config first.
func startNode(t *testing.T, client redis.UniversalClient, name string, edit func(*Config)) node {
	t.Helper()
	return startNodeWith(t, client, name, edit)
}

// startNodeTB is startNode with the default Config, for benchmarks.
func startNodeTB(t testing.TB, client redis.UniversalClient, name string) node {
	t.Helper()
	return startNodeWith(t, client, name, nil)
}

func startNodeWith(t testing.TB, client redis.UniversalClient, name string, edit func(*Config)) node {
	t.Helper()
	cfg := Config{Client: client}
	if edit != nil {
		edit(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := newHost(name)
	if err := b.Start(name, h); err != nil {
		t.Fatalf("Start(%s): %v", name, err)
	}
	t.Cleanup(func() { b.Close() })
	return node{b, h}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

func (n node) publish(t *testing.T, e hub.Envelope) {
	t.Helper()
	e.Node = n.host.name
	if e.Kind != 0 && e.Type == 0 && e.Op == hub.OpMessage {
		e.Type = hub.TextMessage
	}
	if err := n.Publish(ctxT(t), e); err != nil {
		t.Fatalf("%s: Publish: %v", n.host.name, err)
	}
}

func (n node) subscribe(t *testing.T, kind hub.Kind, name string) {
	t.Helper()
	if err := n.Subscribe(ctxT(t), hub.Channel{Kind: kind, Name: name}); err != nil {
		t.Fatalf("%s: Subscribe %s: %v", n.host.name, name, err)
	}
}

// awaitData returns the Data of the next envelope and fails unless it is
// want.
func (h *host) awaitData(t *testing.T, want string) hub.Envelope {
	t.Helper()
	e := h.next(t)
	if string(e.Data) != want {
		t.Fatalf("%s: got %s %q %q, want %q", h.name, kindName(e.Kind), e.Target, e.Data, want)
	}
	return e
}

// isErr is errors.Is for table checks.
func isErr(err, target error) bool { return errors.Is(err, target) }
