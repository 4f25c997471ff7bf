package main

/*
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"runtime/cgo"
	"sync"
	"time"
	"unsafe"

	"github.com/wsgate/wsgate/hub"
)

type eventKind uint8

const (
	evConnect eventKind = iota + 1
	evMessage
	evError
	evClose
)

// event is one thing that happened to a session, waiting for poll.
type event struct {
	kind eventKind
	s    *session
	typ  hub.MessageType
	data []byte // message data followed by a NUL byte
	code int    // close code, or error code
	text string // close reason, or error message
}

// eventQueue is the bounded FIFO between the hub's goroutines and poll.
// Message events are bounded by maxMsgs and maxBytes; connect, error and
// close events are not counted there: each session adds at most one of each
// and admit bounds the sessions.
type eventQueue struct {
	mu       sync.Mutex // guards everything below
	items    []event
	msgs     int // message events in items
	bytes    int // their data bytes
	maxMsgs  int
	maxBytes int
	dropped  uint64
	// space is closed (and replaced) when a message event leaves, to wake
	// publishers waiting under the Block policy.
	space chan struct{}

	ready chan struct{} // one token: something was pushed
}

func (q *eventQueue) init(maxMsgs, maxBytes int) {
	q.maxMsgs, q.maxBytes = maxMsgs, maxBytes
	q.space = make(chan struct{})
	q.ready = make(chan struct{}, 1)
}

func (q *eventQueue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// push appends a connect, error or close event.
func (q *eventQueue) push(ev event) {
	q.mu.Lock()
	q.items = append(q.items, ev)
	q.mu.Unlock()
	q.wake()
}

// pushMessage appends a message event if it fits. Otherwise, with block
// set, it waits for room until done is closed; it returns false when the
// event was not queued (and counts it as dropped).
func (q *eventQueue) pushMessage(ev event, block bool, done <-chan struct{}) bool {
	n := len(ev.data) - 1
	for {
		q.mu.Lock()
		// One message larger than maxBytes passes when the queue holds no
		// other message, so that it is not refused for ever.
		if q.msgs < q.maxMsgs && (q.bytes+n <= q.maxBytes || q.msgs == 0) {
			q.items = append(q.items, ev)
			q.msgs++
			q.bytes += n
			q.mu.Unlock()
			q.wake()
			return true
		}
		space := q.space
		if !block {
			q.dropped++
			q.mu.Unlock()
			return false
		}
		q.mu.Unlock()
		select {
		case <-space:
		case <-done:
			q.mu.Lock()
			q.dropped++
			q.mu.Unlock()
			return false
		}
	}
}

func (q *eventQueue) pop() (event, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return event{}, false
	}
	ev := q.items[0]
	q.items[0] = event{}
	q.items = q.items[1:]
	if len(q.items) == 0 {
		q.items = nil // let the backing array go
	}
	if ev.kind == evMessage {
		q.msgs--
		q.bytes -= len(ev.data) - 1
		close(q.space)
		q.space = make(chan struct{})
	}
	return ev, true
}

func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *eventQueue) droppedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// discard drops every event without a callback (manager_free).
func (q *eventQueue) discard() {
	q.mu.Lock()
	q.items = nil
	q.msgs, q.bytes = 0, 0
	close(q.space)
	q.space = make(chan struct{})
	q.mu.Unlock()
}

// The hub's callbacks. They run on session goroutines and only enqueue.

func (m *manager) onConnect(hs *hub.Session) {
	s := m.ids.add(hs)
	m.q.push(event{kind: evConnect, s: s})
}

func (m *manager) onMessage(hs *hub.Session, msg hub.Message) {
	s, ok := m.ids.ofHub(hs.ID())
	if !ok {
		return
	}
	// m.Data is ours to keep; the NUL after it is for C's convenience.
	ev := event{kind: evMessage, s: s, typ: msg.Type, data: append(msg.Data, 0)}
	if m.q.pushMessage(ev, m.cfg.eventPolicy == eventsBlock, hs.Context().Done()) {
		return
	}
	if m.cfg.eventPolicy == eventsDisconnect && hs.Kick(hub.ClosePolicy, "event queue full") == nil {
		m.q.push(event{kind: evError, s: s, code: codeEventQueueFull,
			text: "wsgate: the event queue is full (the application does not poll fast enough); session closed with 1008"})
	}
}

func (m *manager) onError(hs *hub.Session, err error) {
	s, ok := m.ids.ofHub(hs.ID())
	if !ok {
		return
	}
	m.q.push(event{kind: evError, s: s, code: sessionErrorCode(err), text: err.Error()})
}

func (m *manager) onClose(hs *hub.Session, code int, reason string) {
	s, ok := m.ids.ofHub(hs.ID())
	if !ok {
		return
	}
	m.q.push(event{kind: evClose, s: s, code: code, text: reason})
}

func sessionErrorCode(err error) int {
	switch {
	case errors.Is(err, hub.ErrProtocol):
		return codeProtocol
	case errors.Is(err, hub.ErrMessageTooBig):
		return codeMessageTooBig
	case errors.Is(err, hub.ErrInvalidData):
		return codeInvalidData
	case errors.Is(err, hub.ErrPongTimeout):
		return codePongTimeout
	case errors.Is(err, hub.ErrWrite):
		return codeWrite
	case errors.Is(err, hub.ErrConnReset):
		return codeConnReset
	}
	return codeInternal
}

// poll waits up to timeout for events, then dispatches those queued at that
// moment, on the calling thread.
func (m *manager) poll(timeoutMs int) (int, error) {
	if !m.polling.CompareAndSwap(false, true) {
		return 0, errorf(codeState, "poll inside a callback or while another thread polls")
	}
	defer m.polling.Store(false)
	if m.q.len() == 0 && timeoutMs != 0 {
		var timeout <-chan time.Time
		if timeoutMs > 0 {
			t := time.NewTimer(time.Duration(timeoutMs) * time.Millisecond)
			defer t.Stop()
			timeout = t.C
		}
	wait:
		for m.q.len() == 0 {
			if timeout == nil {
				if _, err := m.hub(); err != nil {
					break // not running and nothing queued: nothing will come
				}
			}
			select {
			case <-m.q.ready:
			case <-timeout:
				break wait
			}
		}
	}
	n := m.q.len()
	for i := 0; i < n; i++ {
		ev, ok := m.q.pop()
		if !ok {
			return i, nil
		}
		m.dispatch(ev)
	}
	return n, nil
}

// dispatch calls the C callback for ev with a borrowed session object
// that lives for the call.
func (m *manager) dispatch(ev event) {
	if ev.kind == evClose {
		defer m.ids.release(ev.s)
	}
	cs := newSessionObject(ev.s, true)
	if cs == nil {
		return
	}
	defer freeSessionObject(cs)
	switch ev.kind {
	case evConnect:
		C.wsg_dispatch_connect(m.shell, cs)
	case evMessage:
		C.wsg_dispatch_message(m.shell, cs, C.int(ev.typ), (*C.char)(unsafe.Pointer(&ev.data[0])), C.size_t(len(ev.data)-1))
	case evError:
		msg := C.CString(ev.text)
		defer C.free(unsafe.Pointer(msg))
		C.wsg_dispatch_error(m.shell, cs, C.int(ev.code), msg)
	case evClose:
		reason := C.CString(ev.text)
		defer C.free(unsafe.Pointer(reason))
		C.wsg_dispatch_close(m.shell, cs, C.uint16_t(ev.code), reason)
	}
}

// newSessionObject makes the C object for s; borrowed ones are freed by
// the library after the callback.
func newSessionObject(s *session, borrowed bool) *C.DMSCWSSession {
	b := []byte(s.remote + "\x00")
	flag := C.int(0)
	if borrowed {
		flag = 1
	}
	cs := C.wsg_session_alloc((*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(s.remote)), flag)
	if cs == nil {
		setLastError("wsgate: out of memory")
		return nil
	}
	cs.handle = C.uintptr_t(cgo.NewHandle(s))
	register(unsafe.Pointer(cs), kindSession)
	return cs
}

// freeSessionObject frees cs if it is still live (the caller checked or
// created it).
func freeSessionObject(cs *C.DMSCWSSession) {
	if !unregister(unsafe.Pointer(cs), kindSession) {
		return
	}
	cgo.Handle(cs.handle).Delete()
	C.wsg_session_release(cs)
}

//export dmsc_ws_session_manager_poll
func dmsc_ws_session_manager_poll(p *C.DMSCWSSessionManager, timeoutMs C.int) C.int {
	return withManager(p, func(m *manager) (int, error) { return m.poll(int(timeoutMs)) })
}
