package natsbroker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
)

// wait bounds every await; it is a failure bound, not an expected time.
const wait = 20 * time.Second

// host is a recording hub.BrokerHost: the hub's side of the interface, so
// that a broker can be tested against a real server without a hub.
type host struct {
	t      *testing.T
	got    chan hub.Envelope
	events chan string // "disconnected" and "reconnected", in order

	mu     sync.Mutex
	closed bool // set once the broker's Close returned
	bad    string
}

func newHost(t *testing.T) *host {
	return &host{t: t, got: make(chan hub.Envelope, 4096), events: make(chan string, 64)}
}

func (h *host) Deliver(e hub.Envelope) {
	h.check("Deliver")
	select {
	case h.got <- e:
	default:
		h.fail("delivery buffer full")
	}
}
func (h *host) Disconnected(error) { h.check("Disconnected"); h.events <- "disconnected" }
func (h *host) Reconnected()       { h.check("Reconnected"); h.events <- "reconnected" }

func (h *host) check(call string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed && h.bad == "" {
		h.bad = call + " after Close returned"
	}
}

func (h *host) fail(why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bad == "" {
		h.bad = why
	}
}

// next returns the next delivered envelope.
func (h *host) next(t *testing.T) hub.Envelope {
	t.Helper()
	select {
	case e := <-h.got:
		return e
	case <-time.After(wait):
		t.Fatal("no envelope delivered")
		return hub.Envelope{}
	}
}

// event returns the next connection event.
func (h *host) event(t *testing.T) string {
	t.Helper()
	select {
	case ev := <-h.events:
		return ev
	case <-time.After(wait):
		t.Fatal("no connection event")
		return ""
	}
}

// node is a started broker with its host.
type node struct {
	name string
	b    *natsbroker.Broker
	h    *host
}

func newNode(t *testing.T, ts *testServer, name string, cfg natsbroker.Config) *node {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = ts.url()
	}
	if cfg.ReconnectWait == 0 {
		cfg.ReconnectWait = 50 * time.Millisecond
	}
	b, err := natsbroker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t)
	if err := b.Start(name, h); err != nil {
		t.Fatalf("Start(%q): %v", name, err)
	}
	n := &node{name: name, b: b, h: h}
	t.Cleanup(func() { n.close(t) })
	return n
}

func (n *node) close(t *testing.T) {
	if err := n.b.Close(); err != nil {
		t.Errorf("Close %s: %v", n.name, err)
	}
	n.h.mu.Lock()
	n.h.closed = true
	bad := n.h.bad
	n.h.mu.Unlock()
	if bad != "" {
		t.Errorf("node %s: %s", n.name, bad)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

func (n *node) publish(t *testing.T, e hub.Envelope) {
	t.Helper()
	e.Node = n.name
	if err := n.b.Publish(ctx(t), e); err != nil {
		t.Fatalf("Publish from %s: %v", n.name, err)
	}
}

func (n *node) subscribe(t *testing.T, kind hub.Kind, name string) {
	t.Helper()
	if err := n.b.Subscribe(ctx(t), hub.Channel{Kind: kind, Name: name}); err != nil {
		t.Fatalf("Subscribe(%q) on %s: %v", name, n.name, err)
	}
}

// drainUntil returns every envelope delivered to n up to and including a
// ToAll envelope whose Data is marker. Envelopes from one publisher arrive
// in order, so everything that publisher sent before the marker is in.
func (n *node) drainUntil(t *testing.T, marker string) []hub.Envelope {
	t.Helper()
	var out []hub.Envelope
	for {
		e := n.h.next(t)
		if e.Kind == hub.ToAll && string(e.Data) == marker {
			return out
		}
		out = append(out, e)
	}
}

// all returns a ToAll text envelope.
func all(s string) hub.Envelope {
	return hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte(s)}
}
