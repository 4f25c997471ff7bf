package hub

import (
	"errors"
	"io"
	"slices"
	"sync"
)

// Streamed messages. A message produced piece by piece goes out as a
// fragmented message (RFC 6455 section 5.4): its place in the session's
// queue is taken like any message's, and when the writer reaches it, it
// writes each piece as a frame as soon as the producer hands it over,
// flushing between pieces, and the final frame on Close. Messages queued
// after it wait for it. The producer is held back when the writer has not
// yet taken streamWindow bytes, so a stream needs no more memory than that
// whatever its length.

// streamWindow bounds the bytes of a stream written by its producer and
// not yet taken by the session's writer.
const streamWindow = 64 << 10

// ErrStreamClosed is returned by a MessageWriter's Write after Close.
var ErrStreamClosed = errors.New("hub: message writer closed")

// MessageWriter writes one message that goes out in fragments as it is
// written; see Session.NextWriter. Its methods are for one goroutine.
type MessageWriter struct {
	s  *Session
	st *stream
}

// stream is what the producer and the session's writer share.
type stream struct {
	mu      sync.Mutex
	pieces  [][]byte
	pending int   // bytes in pieces
	closed  bool  // Close was called: the final frame follows the pieces
	err     error // the stream was dropped from the queue, or the session closed
	written int   // bytes the writer wrote, for the counters
	ready   chan struct{}
	space   chan struct{}
}

// NextWriter starts a message of type t whose payload is written piece by
// piece: each Write goes out as one or more frames (of at most
// Config.MaxFrameSize bytes when that is set), without waiting for the
// rest, and Close sends the final frame. Streamed messages are never
// compressed. The message takes its place in the queue as Send's would, and
// the messages queued after it wait for its Close: close it, even on error.
// Write waits while 64 KiB written are not yet taken by the connection. It
// fails with ErrClosed once the session is closing (a close frame may then
// end the connection in the middle of the message, as RFC 6455 allows),
// and with ErrQueueFull when SlowPolicy DropOldest dropped the message
// from the queue before the connection took it. NextWriter returns
// ErrClosed, ErrQueueFull or an error for a bad type.
func (s *Session) NextWriter(t MessageType) (*MessageWriter, error) {
	if !validType(t) {
		return nil, errBadType
	}
	st := &stream{ready: make(chan struct{}, 1), space: make(chan struct{}, 1)}
	switch s.enqueue(&outbound{typ: int(t), stream: st}, mayBlock) {
	case queuedOK:
		return &MessageWriter{s: s, st: st}, nil
	case queuedClosed:
		return nil, ErrClosed
	}
	return nil, ErrQueueFull
}

// Write hands p to the session's writer; it returns once p is copied.
func (w *MessageWriter) Write(p []byte) (int, error) {
	st := w.st
	written := 0
	for len(p) > 0 {
		st.mu.Lock()
		switch {
		case st.closed:
			st.mu.Unlock()
			return written, ErrStreamClosed
		case st.err != nil:
			err := st.err
			st.mu.Unlock()
			return written, err
		case w.s.ctx.Err() != nil: // the session is closing
			st.mu.Unlock()
			st.abort(ErrClosed)
			continue
		case st.pending >= streamWindow:
			st.mu.Unlock()
			select {
			case <-st.space:
			case <-w.s.ctx.Done():
				st.abort(ErrClosed)
			}
			continue
		}
		n := min(len(p), streamWindow-st.pending)
		st.pieces = append(st.pieces, slices.Clone(p[:n]))
		st.pending += n
		st.mu.Unlock()
		signal(st.ready)
		p, written = p[n:], written+n
	}
	return written, nil
}

// Close sends the message's final frame once the pieces before it are
// written. It does not wait for that; later calls do nothing.
func (w *MessageWriter) Close() error {
	st := w.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil
	}
	st.closed = true
	signal(st.ready)
	return st.err
}

// ReadFrom writes what r yields until io.EOF, as io.Copy would.
func (w *MessageWriter) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 16<<10)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// abort ends the stream with err: Write returns it from now on, a
// producer waiting for window space is let go, and the pieces not written
// are released.
func (st *stream) abort(err error) {
	st.mu.Lock()
	if st.err == nil {
		st.err = err
	}
	st.pieces, st.pending = nil, 0
	st.mu.Unlock()
	signal(st.ready)
	signal(st.space)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// take returns the pieces handed over so far and whether Close was called,
// or the error the stream ended with.
func (st *stream) take() (pieces [][]byte, closed bool, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	pieces, st.pieces = st.pieces, nil
	st.pending = 0
	if len(pieces) > 0 {
		signal(st.space)
	}
	return pieces, st.closed, st.err
}

// writeStream writes the stream o as the writer reaches it, piece by piece,
// and reports whether the message went out whole. It returns nil with the
// message cut short when the session began closing: the close frame
// queued after it ends the connection.
func (s *Session) writeStream(o *outbound) (bool, error) {
	st := o.stream
	opcode := o.typ
	for {
		pieces, closed, err := st.take()
		if err != nil {
			return false, nil
		}
		for _, p := range pieces {
			if opcode, err = s.fc.writeFragments(opcode, p, s.cfg().MaxFrameSize, false); err != nil {
				st.abort(ErrClosed)
				return false, err
			}
			st.written += len(p)
		}
		if closed {
			_, err := s.fc.writeFragments(opcode, nil, 0, true)
			return true, err
		}
		// Send what the peer can have so far, then wait for more.
		if err := s.fc.end(); err != nil {
			st.abort(ErrClosed)
			return false, err
		}
		select {
		case <-st.ready:
		case <-s.ctx.Done():
			st.abort(ErrClosed)
		}
		s.fc.begin()
	}
}
