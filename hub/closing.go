package hub

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// The closing sequence. A session moves through three states, only forward,
// and only through setStateLocked:
//
//	open     messages may be queued
//	closing  a close frame is queued, sent or received, or the connection
//	         has failed; nothing more is queued (Send returns ErrClosed) and
//	         the session's context is cancelled
//	ended    the reader has finished; the session has left the hub
//
// A session closes in one of these ways:
//   - politely (Close, Shutdown, idle timeout): a close frame is queued
//     behind the messages already queued, and the peer has CloseTimeout to
//     answer once it is written;
//   - at once with a code (Kick, a slow consumer, an invalid message): the
//     queue is dropped and the close frame goes first;
//   - on a protocol error or a missed pong: the reader writes the close frame
//     itself (or gorilla does) and stops reading;
//   - without a close frame (Disconnect, a failed write, CloseTimeout
//     expired, Shutdown's context ended): the connection is closed at once.
//
// When the reader has finished, end waits (bounded) for the writer, and if
// our close frame went out but the peer's never came, lingers: it half-closes
// the connection and reads and discards what the peer still sends, so that
// closing a socket with unread data does not make the kernel answer with a
// reset, which would destroy our close frame in the peer's receive buffer.

// setStateLocked moves the session to next and reports whether it moved;
// moving backwards or staying is refused. It is the only function that
// changes s.state. Entering ended stops the timers, drops the queue and
// wakes Block waiters. The caller cancels the session's context (outside
// the lock) when it moved to closing.
func (s *Session) setStateLocked(next sessionState) bool {
	if next <= s.state {
		return false
	}
	s.state = next
	if next == stateEnded {
		s.dropQueueLocked()
		for _, t := range []*time.Timer{s.pingTimer, s.idleTimer, s.closeTimer} {
			if t != nil {
				t.Stop()
			}
		}
		if s.space != nil {
			close(s.space)
			s.space = nil
		}
	}
	return true
}

// closeWith queues a close frame after what is queued (or, with now, in
// place of it, and starts the peer's CloseTimeout at once rather than when
// the frame is written, since a write already under way can take up to
// WriteTimeout) and moves the session to closing. It reports false, doing
// nothing, if the session was no longer open.
func (s *Session) closeWith(code int, reason string, now bool) bool {
	reason = truncateReason(reason)
	s.mu.Lock()
	if !s.setStateLocked(stateClosing) {
		s.mu.Unlock()
		return false
	}
	if now {
		s.dropQueueLocked()
	}
	s.sentClose = &CloseError{Code: code, Reason: reason}
	s.pushLocked(&outbound{typ: websocket.CloseMessage, data: websocket.FormatCloseMessage(code, reason)}, 0, false)
	s.mu.Unlock()
	s.cancel()
	if now {
		s.armCloseTimer()
	}
	return true
}

// failWith fails the connection for a peer's error found by the reader,
// which goes on reading (and discarding) until the peer answers or
// CloseTimeout passes: the queue is dropped, the close frame is written at
// once, and err is reported to OnError.
func (s *Session) failWith(code int, reason string, err error) {
	s.sendCloseNow(code, reason, err)
	s.armCloseTimer()
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
// reader then ends the session. Whatever is queued is dropped, and Send
// refuses new messages from now on.
func (s *Session) fail() {
	s.mu.Lock()
	s.setStateLocked(stateClosing)
	s.dropQueueLocked()
	if s.gotClose == nil {
		s.forced = true
	}
	s.mu.Unlock()
	s.cancel()
	s.fc.Close()
	s.unpark() // a parked reader finds the connection closed
}

// noteFailure records the first error that ends the session, for OnError.
func (s *Session) noteFailure(code int, err error) {
	s.mu.Lock()
	if s.failure == nil {
		s.failure = &SessionError{Code: code, Err: err}
	}
	s.mu.Unlock()
}

// failed returns the error that ended the session, or nil.
func (s *Session) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure == nil {
		return nil
	}
	return s.failure
}

// readEnded records why reading stopped: a close frame from the peer, a
// protocol error gorilla or the frame inspector found, a missed pong, a
// reset or a dropped connection.
func (s *Session) readEnded(err error) {
	var ce *websocket.CloseError
	var ne net.Error
	var fv *frameViolation
	switch {
	case errors.As(err, &ce):
		// onPeerClose recorded it.
	case errors.As(err, &fv):
		// The frame inspector stopped a bad frame before gorilla saw it:
		// what came before it has been handled, so its replies go out
		// first, then the close frame (RFC 6455 7.1.7 fails the
		// connection; nothing more is read).
		s.noteFailure(CloseProtocolError, fmt.Errorf("%w: %s", ErrProtocol, fv.reason))
		s.closeWith(CloseProtocolError, fv.reason, false)
		s.mu.Lock()
		w := s.writerExitLocked()
		s.mu.Unlock()
		awaitClosed(w, s.cfg().CloseTimeout) // end drops what is still queued
	case errors.As(err, &ne) && ne.Timeout():
		s.mu.Lock()
		open := s.state == stateOpen
		s.mu.Unlock()
		if open {
			// No pong within PongTimeout: the peer is most likely gone, but
			// say why in case it is only slow.
			s.sendCloseNow(CloseGoingAway, "pong timeout", ErrPongTimeout)
		}
	case errors.Is(err, syscall.ECONNRESET):
		s.noteFailure(CloseAbnormal, fmt.Errorf("%w: %w", ErrConnReset, err))
	case isProtocolError(err):
		// gorilla has sent close 1002 itself.
		s.recordSent(CloseProtocolError, err.Error(), fmt.Errorf("%w: %w", ErrProtocol, err))
	}
}

// sendCloseNow writes a close frame from the reader, ahead of the queue
// (which it drops). flushConn keeps frames whole, so this cannot split a
// frame the writer is writing, and refuses every frame after it.
func (s *Session) sendCloseNow(code int, reason string, err error) {
	s.recordSent(code, reason, err)
	s.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(code, truncateReason(reason)),
		time.Now().Add(s.cfg().WriteTimeout))
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
// the reader) so that the session reports it, and the failure behind it.
// The connection has failed: what is queued is dropped.
func (s *Session) recordSent(code int, reason string, err error) {
	s.noteFailure(code, err)
	s.mu.Lock()
	if s.sentClose == nil {
		s.sentClose = &CloseError{Code: code, Reason: truncateReason(reason)}
	}
	s.dropQueueLocked()
	moved := s.setStateLocked(stateClosing)
	s.mu.Unlock()
	if moved {
		s.cancel()
	}
}

// onPeerClose answers the peer's close frame. gorilla calls it on the
// reader goroutine before NextReader returns the CloseError.
func (s *Session) onPeerClose(code int, reason string) error {
	if code == codeBadGatewayProxy && s.fc.in.saw1014 {
		code = codeBadGateway // inspect.go: gorilla saw 1014 as 1011
	}
	s.mu.Lock()
	s.gotClose = &CloseError{Code: code, Reason: reason}
	echo := s.sentClose == nil
	if echo {
		s.sentClose = &CloseError{Code: code}
		s.peerFirst = true
	}
	moved := s.setStateLocked(stateClosing)
	s.dropQueueLocked()
	s.mu.Unlock()
	if moved {
		s.cancel()
	}
	// RFC 6455 5.5.1: reply with a close frame echoing the status code. If
	// our own close frame is already out, flushConn refuses a second; if it
	// was still queued, dropQueueLocked has just discarded it, so the reply
	// is sent even when we had started closing.
	s.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(code, ""), time.Now().Add(s.cfg().WriteTimeout))
	return nil
}

// end moves the session to ended: it drops what is still queued, lets the
// writer finish (bounded by CloseTimeout) so a close frame already written
// reaches the peer, lingers if the peer has not answered it, then closes
// the connection.
func (s *Session) end() {
	s.mu.Lock()
	s.setStateLocked(stateEnded)
	writer := s.writerExitLocked()
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
	case s.disconnected:
		s.endErr = &CloseError{Code: CloseAbnormal, Reason: "disconnected by the server"}
		s.forced = true
	default:
		s.endErr = &CloseError{Code: CloseAbnormal, Reason: "connection lost"}
		s.forced = true
	}
	unanswered := s.gotClose == nil
	s.mu.Unlock()
	s.cancel()
	finished := awaitClosed(writer, s.cfg().CloseTimeout)
	if finished && unanswered && s.fc.closeSent() {
		s.linger()
	}
	s.fc.Close()
	if writer != nil {
		<-writer // the connection is closed, so the writer fails fast
	}
}

// writerExitLocked returns a channel closed when the running writer exits
// (with the queue empty, or the session ended), or nil when none runs.
func (s *Session) writerExitLocked() chan struct{} {
	if !s.writing {
		return nil
	}
	if s.writerDone == nil {
		s.writerDone = make(chan struct{})
	}
	return s.writerDone
}

// awaitClosed waits up to d for ch to close (a nil ch counts as closed)
// and reports whether it did.
func awaitClosed(ch chan struct{}, d time.Duration) bool {
	if ch == nil {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

// linger half-closes the connection after our close frame and reads and
// discards what the peer still sends, until it closes its side or
// CloseTimeout passes. A peer still sending (an oversized message, say)
// then reads our close frame instead of losing it to a reset.
func (s *Session) linger() {
	c := s.fc.Conn
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(s.cfg().CloseTimeout))
	bp := lingerPool.Get().(*[]byte)
	defer lingerPool.Put(bp)
	for {
		if _, err := c.Read(*bp); err != nil {
			return
		}
	}
}

var lingerPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}
