package hub

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// run is the session's reader: it attaches the session, reads until the
// connection ends, then detaches it. One goroutine reads at a time: this
// one, then, after the session parked while idle, the one unpark starts
// (idle.go).
func (s *Session) run(onClose func(*Session)) {
	h := s.hub
	h.attach(s)
	s.startKeepAlive()
	s.onClose = onClose
	if h.callConnect(s) {
		s.resume()
		return
	}
	s.wait()
	s.finish()
}

// resume reads until the connection ends, then finishes the session, or
// until the session parks.
func (s *Session) resume() {
	s.takeReadBuffer()
	if !s.readLoop() {
		s.finish()
	}
}

// finish ends the session once nothing more is read.
func (s *Session) finish() {
	h := s.hub
	defer h.sessions.Done()
	h.idle.forget(s)
	s.end()
	h.detach(s)
	if err := s.failed(); err != nil {
		h.callError(s, err)
	}
	h.callClose(s)
	if s.onClose != nil {
		h.guard(s, func() { s.onClose(s) })
	}
	close(s.done)
}

// wait reads (and discards) until the connection ends, for a session that
// is already closing.
func (s *Session) wait() {
	for {
		if _, _, err := s.conn.NextReader(); err != nil {
			s.readEnded(err)
			return
		}
		s.fc.in.nextDeflated()
	}
}

// readLoop reads and handles messages until the connection ends, and
// reports whether it stopped because the session parked instead.
func (s *Session) readLoop() (parked bool) {
	fresh := false // a data message was just read
	for {
		if err := s.awaitReadable(fresh); err != nil {
			if err == errParked {
				return true
			}
			s.readEnded(err)
			return false
		}
		typ, r, err := s.conn.NextReader()
		if err != nil {
			s.readEnded(err)
			return false
		}
		limit := s.cfg().MaxBinaryMessage
		if typ == websocket.TextMessage {
			limit = s.cfg().MaxTextMessage
		}
		data, err := s.readData(r, limit, typ == websocket.TextMessage)
		if err != nil {
			if errors.Is(err, errBadUTF8) {
				s.failWith(CloseInvalidPayload, "invalid UTF-8 in text message", fmt.Errorf("%w: %w", ErrInvalidData, err))
				s.wait()
				return false
			}
			if errors.Is(err, errTooBig) {
				s.failWith(CloseTooBig, fmt.Sprintf("message exceeds %d bytes", limit), ErrMessageTooBig)
				s.wait()
				return false
			}
			if isInflateError(err) {
				s.failWith(CloseInvalidPayload, "invalid compressed data", fmt.Errorf("%w: %w", ErrInvalidData, err))
				s.wait()
				return false
			}
			s.readEnded(err)
			return false
		}
		fresh = true
		now := time.Now().UnixNano()
		s.lastActivity.Store(now)
		// Bytes before messages: a reader of Counters or Stats (which
		// load the messages first) never sees a message without its bytes.
		s.bytesIn.Add(uint64(len(data)))
		s.msgsIn.Add(1)
		s.hub.stats.bytesIn.Add(uint64(len(data)))
		s.hub.stats.msgsIn.Add(1)
		if s.limiter != nil {
			ok, err := s.limiter.Allow(s.ctx)
			after := time.Now().UnixNano()
			s.excusePause(time.Duration(after - now))
			now = after
			if err != nil {
				s.closeWith(ClosePolicy, err.Error(), false)
				s.wait()
				return false
			}
			if !ok {
				continue
			}
		}
		if !s.hub.callMessage(s, Message{Type: MessageType(typ), Data: data}) {
			s.wait()
			return false
		}
		if s.pongAwaited.Load() {
			// Nor is the time spent in OnMessage the peer's (the clock
			// is read only while a pong is awaited).
			s.excusePause(time.Duration(time.Now().UnixNano() - now))
		}
	}
}

// readData reads the data message r, inflating it when it came compressed.
func (s *Session) readData(r io.Reader, limit int64, text bool) ([]byte, error) {
	if !s.fc.in.nextDeflated() {
		return readMessage(r, limit, text)
	}
	d := s.deflate
	var dict []byte
	if d.ClientContextTakeover {
		dict = d.recv
	}
	inf := inflateMessage(r, dict)
	data, err := readMessage(inf.fr, limit, text)
	inf.release()
	if err == nil && d.ClientContextTakeover {
		d.recv = remember(d.recv, data, 1<<d.ClientWindowBits)
	}
	return data, err
}

var (
	errTooBig   = errors.New("hub: message too big")
	errBadUTF8  = errors.New("hub: invalid UTF-8 in a text message")
	firstReadAt = 512 // the buffer a message starts in, as bytes.Buffer.ReadFrom
)

// readMessage reads one message, refusing it as soon as it passes limit
// (negative: no limit) so that an oversized or inflating message is never
// buffered beyond the limit. A text message is checked for UTF-8 as it
// arrives (gorilla hands it over a frame at a time), so an invalid one is
// refused at its first bad fragment rather than when it is complete.
func readMessage(r io.Reader, limit int64, text bool) ([]byte, error) {
	buf := make([]byte, 0, firstReadAt)
	checked := 0 // buf[:checked] is valid UTF-8
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf)) // double
		}
		room := buf[len(buf):cap(buf)]
		if limit >= 0 && int64(len(room)) > limit+1-int64(len(buf)) {
			room = room[:limit+1-int64(len(buf))] // read at most one byte past the limit
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if limit >= 0 && int64(len(buf)) > limit {
			return nil, errTooBig
		}
		if text {
			k, ok := validUTF8Prefix(buf[checked:])
			if !ok {
				return nil, errBadUTF8
			}
			checked += k
		}
		switch {
		case err == io.EOF:
			if checked != len(buf) && text {
				return nil, errBadUTF8 // ends inside a sequence
			}
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}

// validUTF8Prefix returns how many bytes of p are valid UTF-8, leaving out
// an incomplete sequence at its end that more bytes could complete, and
// false if p holds an invalid sequence.
func validUTF8Prefix(p []byte) (int, bool) {
	n := 0
	for n < len(p) {
		if p[n] < utf8.RuneSelf {
			n++
			continue
		}
		r, size := utf8.DecodeRune(p[n:])
		if r == utf8.RuneError && size == 1 {
			return n, !utf8.FullRune(p[n:])
		}
		n += size
	}
	return n, true
}

// isInflateError reports whether err comes from inflating a compressed
// message that is not a valid deflate stream: corrupt, or cut short (flate
// reports a stream that ends early as a bare io.ErrUnexpectedEOF; a dropped
// connection reaches the reader as a *websocket.CloseError).
func isInflateError(err error) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce) || err == io.ErrUnexpectedEOF
}
