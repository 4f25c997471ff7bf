package hub

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// startWriterLocked starts the writer unless one is running. The writer
// exists only while there is something to write, so an idle session parks
// no goroutine.
func (s *Session) startWriterLocked(yield bool) {
	if !s.writing {
		s.writing = true
		go s.writeLoop(yield)
	}
}

// writeLoop drains the queue: it takes everything queued, writes it into one
// buffer and flushes once, until the queue is empty.
//
// A writer started by a fan-out (yield) lets the publisher run first: a
// broadcast that starts thousands of writers would otherwise be starved by
// them, and each writer would flush one or two messages instead of a batch
// (measured at 10,000 sessions: 3.8x the deliveries/s and a fifth of the
// writes, BENCHMARKS.md). A writer started for one session (a reply from
// OnMessage, a Send) does not yield: the yield would send it through the
// global run queue, while a new goroutine otherwise runs next on the same
// P as soon as the sender parks, as the reader does right after a reply.
func (s *Session) writeLoop(yield bool) {
	if yield {
		runtime.Gosched()
	}
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
		s.inflight, s.inflightB = len(batch), s.queued
		s.queued = 0
		s.mu.Unlock()

		err := s.writeBatch(batch)
		clear(batch)
		s.mu.Lock()
		s.inflight, s.inflightB = 0, 0
		if s.space != nil {
			close(s.space) // Block waiters: the written batch freed room
			s.space = nil
		}
		if s.spare == nil && cap(batch) <= 2*s.cfg().MaxQueuedMessages {
			s.spare = batch[:0]
		}
		s.mu.Unlock()
		if err != nil {
			s.hub.logDebug(s, "write failed", err)
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, websocket.ErrCloseSent) {
				// Not a connection we closed ourselves.
				s.noteFailure(CloseAbnormal, fmt.Errorf("%w: %w", ErrWrite, err))
			}
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
		case o.stream != nil:
			var whole bool
			if whole, err = s.writeStream(o); err == nil {
				bytes += uint64(o.stream.written)
				if !whole { // cut short by the session closing
					s.dropped.Add(1)
					s.hub.stats.dropped.Add(1)
					continue
				}
			}
		case !isDataType(o.typ): // ping
			s.stampPing(o.data)
			err = s.fc.writeData(o.typ, o.data, 0, false)
		case s.deflate != nil && len(o.data) >= s.cfg().Compression.Threshold:
			err = s.writeDeflated(o)
		default:
			err = s.fc.writeData(o.typ, o.data, s.cfg().MaxFrameSize, false)
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
	// Bytes before messages, as the reader counts.
	s.bytesOut.Add(bytes)
	s.msgsOut.Add(msgs)
	s.hub.stats.bytesOut.Add(bytes)
	s.hub.stats.msgsOut.Add(msgs)
	return err
}

// writeDeflated writes o compressed: in the form shared by every session
// with the same window, or, with context takeover, compressed for this
// session alone against what it sent before.
func (s *Session) writeDeflated(o *outbound) error {
	d := s.deflate
	if !d.ServerContextTakeover {
		payload, err := o.deflated(&s.hub.deflaters, d.ServerWindowBits)
		if err != nil {
			return err
		}
		return s.fc.writeData(o.typ, payload, s.cfg().MaxFrameSize, true)
	}
	bp := deflateBufs.Get().(*[]byte)
	payload, err := s.hub.deflaters.compress((*bp)[:0], o.data, d.primer(len(o.data)), d.ServerWindowBits)
	if err == nil {
		err = s.fc.writeData(o.typ, payload, s.cfg().MaxFrameSize, true)
		d.sent = remember(d.sent, o.data, 1<<d.ServerWindowBits)
	}
	if cap(payload) <= 64<<10 {
		*bp = payload[:0]
		deflateBufs.Put(bp)
	}
	return err
}

// deflateBufs holds buffers for messages compressed for one session.
var deflateBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

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
