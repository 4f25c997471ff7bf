package hub

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// run is the session's reader: it attaches the session, reads until the
// connection ends, then detaches it. It is the only goroutine that reads.
func (s *Session) run(onClose func(*Session)) {
	h := s.hub
	defer h.sessions.Done()
	h.attach(s)
	s.startKeepAlive()
	if h.callConnect(s) {
		s.readLoop()
	} else {
		s.wait()
	}
	s.end()
	h.detach(s)
	s.cancel()
	h.callClose(s)
	if onClose != nil {
		h.guard(s, func() { onClose(s) })
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
	}
}

func (s *Session) readLoop() {
	for {
		if err := s.awaitReadable(); err != nil {
			s.readEnded(err)
			return
		}
		typ, r, err := s.conn.NextReader()
		if err != nil {
			s.readEnded(err)
			return
		}
		limit := s.cfg().MaxBinaryMessage
		if typ == websocket.TextMessage {
			limit = s.cfg().MaxTextMessage
		}
		data, err := readMessage(r, limit)
		if err != nil {
			if errors.Is(err, errTooBig) {
				s.closeWith(CloseTooBig, fmt.Sprintf("message exceeds %d bytes", limit), false)
				s.wait()
				return
			}
			if isInflateError(err) {
				s.closeWith(CloseInvalidPayload, "invalid compressed data", false)
				s.wait()
				return
			}
			s.readEnded(err)
			return
		}
		now := time.Now().UnixNano()
		s.lastActivity.Store(now)
		s.msgsIn.Add(1)
		s.bytesIn.Add(uint64(len(data)))
		s.hub.stats.msgsIn.Add(1)
		s.hub.stats.bytesIn.Add(uint64(len(data)))
		if typ == websocket.TextMessage && !utf8.Valid(data) {
			s.closeWith(CloseInvalidPayload, "invalid UTF-8 in text message", false)
			s.wait()
			return
		}
		if s.limiter != nil {
			ok, err := s.limiter.Allow(s.ctx)
			if err != nil {
				s.closeWith(ClosePolicy, err.Error(), false)
				s.wait()
				return
			}
			if !ok {
				continue
			}
		}
		if !s.hub.callMessage(s, Message{Type: MessageType(typ), Data: data}) {
			s.wait()
			return
		}
	}
}

var errTooBig = errors.New("hub: message too big")

// readMessage reads one message, refusing it as soon as it passes limit
// (negative: no limit) so that an oversized or inflating message is never
// buffered beyond the limit.
func readMessage(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if limit < 0 {
		_, err := buf.ReadFrom(r)
		return buf.Bytes(), err
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errTooBig
	}
	return buf.Bytes(), nil
}

// isInflateError reports whether err comes from inflating a compressed
// message that is not a valid deflate stream: corrupt, or cut short (flate
// reports a stream that ends early as a bare io.ErrUnexpectedEOF; a dropped
// connection reaches the reader as a *websocket.CloseError).
func isInflateError(err error) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce) || err == io.ErrUnexpectedEOF
}

// readEnded records why reading stopped: a close frame from the peer, a
// limit gorilla enforced, a protocol error gorilla answered, a missed pong,
// or a dropped connection.
func (s *Session) readEnded(err error) {
	var ce *websocket.CloseError
	var ne net.Error
	var fv *frameViolation
	switch {
	case errors.As(err, &ce):
		// onPeerClose recorded it.
	case errors.As(err, &fv):
		// The frame inspector stopped a frame gorilla would have accepted:
		// fail the connection as gorilla does for the violations it sees.
		s.recordSent(CloseProtocolError, fv.reason)
		s.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(CloseProtocolError, fv.reason),
			time.Now().Add(s.cfg().WriteTimeout))
	case errors.Is(err, websocket.ErrReadLimit):
		s.recordSent(CloseTooBig, "message too big")
	case errors.As(err, &ne) && ne.Timeout():
		s.mu.Lock()
		gone := s.state == stateOpen
		s.mu.Unlock()
		if gone {
			// No pong within PongTimeout: the peer is most likely gone, but
			// say why in case it is only slow.
			s.recordSent(CloseGoingAway, "pong timeout")
			s.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(CloseGoingAway, "pong timeout"),
				time.Now().Add(time.Second))
		}
	case isProtocolError(err):
		s.recordSent(CloseProtocolError, err.Error())
	}
}

// isProtocolError reports whether gorilla failed the connection for a
// protocol violation (it has then sent close 1002 itself).
func isProtocolError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return false
	}
	return true
}

// recordSent notes a close frame sent outside the writer (by gorilla or by
// readEnded) so that the session reports it.
func (s *Session) recordSent(code int, reason string) {
	s.mu.Lock()
	if s.sentClose == nil {
		s.sentClose = &CloseError{Code: code, Reason: truncateReason(reason)}
	}
	if s.state == stateOpen {
		s.state = stateClosing
	}
	s.mu.Unlock()
}

// onPeerClose answers the peer's close frame. gorilla calls it on the
// reader goroutine before NextReader returns the CloseError.
func (s *Session) onPeerClose(code int, reason string) error {
	s.mu.Lock()
	s.gotClose = &CloseError{Code: code, Reason: reason}
	echo := s.sentClose == nil
	if echo {
		s.sentClose = &CloseError{Code: code}
		s.peerFirst = true
	}
	s.state = stateClosing
	s.dropQueueLocked()
	s.mu.Unlock()
	// RFC 6455 5.5.1: reply with a close frame echoing the status code. If
	// our own close frame is already out, flushConn refuses a second; if it
	// was still queued, dropQueueLocked has just discarded it, so the reply
	// is sent even when we had started closing.
	s.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(code, ""), time.Now().Add(s.cfg().WriteTimeout))
	return nil
}

// end moves the session to ended: it drops what is still queued, lets the
// writer finish (bounded by CloseTimeout) so a close reply already written
// reaches the peer, then closes the connection.
func (s *Session) end() {
	s.mu.Lock()
	s.state = stateEnded
	s.dropQueueLocked()
	for _, t := range []*time.Timer{s.pingTimer, s.idleTimer, s.closeTimer} {
		if t != nil {
			t.Stop()
		}
	}
	var writer chan struct{}
	if s.writing {
		if s.writerDone == nil {
			s.writerDone = make(chan struct{})
		}
		writer = s.writerDone
	}
	switch {
	case s.gotClose != nil && s.peerFirst:
		s.endErr = s.gotClose
	case s.gotClose != nil:
		// We started the handshake and the peer answered (usually echoing
		// only the code): report why we closed.
		s.endErr = s.sentClose
	case s.sentClose != nil:
		s.endErr = s.sentClose
		s.forced = true
	default:
		s.endErr = &CloseError{Code: CloseAbnormal, Reason: "connection lost"}
		s.forced = true
	}
	if s.space != nil {
		close(s.space)
		s.space = nil
	}
	s.mu.Unlock()
	if writer != nil {
		t := time.NewTimer(s.cfg().CloseTimeout)
		select {
		case <-writer:
		case <-t.C:
		}
		t.Stop()
	}
	s.fc.Close()
	if writer != nil {
		<-writer // the connection is closed, so the writer fails fast
	}
}
