package hub

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSlowConsumer broadcasts to 100 reading clients and one that never
// reads, under each SlowPolicy. The readers must get every message in order;
// the stalled session is handled by the policy, and every message offered to
// it is either sent or counted as dropped.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	const (
		total    = 500
		window   = 32 // messages in flight per round, below MaxQueuedMessages
		maxQueue = 64
		size     = 1024
	)
	// The stalled writer blocks once the kernel buffers are full; the session
	// must overflow its queue before WriteTimeout cuts it off (and, under
	// the drop policies, stay open), so WriteTimeout is long. A session
	// closed for being slow still ends only when its blocked write times out.
	cases := []struct {
		name         string
		policy       SlowPolicy
		readers      int
		staysOpen    bool
		writeTimeout time.Duration
	}{
		{"disconnect", Disconnect, 100, false, 5 * time.Second},
		{"drop oldest", DropOldest, 100, true, time.Minute},
		{"drop newest", DropNewest, 100, true, time.Minute},
		{"block", Block, 100, false, 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			readers := tc.readers
			var slowCalls atomic.Int64
			var slowPolicy atomic.Int64
			th := newTestHub(t, Config{
				PingInterval:      -1,
				MaxQueuedMessages: maxQueue,
				SlowPolicy:        tc.policy,
				BlockTimeout:      100 * time.Millisecond,
				WriteTimeout:      tc.writeTimeout,
				CloseTimeout:      time.Second,
				OnSlow: func(s *Session, applied SlowPolicy) {
					slowCalls.Add(1)
					slowPolicy.Store(int64(applied))
				},
			})
			th.onConnect(func(s *Session) {
				if s.Header().Get("X-Stall") != "" {
					shrinkSendBuffer(t, s)
				}
			})
			stalledConn, stalled := th.dialWith(t, stalledDialer(), http.Header{"X-Stall": {"1"}})
			_ = stalledConn // never read

			progress := make(chan struct{}, readers)
			failures := make(chan error, readers)
			var wg sync.WaitGroup
			for r := range readers {
				c, _ := th.dial(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range total {
						c.SetReadDeadline(time.Now().Add(waitFor))
						_, p, err := c.ReadMessage()
						if err != nil {
							failures <- fmt.Errorf("reader %d after %d messages: %w", r, i, err)
							return
						}
						if want := fmt.Sprintf("%06d", i); len(p) != size || string(p[:6]) != want {
							failures <- fmt.Errorf("reader %d: message %q, want %s", r, p[:min(6, len(p))], want)
							return
						}
						if (i+1)%window == 0 {
							progress <- struct{}{}
						}
					}
				}()
			}

			pad := strings.Repeat("x", size-6)
			okStalled := 0 // messages the stalled session accepted
			maxSeen := 0
			for i := range total {
				n, err := th.Broadcast(Text(fmt.Sprintf("%06d", i) + pad))
				if err != nil {
					t.Fatal(err)
				}
				if n < readers || n > readers+1 {
					t.Fatalf("message %d queued for %d sessions", i, n)
				}
				okStalled += n - readers
				if q, b := stalled.Queued(); q > maxQueue || (q > 1 && b > 1<<20) {
					t.Fatalf("stalled queue holds %d messages, %d bytes", q, b)
				} else {
					maxSeen = max(maxSeen, q)
				}
				if (i+1)%window == 0 { // wait for every reader to catch up
					for range readers {
						select {
						case <-progress:
						case err := <-failures:
							t.Fatal(err)
						}
					}
				}
			}
			wg.Wait()
			close(failures)
			for err := range failures {
				t.Fatal(err)
			}

			if tc.staysOpen {
				if isDone(stalled.Done()) {
					t.Fatalf("the stalled session ended: %v", stalled.Err())
				}
				if stalled.Counters().Dropped == 0 {
					t.Fatal("nothing dropped for the stalled session")
				}
				if maxSeen != maxQueue {
					t.Fatalf("stalled queue peaked at %d, want the bound %d", maxSeen, maxQueue)
				}
				stalled.Disconnect()
			}
			ev := th.awaitEnd(t, stalled)
			c := stalled.Counters()
			offered := okStalled
			switch tc.policy {
			case Disconnect, Block:
				if ev.code != CloseSlowConsumer || ev.reason != "slow consumer" {
					t.Fatalf("OnClose %d %q, want %d \"slow consumer\"", ev.code, ev.reason, CloseSlowConsumer)
				}
				offered++ // the message that overflowed the queue
				if slowCalls.Load() != 1 || SlowPolicy(slowPolicy.Load()) != Disconnect {
					t.Fatalf("OnSlow called %d times, last with %v", slowCalls.Load(), SlowPolicy(slowPolicy.Load()))
				}
			case DropOldest:
				if okStalled != total {
					t.Fatalf("DropOldest refused %d messages", total-okStalled)
				}
			case DropNewest:
				offered = total
				if refused := total - okStalled; refused == 0 || slowCalls.Load() != int64(refused) {
					t.Fatalf("%d refused, OnSlow called %d times", refused, slowCalls.Load())
				}
			}
			if c.MessagesSent+c.Dropped != uint64(offered) {
				t.Fatalf("stalled: sent %d + dropped %d != offered %d (accepted %d)", c.MessagesSent, c.Dropped, offered, okStalled)
			}
			if c.Dropped == 0 {
				t.Fatal("stalled: nothing counted as dropped")
			}
			if st := th.Stats(); st.Dropped != c.Dropped {
				t.Fatalf("hub Dropped %d, stalled session %d", st.Dropped, c.Dropped)
			}
			t.Logf("stalled: accepted %d, %+v, OnSlow %d", okStalled, c, slowCalls.Load())
		})
	}
}

func TestSendPolicies(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxQueuedMessages: 4, SlowPolicy: DropNewest})
	th.onConnect(func(s *Session) { shrinkSendBuffer(t, s) })
	_, s := th.dialWith(t, stalledDialer(), nil)
	big := Binary(make([]byte, 64<<10))
	var refused int
	for range 200 {
		switch err := s.Send(big); err {
		case nil:
		case ErrQueueFull:
			refused++
		default:
			t.Fatal(err)
		}
	}
	if refused == 0 {
		t.Fatal("no Send refused with ErrQueueFull")
	}
	if err := s.Send(Message{Type: 7}); err == nil {
		t.Fatal("Send accepted a bad message type")
	}
	s.Disconnect()
	th.awaitEnd(t, s)
	if err := s.Send(Text("x")); err != ErrClosed {
		t.Fatalf("Send after Disconnect: %v", err)
	}
	if c := s.Counters(); c.MessagesSent+c.Dropped != 200 {
		t.Fatalf("sent %d + dropped %d != 200", c.MessagesSent, c.Dropped)
	}
}

// TestDropOldestPings checks that a ping waiting in a stalled queue is not
// counted as a dropped message when DropOldest discards it, and does not
// skew the queue's byte count.
func TestDropOldestPings(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{
		PingInterval: time.Hour, PongTimeout: time.Hour, WriteTimeout: time.Minute,
		MaxQueuedMessages: 8, SlowPolicy: DropOldest,
	})
	th.onConnect(func(s *Session) { shrinkSendBuffer(t, s) })
	_, s := th.dialWith(t, stalledDialer(), nil)
	msg := Binary(make([]byte, 1024))
	sent := 0
	send := func() {
		t.Helper()
		if err := s.Send(msg); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	for s.Counters().Dropped == 0 { // until the writer is stuck and the queue full
		send()
	}
	s.ping() // what the ping timer does
	for range 20 {
		send()
	}
	if n, b := s.Queued(); n != 8 || b != 8*1024 {
		t.Fatalf("queue holds %d messages, %d bytes; want 8, %d", n, b, 8*1024)
	}
	s.Disconnect()
	th.awaitEnd(t, s)
	if c := s.Counters(); c.MessagesSent+c.Dropped != uint64(sent) {
		t.Fatalf("sent %d + dropped %d != %d offered", c.MessagesSent, c.Dropped, sent)
	}
}

// TestBlockWaits checks that under Block a publisher outrunning a reading
// client waits for room instead of losing messages.
func TestBlockWaits(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxQueuedMessages: 2, SlowPolicy: Block, BlockTimeout: waitFor})
	c, s := th.dial(t)
	const n = 300
	done := make(chan error, 1)
	go func() {
		for i := range n {
			c.SetReadDeadline(time.Now().Add(waitFor))
			_, p, err := c.ReadMessage()
			if err == nil && string(p) != fmt.Sprint(i) {
				err = fmt.Errorf("message %q, want %d", p, i)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range n {
		if err := s.Send(Text(fmt.Sprint(i))); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		if q, _ := s.Queued(); q > 2 {
			t.Fatalf("queue holds %d", q)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := s.Counters(); c.Dropped != 0 {
		t.Fatalf("counters %+v", c)
	}
}

// TestQueueBoundCountsTheBatchInFlight: while the writer is stuck writing a
// batch, that batch counts against the queue's bounds, so a session never
// holds more unwritten bytes than MaxQueuedBytes (plus one message larger
// than the bound, alone).
func TestQueueBoundCountsTheBatchInFlight(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	th := newTestHub(t, Config{PingInterval: -1, MaxQueuedBytes: limit, SlowPolicy: DropNewest})
	th.onConnect(func(s *Session) { shrinkSendBuffer(t, s) })
	_, s := th.dialWith(t, stalledDialer(), nil) // never reads
	if err := s.Send(Binary(make([]byte, limit))); err != nil {
		t.Fatal(err)
	}
	// Wait until the writer has taken it and is stuck on the socket.
	deadline := time.Now().Add(waitFor)
	for {
		s.mu.Lock()
		taken := s.writing && len(s.queue) == 0
		s.mu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer never took the message")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Send(Text("one more")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Send with a full batch in flight: %v, want ErrQueueFull", err)
	}
	if msgs, bytes := s.Queued(); msgs != 1 || bytes != limit {
		t.Fatalf("Queued = %d, %d; want the batch in flight: 1, %d", msgs, bytes, limit)
	}
	if d := s.Counters().Dropped; d != 1 {
		t.Fatalf("Dropped = %d", d)
	}
}
