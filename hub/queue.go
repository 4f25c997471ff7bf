package hub

import (
	"errors"
	"runtime"
	"time"

	"github.com/gorilla/websocket"
)

var (
	errBadType      = errors.New("hub: message type must be TextMessage or BinaryMessage")
	errBadCloseCode = errors.New("hub: close code not allowed on the wire")
)

func validType(t MessageType) bool { return t == TextMessage || t == BinaryMessage }
func isDataType(typ int) bool      { return typ == websocket.TextMessage || typ == websocket.BinaryMessage }
func (s *Session) cfg() *Config    { return &s.hub.cfg }
func (s *Session) fitsLocked(n int) bool {
	c := s.cfg()
	if len(s.queue) == 0 {
		return true // one message larger than MaxQueuedBytes still goes through alone
	}
	return len(s.queue) < c.MaxQueuedMessages && s.queued+n <= c.MaxQueuedBytes
}

type queueResult int

const (
	queuedOK      queueResult = iota
	queuedClosed              // the session is closing or ended
	queuedRefused             // the policy refused or the session was cut off
)

// enqueue adds o to the session's queue, applying the slow-consumer policy
// when a bound is hit. It never blocks, except under the Block policy when
// mayBlock is set; without it (a delivery from the broker, which must never
// wait for one slow session) Block acts as Disconnect does after its wait.
func (s *Session) enqueue(o *outbound, mayBlock bool) queueResult {
	n := o.size()
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return queuedClosed
	}
	if s.fitsLocked(n) {
		s.pushLocked(o, n)
		s.mu.Unlock()
		return queuedOK
	}
	policy := s.cfg().SlowPolicy
	var res queueResult
	switch policy {
	case DropNewest:
		s.dropped.Add(1)
		s.hub.stats.dropped.Add(1)
		s.mu.Unlock()
		res = queuedRefused
	case DropOldest:
		k := 0
		for !s.fitsLocked(n) {
			// A queued ping is discarded too, but it is neither a dropped
			// message nor counted in the queue's bytes.
			if old := s.queue[0]; isDataType(old.typ) {
				s.queued -= old.size()
				k++
			}
			s.queue[0] = nil
			s.queue = s.queue[1:]
		}
		s.dropped.Add(uint64(k))
		s.hub.stats.dropped.Add(uint64(k))
		s.pushLocked(o, n)
		s.mu.Unlock()
		res = queuedOK
	case Block:
		if !mayBlock {
			s.mu.Unlock()
			policy = Disconnect
			break
		}
		res = s.waitForSpaceLocked(o, n) // unlocks
		if res != queuedRefused {
			return res
		}
		policy = Disconnect
	default:
		s.mu.Unlock()
	}
	if policy == Disconnect {
		s.dropped.Add(1)
		s.hub.stats.dropped.Add(1)
		s.closeWith(CloseSlowConsumer, "slow consumer", true)
		// The close frame is queued behind a socket that takes nothing:
		// give the peer CloseTimeout from now, not from when (or if) the
		// frame gets out, which could take WriteTimeout.
		s.armCloseTimer()
		res = queuedRefused
	}
	if cb := s.cfg().OnSlow; cb != nil {
		s.hub.guard(s, func() { cb(s, policy) })
	}
	return res
}

// waitForSpaceLocked waits up to BlockTimeout for the writer to make room.
// It is called with mu held and returns with it released.
func (s *Session) waitForSpaceLocked(o *outbound, n int) queueResult {
	timer := time.NewTimer(s.cfg().BlockTimeout)
	defer timer.Stop()
	for {
		if s.space == nil {
			s.space = make(chan struct{})
		}
		space := s.space
		s.mu.Unlock()
		select {
		case <-space:
		case <-timer.C:
			return queuedRefused
		case <-s.ctx.Done():
			return queuedClosed
		}
		s.mu.Lock()
		if s.state != stateOpen {
			s.mu.Unlock()
			return queuedClosed
		}
		if s.fitsLocked(n) {
			s.pushLocked(o, n)
			s.mu.Unlock()
			return queuedOK
		}
	}
}

// pushLocked appends o, counting n bytes against the queue's byte bound,
// and makes sure a writer runs. Every item, data or control, enters the
// queue here.
func (s *Session) pushLocked(o *outbound, n int) {
	if s.queue == nil {
		if s.spare != nil {
			s.queue, s.spare = s.spare, nil
		} else {
			s.queue = s.hub.getSlots()
		}
	}
	s.queue = append(s.queue, o)
	s.queued += n
	s.startWriterLocked()
}

// startWriterLocked starts the writer unless one is running. The writer
// exists only while there is something to write, so an idle session parks
// no goroutine.
func (s *Session) startWriterLocked() {
	if !s.writing {
		s.writing = true
		go s.writeLoop()
	}
}

// writeLoop drains the queue: it takes everything queued, writes it into one
// buffer and flushes once, until the queue is empty.
func (s *Session) writeLoop() {
	// Let the publisher run first: a broadcast that starts thousands of
	// writers would otherwise be starved by them, and each writer would
	// flush one or two messages instead of a batch. Measured at 10,000
	// sessions: 3.8x the deliveries/s and a fifth of the writes (BENCHMARKS.md).
	runtime.Gosched()
	for {
		s.mu.Lock()
		batch := s.queue
		if len(batch) == 0 || s.state == stateEnded {
			// An idle session keeps no queue memory; the slices go back to
			// the hub for the next busy session.
			s.hub.putSlots(s.queue)
			s.hub.putSlots(s.spare)
			s.queue, s.spare = nil, nil
			s.writing = false
			if s.writerDone != nil {
				close(s.writerDone)
				s.writerDone = nil
			}
			s.mu.Unlock()
			return
		}
		s.queue, s.spare = s.spare, nil
		s.queued = 0
		if s.space != nil {
			close(s.space)
			s.space = nil
		}
		s.mu.Unlock()

		err := s.writeBatch(batch)
		clear(batch)
		s.mu.Lock()
		if s.spare == nil && cap(batch) <= 2*s.cfg().MaxQueuedMessages {
			s.spare = batch[:0]
		}
		s.mu.Unlock()
		if err != nil {
			s.hub.logDebug(s, "write failed", err)
			s.fail()
		}
	}
}

// writeBatch writes every item of batch and flushes once.
func (s *Session) writeBatch(batch []*outbound) error {
	s.fc.begin()
	var msgs, bytes uint64
	var err error
	for i, o := range batch {
		switch {
		case o.typ == websocket.CloseMessage:
			err = s.conn.WriteControl(websocket.CloseMessage, o.data, time.Now().Add(s.cfg().WriteTimeout))
			if err == nil {
				s.armCloseTimer()
			}
		case !isDataType(o.typ): // ping
			s.stampPing(o.data)
			err = s.fc.writeData(o.typ, o.data)
		case s.compress && len(o.data) >= s.cfg().Compression.Threshold:
			var pm *websocket.PreparedMessage
			if pm, err = o.prepared(); err == nil {
				err = s.conn.WritePreparedMessage(pm)
			}
		default:
			err = s.fc.writeData(o.typ, o.data)
		}
		if err != nil {
			s.countDropped(batch[i:])
			break
		}
		if isDataType(o.typ) {
			msgs++
			bytes += uint64(len(o.data))
		}
	}
	if ferr := s.fc.end(); err == nil && ferr != nil {
		err = ferr
		// The frames were buffered but never reached the peer.
		s.dropped.Add(msgs)
		s.hub.stats.dropped.Add(msgs)
		msgs, bytes = 0, 0
	}
	s.msgsOut.Add(msgs)
	s.bytesOut.Add(bytes)
	s.hub.stats.msgsOut.Add(msgs)
	s.hub.stats.bytesOut.Add(bytes)
	return err
}

func (s *Session) countDropped(items []*outbound) {
	var n uint64
	for _, o := range items {
		if isDataType(o.typ) {
			n++
		}
	}
	s.dropped.Add(n)
	s.hub.stats.dropped.Add(n)
}

// armCloseTimer closes the connection if the peer has not answered our close
// frame within CloseTimeout.
func (s *Session) armCloseTimer() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closeTimer == nil && s.state != stateEnded {
		s.closeTimer = time.AfterFunc(s.cfg().CloseTimeout, s.fail)
	}
}

// fail closes the network connection without waiting for anything; the
// reader then ends the session.
func (s *Session) fail() {
	s.mu.Lock()
	if s.gotClose == nil {
		s.forced = true
	}
	s.mu.Unlock()
	s.cancel()
	s.fc.Close()
}

// Queue slices are recycled through a bounded free list in the hub, so a
// session that wakes up for a batch does not grow a new slice from nil.
const (
	freeSlots   = 1024 // slices kept by a hub
	slotsCap    = 8    // capacity of a new slice
	maxSlotsCap = 64   // larger slices are left to the garbage collector
)

func (h *Hub) getSlots() []*outbound {
	select {
	case sl := <-h.slots:
		return sl
	default:
		return make([]*outbound, 0, slotsCap)
	}
}

func (h *Hub) putSlots(sl []*outbound) {
	if cap(sl) == 0 || cap(sl) > maxSlotsCap {
		return
	}
	sl = sl[:cap(sl)]
	clear(sl)
	select {
	case h.slots <- sl[:0]:
	default:
	}
}
