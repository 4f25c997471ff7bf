package hub

import (
	"errors"
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

// fitsLocked reports whether n more bytes fit the queue bounds, which count
// the batch the writer is writing as well as what waits behind it: the
// bounds a user configures are what a session can hold. One message larger
// than MaxQueuedBytes still goes through when nothing else is queued or
// being written.
func (s *Session) fitsLocked(n int) bool {
	c := s.cfg()
	if len(s.queue) == 0 && s.inflight == 0 {
		return true
	}
	return len(s.queue)+s.inflight < c.MaxQueuedMessages && s.queued+s.inflightB+n <= c.MaxQueuedBytes
}

type queueResult int

const (
	queuedOK      queueResult = iota
	queuedClosed              // the session is closing or ended
	queuedRefused             // the policy refused or the session was cut off
)

// enqueueMode says how a routing call hands a message to a queue.
type enqueueMode uint8

const (
	// mayBlock lets the Block policy make the caller wait: a local caller.
	// Without it (a delivery from the broker, which must never wait for one
	// slow session) Block acts as Disconnect does after its wait.
	mayBlock enqueueMode = 1 << iota
	// fanOut says the message is one of many deliveries the caller is
	// making: a writer it starts lets the caller finish first (writer.go).
	fanOut
)

// enqueue adds o to the session's queue, applying the slow-consumer policy
// when a bound is hit. It never blocks, except under the Block policy with
// mayBlock.
func (s *Session) enqueue(o *outbound, mode enqueueMode) queueResult {
	n := o.size()
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return queuedClosed
	}
	if s.fitsLocked(n) {
		s.pushLocked(o, n, mode&fanOut != 0)
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
		for len(s.queue) > 0 && !s.fitsLocked(n) {
			// A queued ping is discarded too, but it is neither a dropped
			// message nor counted in the queue's bytes.
			if old := s.queue[0]; isDataType(old.typ) {
				s.queued -= old.size()
				k++
				if old.stream != nil {
					old.stream.abort(ErrQueueFull)
				}
			}
			s.queue[0] = nil
			s.queue = s.queue[1:]
		}
		res = queuedOK
		if s.fitsLocked(n) {
			s.pushLocked(o, n, mode&fanOut != 0)
		} else {
			// Only the batch being written is left, and it cannot be
			// recalled: the new message is the one dropped.
			k++
			res = queuedRefused
		}
		s.dropped.Add(uint64(k))
		s.hub.stats.dropped.Add(uint64(k))
		s.mu.Unlock()
	case Block:
		if mode&mayBlock == 0 {
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
			s.pushLocked(o, n, false) // the caller has waited already
			s.mu.Unlock()
			return queuedOK
		}
	}
}

// pushLocked appends o, counting n bytes against the queue's byte bound,
// and makes sure a writer runs (one that yields first for a fan-out). Every
// item, data or control, enters the queue here.
func (s *Session) pushLocked(o *outbound, n int, fan bool) {
	if s.queue == nil {
		if s.spare != nil {
			s.queue, s.spare = s.spare, nil
		} else {
			s.queue = s.hub.getSlots()
		}
	}
	s.queue = append(s.queue, o)
	s.queued += n
	s.startWriterLocked(fan)
}

// dropQueueLocked discards the queue, counting each data message.
func (s *Session) dropQueueLocked() {
	n := 0
	for i, o := range s.queue {
		if isDataType(o.typ) {
			n++
		}
		if o.stream != nil {
			o.stream.abort(ErrClosed)
		}
		s.queue[i] = nil
	}
	if n > 0 {
		s.dropped.Add(uint64(n))
		s.hub.stats.dropped.Add(uint64(n))
	}
	s.queue = s.queue[:0]
	s.queued = 0
}
