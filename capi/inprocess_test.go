package main

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// These tests call the exported functions in-process, so that the race
// detector (go test -race) sees the library's Go side, which the C
// programs of the other tests run outside of. No callback is set, so poll
// consumes events without calling into C.

// testManager starts a manager on 127.0.0.1 with a free port.
// Its send queues are large enough that the floods below never make a
// client a slow consumer.
// maxConns other than 0 sets max_connections.
func testManager(t *testing.T, maxConns int) (m *manager, url string, free func()) {
	t.Helper()
	cfg := dmsc_ws_server_config_new()
	if maxConns != 0 && dmsc_ws_server_config_set_max_connections(cfg, as(dmsc_ws_session_get_id(nil), maxConns)) != codeOK {
		t.Fatal("set_max_connections failed")
	}
	if dmsc_ws_server_config_set_port(cfg, 0) != codeOK ||
		dmsc_ws_server_config_set_max_queued_messages(cfg, 1<<20) != codeOK ||
		dmsc_ws_server_config_set_max_queued_bytes(cfg, 1<<28) != codeOK {
		t.Fatal("a config setter failed")
	}
	cm := dmsc_ws_session_manager_new(cfg)
	if rc := dmsc_ws_session_manager_start(cm); rc != codeOK {
		t.Fatal(rc)
	}
	m, err := managerOf(cm)
	if err != nil {
		t.Fatal(err)
	}
	url = fmt.Sprintf("ws://127.0.0.1:%d/", dmsc_ws_session_manager_get_port(cm))
	return m, url, func() {
		if rc := dmsc_ws_session_manager_free(cm); rc != codeOK {
			t.Errorf("manager_free: %d", rc)
		}
		if rc := dmsc_ws_server_config_free(cfg); rc != codeOK {
			t.Errorf("config_free: %d", rc)
		}
	}
}

// pollUntil polls until cond holds, for at most 30 polls of one second.
func pollUntil(t *testing.T, m *manager, cond func() bool, what string) {
	t.Helper()
	for i := 0; i < 30 && !cond(); i++ {
		if _, err := m.poll(1000); err != nil {
			t.Fatal(err)
		}
	}
	if !cond() {
		t.Fatalf("no %s after 30 polls", what)
	}
}

func awaitDone(t *testing.T, s *session) {
	t.Helper()
	select {
	case <-s.hs.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("session %d did not end", s.id)
	}
}

// TestSessionIDs checks dmsc_ws.h's rules for IDs: never 0, skipped while
// reserved when the counter wraps, and reserved until the close event has
// been polled.
func TestSessionIDs(t *testing.T) {
	m, url, free := testManager(t, 0)
	defer free()
	connect := func(wantID uint32) *websocket.Conn {
		t.Helper()
		c := dial(t, url, nil, false)
		pollUntil(t, m, func() bool { _, ok := m.ids.get(wantID); return ok }, fmt.Sprintf("session %d", wantID))
		return c
	}
	a := connect(1)
	m.ids.mu.Lock()
	m.ids.last = math.MaxUint32 - 1
	m.ids.mu.Unlock()
	connect(math.MaxUint32)
	connect(2) // wrapped: 0 is never an ID, 1 is taken

	a.Close()
	sa, _ := m.ids.get(1)
	awaitDone(t, sa)
	// Session 1 has ended, but its close event is not polled yet: its ID
	// is still reserved (and still finds it).
	m.ids.mu.Lock()
	m.ids.last = math.MaxUint32
	m.ids.mu.Unlock()
	// Dial without polling, so that session 1's close event stays queued
	// while the new session takes its ID.
	dial(t, url, nil, false)
	for i := 0; i < 3000 && m.q.len() < 2; i++ { // close of 1, connect of the new one
		time.Sleep(10 * time.Millisecond) // bounded: 30 s; nothing to await without polling
	}
	if _, ok := m.ids.get(3); !ok {
		t.Fatalf("the new session did not get ID 3 (1 reserved, 2 in use); queue holds %d events", m.q.len())
	}
	if s, ok := m.ids.get(1); !ok || s != sa {
		t.Fatal("ID 1 was released before its close event was polled")
	}
	if ids := m.ids.open(); fmt.Sprint(ids) != fmt.Sprint([]uint32{2, 3, math.MaxUint32}) {
		t.Errorf("open IDs %v, want [2 3 %d]", ids, uint32(math.MaxUint32))
	}
	pollUntil(t, m, func() bool { _, ok := m.ids.get(1); return !ok }, "release of ID 1")
	m.ids.mu.Lock()
	m.ids.last = 0
	m.ids.mu.Unlock()
	connect(1) // free again
}

// TestConcurrentCalls sends, routes and reads counters from many
// goroutines while clients send and another goroutine polls, then stops
// the manager while the calls go on: under -race this checks the
// library's synchronisation, and every call must answer with a count or
// DMSC_WS_ERR_STATE, never anything else.
func TestConcurrentCalls(t *testing.T) {
	m, url, free := testManager(t, 0)
	cm := m.shell
	const clients = 4
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i] = dial(t, url, nil, false)
	}
	pollUntil(t, m, func() bool { return len(m.ids.open()) == clients }, "all clients")

	stopPoll := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the polling thread
		defer wg.Done()
		for {
			select {
			case <-stopPoll:
				return
			default:
			}
			if n := dmsc_ws_session_manager_poll(cm, 10); n < 0 {
				t.Errorf("poll: %d", n)
				return
			}
		}
	}()
	for _, c := range conns { // clients send and drain what they get
		wg.Add(1)
		go func(c *websocket.Conn) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if c.WriteMessage(websocket.TextMessage, []byte("ping")) != nil {
					break
				}
			}
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}(c)
	}
	cID := dmsc_ws_session_get_id(nil) // a zero C.uint32_t, for as
	var callers sync.WaitGroup
	var delivered sync.Map // goroutine -> whether a routing call reached a session
	run := func() {
		for g := 0; g < 8; g++ {
			callers.Add(1)
			go func(g int) {
				defer callers.Done()
				for i := 0; i < 200; i++ {
					for _, rc := range []int{
						int(dmsc_ws_session_manager_broadcast(cm, nil, 0)),
						int(dmsc_ws_session_manager_broadcast_except_binary(cm, 1, nil, 0)),
						int(dmsc_ws_session_manager_send(cm, as(cID, 1+i%clients), nil, 0)),
					} {
						if rc > 0 {
							delivered.Store(g, true)
						}
						if rc < 0 && rc != codeState && rc != codeClosed && rc != codeNotFound && rc != codeQueueFull {
							t.Errorf("routing call: %d", rc)
							return
						}
					}
					_ = dmsc_ws_session_manager_get_active_count(cm)
					_ = dmsc_ws_session_manager_get_total_messages(cm)
					_ = dmsc_ws_session_manager_get_session_ids(cm, nil, 0)
					if s := dmsc_ws_session_manager_get_session(cm, as(cID, 1+g%clients)); s != nil {
						_ = dmsc_ws_session_get_messages_sent(s)
						_ = dmsc_ws_session_get_remote_addr(s)
						if rc := dmsc_ws_session_free(s); rc != codeOK {
							t.Errorf("session_free: %d", rc)
						}
					}
				}
			}(g)
		}
	}
	run() // while running
	callers.Wait()
	for g := 0; g < 8; g++ {
		if _, ok := delivered.Load(g); !ok {
			t.Errorf("goroutine %d reached no session while the manager ran", g)
		}
	}
	run() // and again, racing with stop
	if rc := dmsc_ws_session_manager_stop(cm, 10000); rc != codeOK && rc != codeTimeout {
		t.Errorf("stop: %d", rc)
	}
	callers.Wait()
	close(stopPoll)
	wg.Wait()
	if n := dmsc_ws_session_manager_get_active_count(cm); n != 0 {
		t.Errorf("%d sessions active after stop", n)
	}
	free()
}

// TestAdmitBound checks that handshakes are refused with 503 while
// 2 * max_connections IDs wait for their close event to be polled, so an
// application that stops polling cannot be made to hold unbounded state.
func TestAdmitBound(t *testing.T) {
	m, url, free := testManager(t, 1)
	defer free()
	for i := 1; i <= 2; i++ { // two sessions come and go; nobody polls
		c := dial(t, url, nil, false)
		var s *session
		for j := 0; j < 3000 && s == nil; j++ {
			s, _ = m.ids.get(uint32(i))
			if s == nil {
				time.Sleep(10 * time.Millisecond) // bounded: 30 s; nothing to await without polling
			}
		}
		if s == nil {
			t.Fatalf("session %d never connected", i)
		}
		c.Close()
		awaitDone(t, s)
	}
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	c, resp, err := d.Dial(url, nil)
	if err == nil {
		c.Close()
		t.Fatal("a handshake was accepted with 2 IDs reserved and max_connections 1")
	}
	if resp == nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("refusal %v %v, want 503 with Retry-After", resp, err)
	}
	pollUntil(t, m, func() bool { return m.ids.reserved() == 0 }, "release of the IDs")
	dial(t, url, nil, false) // admitted again
	pollUntil(t, m, func() bool { return m.ids.reserved() == 1 }, "the new session")
}

// TestEventQueueBound checks the event queue's bound and policies.
func TestEventQueueBound(t *testing.T) {
	var q eventQueue
	q.init(2, 10)
	msg := func(s string) event { return event{kind: evMessage, data: append([]byte(s), 0)} }
	never := make(chan struct{})
	if !q.pushMessage(msg("12345678901234"), false, never) {
		t.Fatal("one message over the byte bound must pass into an empty queue")
	}
	if q.pushMessage(msg("x"), false, never) {
		t.Fatal("a message past the byte bound was queued")
	}
	q.pop()
	for _, s := range []string{"a", "b"} {
		if !q.pushMessage(msg(s), false, never) {
			t.Fatalf("message %q refused under the bound", s)
		}
	}
	if q.pushMessage(msg("c"), false, never) {
		t.Fatal("a third message was queued with a bound of 2")
	}
	q.push(event{kind: evClose}) // never refused, not counted
	if got := q.droppedCount(); got != 2 {
		t.Errorf("dropped %d, want 2", got)
	}
	// Block waits for room...
	queued := make(chan bool)
	go func() { queued <- q.pushMessage(msg("d"), true, never) }()
	if ev, _ := q.pop(); string(ev.data[:1]) != "a" {
		t.Fatalf("popped %q, want the oldest", ev.data)
	}
	if !<-queued {
		t.Fatal("a blocked message was not queued when room was made")
	}
	// ...or until its session ends.
	done := make(chan struct{})
	go func() { queued <- q.pushMessage(msg("e"), true, done) }()
	close(done)
	if <-queued {
		t.Fatal("a blocked message was queued although its session ended and the queue stayed full")
	}
	var order []string
	for {
		ev, ok := q.pop()
		if !ok {
			break
		}
		if ev.kind == evMessage {
			order = append(order, string(ev.data[:len(ev.data)-1]))
		} else {
			order = append(order, "close")
		}
	}
	if fmt.Sprint(order) != "[b close d]" {
		t.Errorf("order %v, want [b close d]", order)
	}
}

// as converts v to the type of like; test files cannot name C types, but
// can take them from a value (here C.uint32_t from a getter's result).
func as[T ~uint32](like T, v int) T { return T(v) }
