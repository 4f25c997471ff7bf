package hub

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// roomLine orders a history room's messages on this node: it releases
// them to the members by offset, one after the other, holding a message
// whose predecessor has not arrived (another node published it and the
// broker has not delivered it yet) and refilling the gap from the store.
// Sessions that join from a position are held here until their replay is
// queued. One goroutine at a time (the drainer, whichever offered work
// while nobody drained) queues the released messages to the sessions, so
// every member gets them in offset order, and no lock is held meanwhile.
//
// Lock order: membership.mu, then mu (never the other way round).
type roomLine struct {
	h    *Hub
	room string

	mu       sync.Mutex // guards everything below
	primed   bool       // epoch and last are known
	epoch    string
	last     uint64      // offset of the last message released
	retired  []string    // the room's previous epochs
	pending  []*Envelope // offsets past last+1, sorted, at most maxPending
	ready    []*lineItem // released, for the drainer, in order
	draining bool
	filling  bool // the line is in hist.work or being read for
	sess     map[*Session]*lineSess
}

// lineItem is a released message, or a replay to queue.
type lineItem struct {
	e   *Envelope
	job *replayJob
}

// lineMsg is a message with its position, ready to queue.
type lineMsg struct {
	epoch string
	off   uint64
	o     *outbound
}

// lineSess is a member whose messages need care: held during its replay,
// then live but skipping what the replay already gave it.
type lineSess struct {
	job       *replayJob
	replaying bool
	overflow  bool
	buf       []lineMsg
	epoch     string // live: skip offsets up to skip of this epoch
	skip      uint64
}

// resyncAt makes the job a resync from top: the session is told top, and
// nothing at or before it reaches the session afterwards.
func (j *replayJob) resyncAt(top Position) {
	j.resync = true
	j.epoch, j.last = top.Epoch, top.Offset
	j.entries = nil
}

// replayJob is a JoinFrom's replay, queued in the line at its place.
type replayJob struct {
	s          *Session
	resync     bool
	epoch      string
	last       uint64 // the position the session had
	entries    []lineMsg
	overflowed bool
	done       chan struct{}
}

func newRoomLine(h *Hub, room string) *roomLine {
	return &roomLine{h: h, room: room, sess: make(map[*Session]*lineSess)}
}

// register marks s as replaying (membership lock held, before s is
// added to the room's members).
func (l *roomLine) register(s *Session, job *replayJob) {
	l.mu.Lock()
	l.sess[s] = &lineSess{job: job, replaying: true}
	l.mu.Unlock()
}

// forget drops s's state (membership lock held, s leaving).
func (l *roomLine) forget(s *Session) {
	l.mu.Lock()
	delete(l.sess, s)
	l.mu.Unlock()
}

// offer adds a message or a replay to the line and, if nobody is
// draining it, drains it.
func (l *roomLine) offer(it *lineItem) {
	l.mu.Lock()
	if it.job != nil {
		l.ready = append(l.ready, it)
	} else {
		l.offerLocked(it.e)
	}
	l.drainUnlock()
}

// drainUnlock releases mu and drains the line if nobody else does.
func (l *roomLine) drainUnlock() {
	if l.draining || len(l.ready) == 0 {
		l.mu.Unlock()
		return
	}
	l.draining = true
	for {
		if len(l.ready) == 0 {
			l.draining = false
			l.ready = nil
			l.mu.Unlock()
			return
		}
		it := l.ready[0]
		l.ready[0] = nil
		l.ready = l.ready[1:]
		l.mu.Unlock()
		if it.job != nil {
			l.queueReplay(it.job)
		} else {
			l.queue(it.e)
		}
		l.mu.Lock()
	}
}

// offerLocked places a message in the line: released when it is the next
// offset, held when earlier ones are missing, dropped when already
// released.
func (l *roomLine) offerLocked(e *Envelope) {
	hs := &l.h.hist
	if !l.primed {
		l.holdLocked(e)
		if len(l.pending) > maxPending { // the store never answered: start from what came
			first := l.pending[0]
			l.primeLocked(Position{Epoch: first.Epoch, Offset: first.Offset - 1})
		} else {
			l.requestFillLocked()
		}
		return
	}
	if e.Epoch != l.epoch {
		if slices.Contains(l.retired, e.Epoch) {
			return // a late message of a past epoch
		}
		// The store lost the room's history: a new epoch starts. What was
		// held of the old one can no longer be completed.
		hs.stats.lost.Add(uint64(len(l.pending)))
		clear(l.pending)
		l.pending = l.pending[:0]
		if len(l.retired) == maxRetired {
			l.retired = l.retired[1:]
		}
		l.retired = append(l.retired, l.epoch)
		l.epoch, l.last = e.Epoch, e.Offset-1
	}
	switch {
	case e.Offset <= l.last:
		return // released already (a refill and the broker raced)
	case e.Offset == l.last+1:
		l.releaseLocked(e)
	default:
		l.holdLocked(e)
		if len(l.pending) > maxPending { // give the gap up
			first := l.pending[0]
			hs.stats.lost.Add(first.Offset - l.last - 1)
			l.last = first.Offset - 1
			l.releasePendingLocked()
			return
		}
		l.requestFillLocked()
	}
}

// releaseLocked hands e to the drainer, then whatever held follows it.
func (l *roomLine) releaseLocked(e *Envelope) {
	l.last = e.Offset
	l.ready = append(l.ready, &lineItem{e: e})
	l.releasePendingLocked()
}

func (l *roomLine) releasePendingLocked() {
	i := 0
	for ; i < len(l.pending); i++ {
		p := l.pending[i]
		if p.Offset <= l.last {
			continue
		}
		if p.Offset != l.last+1 {
			break
		}
		l.last = p.Offset
		l.ready = append(l.ready, &lineItem{e: p})
	}
	n := copy(l.pending, l.pending[i:])
	clear(l.pending[n:])
	l.pending = l.pending[:n]
}

// holdLocked inserts e into pending by offset (once per offset).
func (l *roomLine) holdLocked(e *Envelope) {
	i, found := slices.BinarySearchFunc(l.pending, e.Offset, func(p *Envelope, off uint64) int {
		switch {
		case p.Offset < off:
			return -1
		case p.Offset > off:
			return 1
		}
		return 0
	})
	if found {
		return
	}
	l.pending = slices.Insert(l.pending, i, e)
}

// primeLocked sets where the line starts and releases what it held. It
// starts before the first message held, if that is older than top: those
// arrived after a member joined, so they are not dropped.
func (l *roomLine) primeLocked(top Position) {
	l.primed = true
	l.epoch, l.last = top.Epoch, top.Offset
	if len(l.pending) > 0 && l.pending[0].Epoch == top.Epoch && l.pending[0].Offset <= top.Offset {
		l.last = l.pending[0].Offset - 1
	}
	held := l.pending
	l.pending = nil
	for _, e := range held {
		l.offerLocked(e)
	}
}

// requestFillLocked asks the history worker to read the store for this
// line (to prime it, or to refill a gap), unless it already does.
func (l *roomLine) requestFillLocked() {
	if l.filling {
		return
	}
	l.filling = true
	if !l.h.hist.work.push(l) {
		l.filling = false // the next message asks again
	}
}

// prime reads where the room is from the store, when nothing has yet:
// a Join that waits does it so that nothing sent after it returns is
// taken for an old message. It returns an error wrapping ErrHistory when
// the store did not answer (the worker tries again).
func (l *roomLine) prime() error {
	l.mu.Lock()
	primed := l.primed
	l.mu.Unlock()
	if primed {
		return nil
	}
	hs := &l.h.hist
	ctx, cancel := hs.ctx()
	page, err := hs.store.Read(ctx, l.room, Position{}, 0)
	cancel()
	if err != nil {
		l.h.logger().Warn("wsgate: reading a room's position from the history store", "room", l.room, "err", err)
		return fmt.Errorf("%w: reading the position of room %q: %w", ErrHistory, l.room, err)
	}
	l.mu.Lock()
	if !l.primed {
		l.primeLocked(page.Top)
	}
	l.drainUnlock()
	return nil
}

// fill is the history worker's read for a line: it primes it, or refills
// the gap before its first held message. It reports whether to try again
// later (the store failed).
func (l *roomLine) fill() (retry bool) {
	hs := &l.h.hist
	l.mu.Lock()
	if !l.primed {
		l.filling = false
		l.mu.Unlock()
		_ = l.prime() // retried below when it failed
		l.mu.Lock()
		retry = !l.primed
		l.mu.Unlock()
		return retry
	}
	if len(l.pending) == 0 {
		l.filling = false
		l.mu.Unlock()
		return false
	}
	since := Position{Epoch: l.epoch, Offset: l.last}
	limit := int(min(l.pending[0].Offset-l.last-1, maxFill))
	l.mu.Unlock()

	ctx, cancel := hs.ctx()
	page, err := hs.store.Read(ctx, l.room, since, limit)
	cancel()
	var got []*Envelope
	if err == nil {
		got = make([]*Envelope, len(page.Entries))
		for i, en := range page.Entries {
			fm := hs.framed(l.room, en.Position, en.Message)
			got[i] = &Envelope{Node: l.h.node, Kind: ToRoom, Target: l.room, Type: fm.Type, Data: fm.Data, Epoch: en.Epoch, Offset: en.Offset}
		}
	}
	l.mu.Lock()
	l.filling = false
	switch {
	case errors.Is(err, ErrPositionLost):
		// The store no longer holds the gap: skip it, counted.
		if l.epoch == since.Epoch && l.last == since.Offset && len(l.pending) > 0 {
			first := l.pending[0]
			hs.stats.lost.Add(first.Offset - l.last - 1)
			l.last = first.Offset - 1
			l.releasePendingLocked()
		}
	case err != nil:
		retry = true
		l.h.logger().Warn("wsgate: refilling a room's gap from the history store", "room", l.room, "err", err)
	default:
		for _, e := range got {
			if e.Epoch == l.epoch && e.Offset == l.last+1 {
				hs.stats.filled.Add(1)
			}
			l.offerLocked(e)
		}
		if len(l.pending) > 0 && len(got) > 0 {
			l.requestFillLocked() // a gap remains
		}
	}
	l.drainUnlock()
	return retry
}

// queue queues a released message for the room's members, skipping those
// the envelope excepts and holding it for those still replaying.
func (l *roomLine) queue(e *Envelope) {
	h := l.h
	p := targetPool.Get().(*[]*Session)
	defer releaseTargets(p)
	// The room's members, unless the room has emptied and been created
	// again since: its new line delivers to them (from its own replay
	// hold), this one must not.
	*p = filterTargets(h.members.roomTargets(*p, l.room, len(e.Data), true, l), 0, e, nil)
	o := newOutbound(Message{Type: e.Type, Data: e.Data})
	targets := *p
	l.mu.Lock()
	if len(l.sess) > 0 {
		kept := targets[:0]
		for _, s := range targets {
			st := l.sess[s]
			switch {
			case st == nil:
				kept = append(kept, s)
			case st.replaying:
				if st.overflow {
					continue
				}
				if len(st.buf) >= h.cfg.MaxQueuedMessages {
					st.overflow, st.buf = true, nil
					continue
				}
				st.buf = append(st.buf, lineMsg{epoch: e.Epoch, off: e.Offset, o: o})
			case st.epoch == e.Epoch && e.Offset <= st.skip:
				// the replay gave it already
			default:
				delete(l.sess, s) // past the replay: nothing more to skip
				kept = append(kept, s)
			}
		}
		clear(targets[len(kept):])
		targets = kept
		*p = kept
	}
	l.mu.Unlock()
	for _, s := range targets {
		enqueueLine(s, o, len(targets) > 1)
	}
}

// enqueueLine queues o for s without waiting: the Block policy does not
// apply to a room's line, where one slow member would hold every message
// of the room. many says o goes to several sessions (a fan-out).
func enqueueLine(s *Session, o *outbound, many bool) {
	var mode enqueueMode
	if many {
		mode |= fanOut
	}
	s.enqueue(o, mode)
}

// queueReplay queues a JoinFrom's replay, then what was held for the
// session meanwhile, and makes it live.
func (l *roomLine) queueReplay(job *replayJob) {
	defer close(job.done)
	l.mu.Lock()
	st := l.sess[job.s]
	if st == nil || st.job != job { // left the room meanwhile
		l.mu.Unlock()
		return
	}
	var out []lineMsg
	st.replaying = false
	switch {
	case st.overflow:
		job.overflowed = true
		delete(l.sess, job.s)
	default:
		// A replay queues what the session missed; a resync queues
		// nothing of the past (the application sends the state as of
		// the position the session was told). Either way, what was held
		// meanwhile and what arrives late follows only past that point.
		epoch, last := job.epoch, job.last
		for _, m := range job.entries {
			if m.epoch == epoch && m.off <= last {
				continue
			}
			out = append(out, m)
			epoch, last = m.epoch, m.off
		}
		for _, m := range st.buf {
			if m.epoch == epoch && m.off <= last {
				continue
			}
			out = append(out, m)
		}
		st.epoch, st.skip = epoch, last
	}
	st.buf = nil
	l.mu.Unlock()
	for _, m := range out {
		enqueueLine(job.s, m.o, false)
	}
}

// run is the history worker: it reads the store for the lines that ask,
// retrying failed reads every retryInterval, until the hub stops.
func (hs *history) run() {
	stop := hs.h.cluster.stop
	retry := time.NewTimer(retryInterval)
	defer retry.Stop()
	var again []*roomLine
	for {
		select {
		case l := <-hs.work.ch:
			if l.fill() {
				l.mu.Lock()
				if !l.filling && !slices.Contains(again, l) {
					l.filling = true
					again = append(again, l)
				}
				l.mu.Unlock()
			}
		case <-retry.C:
			retry.Reset(retryInterval)
			for _, l := range again {
				l.mu.Lock()
				l.filling = false
				l.requestFillLocked()
				l.mu.Unlock()
			}
			again = nil
		case <-stop:
			return
		}
	}
}
