package natsbroker_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
)

// The server is killed and restarted on the same port while a node
// publishes without pause: both nodes report the outage and the
// reconnection, the subscriber is subscribed again without anyone calling
// Subscribe, and delivery resumes in order, without duplicates.
func TestRestartMidStream(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a, b := newNode(t, ts, "a", natsbroker.Config{}), newNode(t, ts, "b", natsbroker.Config{})
	b.subscribe(t, hub.ToRoom, "live")
	b.subscribe(t, hub.ToTopic, "ticks.>")

	var sent atomic.Uint64 // sequence numbers published successfully
	var failed atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the publisher; bounded by stop and by a count
		defer wg.Done()
		for i := uint64(1); i < 5_000_000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			data := binary.BigEndian.AppendUint64(nil, i)
			e := hub.Envelope{Node: "a", Kind: hub.ToRoom, Target: "live", Type: hub.BinaryMessage, Data: data}
			if i%2 == 0 {
				e.Kind, e.Target = hub.ToTopic, "ticks.eu"
			}
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := a.b.Publish(c, e)
			cancel()
			if err != nil {
				failed.Add(1)
				continue
			}
			sent.Store(i)
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	var last uint64
	receive := func(until func(uint64) bool) {
		t.Helper()
		for {
			e := b.h.next(t)
			n := binary.BigEndian.Uint64(e.Data)
			if n <= last {
				t.Fatalf("received %d after %d: out of order or duplicated", n, last)
			}
			last = n
			if until(n) {
				return
			}
		}
	}
	receive(func(n uint64) bool { return n >= 100 })

	ts.restart(t)
	for _, n := range []*node{a, b} {
		if ev := n.h.event(t); ev != "disconnected" {
			t.Fatalf("%s: first event %q, want disconnected", n.name, ev)
		}
		if ev := n.h.event(t); ev != "reconnected" {
			t.Fatalf("%s: second event %q, want reconnected", n.name, ev)
		}
	}
	// Once both are back, what a publishes reaches b again.
	after := sent.Load()
	receive(func(n uint64) bool { return n > after+100 })
	for _, n := range []*node{a, b} {
		if st := n.b.Stats(); st.Disconnects != 1 || st.Reconnects != 1 {
			t.Fatalf("%s: stats %+v, want one disconnect and one reconnect", n.name, st)
		}
	}
	t.Logf("delivered up to %d; %d publishes refused during the outage", last, failed.Load())
}

// While the server is down, calls fail at once with ErrNotConnected; a
// channel subscribed during the outage is subscribed once the server is
// back; Close is bounded while the server is unreachable.
func TestOutage(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a := newNode(t, ts, "a", natsbroker.Config{})
	b := newNode(t, ts, "b", natsbroker.Config{Timeout: time.Second})
	c := newNode(t, ts, "c", natsbroker.Config{Timeout: time.Second})
	b.subscribe(t, hub.ToRoom, "before")

	ts.Stop()
	for _, n := range []*node{a, b, c} {
		if ev := n.h.event(t); ev != "disconnected" {
			t.Fatalf("%s: event %q, want disconnected", n.name, ev)
		}
	}
	e := hub.Envelope{Node: "a", Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte("lost")}
	if err := a.b.Publish(ctx(t), e); !errors.Is(err, natsbroker.ErrNotConnected) {
		t.Fatalf("Publish while down = %v, want ErrNotConnected", err)
	}
	if err := a.b.AddPresence(ctx(t), "r", []hub.Member{{SessionID: "a-1", Node: "a"}}, time.Minute); !errors.Is(err, natsbroker.ErrNotConnected) {
		t.Fatalf("AddPresence while down = %v, want ErrNotConnected", err)
	}
	during := hub.Channel{Kind: hub.ToRoom, Name: "during"}
	if err := b.b.Subscribe(ctx(t), during); !errors.Is(err, natsbroker.ErrNotConnected) {
		t.Fatalf("Subscribe while down = %v, want ErrNotConnected", err)
	}
	// c closes while the server is unreachable: bounded, and no call to
	// its host afterwards (checked by node.close) nor goroutine left
	// (goleak).
	c.close(t)
	if err := c.b.Publish(ctx(t), e); !errors.Is(err, natsbroker.ErrClosed) {
		t.Fatalf("Publish after Close = %v, want ErrClosed", err)
	}

	ts.Restart() // start it again on the same port and store
	for _, n := range []*node{a, b} {
		if ev := n.h.event(t); ev != "reconnected" {
			t.Fatalf("%s: event %q, want reconnected", n.name, ev)
		}
	}
	// The hub retries a failed Subscribe; the retry confirms it.
	b.subscribe(t, hub.ToRoom, "during")
	for _, room := range []string{"before", "during"} {
		a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: room, Type: hub.TextMessage, Data: []byte(room)})
		if got := b.h.next(t); got.Target != room {
			t.Fatalf("b got %q, want %q", got.Target, room)
		}
	}
}

func TestStartWithoutServer(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	url := ts.url()
	ts.Stop()
	b, err := natsbroker.New(natsbroker.Config{URL: url, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start("a", newHost(t)); err == nil {
		t.Fatal("Start without a server succeeded")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start("a", newHost(t)); !errors.Is(err, natsbroker.ErrClosed) {
		t.Fatalf("Start after Close = %v, want ErrClosed", err)
	}
}

// slowHost blocks in Deliver until released: a node that cannot keep up.
type slowHost struct {
	release chan struct{}
	n       atomic.Int64
}

func (h *slowHost) Deliver(hub.Envelope) { <-h.release; h.n.Add(1) }
func (*slowHost) Disconnected(error)     {}
func (*slowHost) Reconnected()           {}

// When the node cannot keep up, the bounded queue drops what does not fit,
// and every drop is counted: delivered plus dropped is what was sent.
func TestQueueFullDropsAreCounted(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	a := newNode(t, ts, "a", natsbroker.Config{})
	b, err := natsbroker.New(natsbroker.Config{URL: ts.url(), QueueSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	h := &slowHost{release: make(chan struct{})}
	if err := b.Start("b", h); err != nil {
		t.Fatal(err)
	}
	const sent = 200
	for i := range sent {
		a.publish(t, hub.Envelope{Kind: hub.ToAll, Type: hub.TextMessage, Data: []byte{byte(i)}})
	}
	close(h.release)
	deadline := time.Now().Add(wait)
	for {
		st := b.Stats()
		if st.Dropped > 0 && uint64(h.n.Load())+st.Dropped == sent {
			t.Logf("delivered %d, dropped %d", h.n.Load(), st.Dropped)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d, stats %+v; want drops, delivered+dropped = %d", h.n.Load(), st, sent)
		}
		time.Sleep(10 * time.Millisecond) // polling a counter, bounded by deadline
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
