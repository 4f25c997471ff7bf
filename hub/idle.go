package hub

import (
	"bufio"
	"errors"
	"io"
	"syscall"
	"time"
)

// An idle session's memory is mostly its reader goroutine's stack. Parked
// inside gorilla's NextReader (NextReader, advanceFrame, bufio, flushConn,
// net.Conn.Read) the goroutine uses about 1.3 KiB of frames, so its stack
// grows to 4 KiB and the garbage collector never shrinks it back (it shrinks
// only stacks using under a quarter). So when the session's read buffer is
// empty, the reader waits for the socket to become readable without
// gorilla, and calls NextReader only once a data or close frame is there:
//
//   - A ping or a pong that arrives while the session is idle is read and
//     answered here (controlAtIdle), so keep-alive does not send the reader
//     into NextReader to park there.
//   - On Linux an idle session gives up its reader goroutine altogether: its
//     socket joins the hub's epoll set (poller_linux.go) and the goroutine
//     ends; a readable socket, a ping to time or a close starts a new one
//     (unpark). It does so when it has received no data message yet, or
//     none for parkAfter; a busy session waits in Go's poller, whose
//     wake-up is cheaper than a new goroutine, and a session awaiting a
//     pong waits there too, under the pong deadline.
//   - Elsewhere, or without a descriptor (TLS), the reader waits in Go's
//     poller in a shallow frame: idle stacks then shrink to 2 KiB.

// parkAfter is how long a session receives no data message before its
// reader gives up its goroutine when it waits. The tests shorten it, so
// that sessions park all through them.
var parkAfter = 2 * time.Second

// errParked ends a reader that gave its goroutine up; unpark starts a new
// one.
var errParked = errors.New("hub: reader parked")

// initIdleWait enables the idle wait when the session owns the read buffer
// gorilla reads through and the connection exposes its descriptor (a TLS
// connection does not: it buffers decrypted bytes of its own).
func (s *Session) initIdleWait(br *bufio.Reader) {
	sc, ok := s.fc.Conn.(syscall.Conn)
	if br == nil || !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	s.br, s.raw = br, raw
	s.readable = s.pollReadable
}

// awaitReadable returns once there is something for NextReader, answering
// pings and pongs on the way; errParked when the session parked, or the
// connection's own error: a read deadline (missed pong) or a closed
// connection.
//
// fresh says the reader has just handled a data message, so the session is
// not idle: a busy session's wait reads no clock.
func (s *Session) awaitReadable(fresh bool) error {
	for {
		if s.raw == nil || s.br.Buffered() > 0 || s.fc.in.err != nil {
			return nil // data to read, or a violation the next read reports
		}
		idle := !fresh && s.idle()
		fresh = false
		if idle && s.park() {
			return errParked
		}
		s.polled = false
		if err := s.raw.Read(s.readable); err != nil {
			return err
		}
		// A busy session leaves control frames to NextReader: looking for
		// them costs a system call per message. But a pong is always
		// taken here: a session that went quiet since its wait began
		// gets a ping within PingInterval, and its pong brings the reader
		// back to this wait instead of leaving it parked inside NextReader.
		if !idle && !s.pongAwaited.Load() {
			return nil
		}
		if handled, err := s.controlAtIdle(); !handled || err != nil {
			return err
		}
	}
}

// idle reports whether the session has received no data message yet, or
// none for parkAfter.
func (s *Session) idle() bool {
	return s.msgsIn.Load() == 0 || time.Now().UnixNano()-s.lastActivity.Load() >= int64(parkAfter)
}

// pollReadable is the raw read callback. Its first call checks, without
// consuming anything, whether bytes are already waiting (the poller's
// readiness was reset, so waiting first could miss them); after a wait it
// reports readiness at once.
func (s *Session) pollReadable(fd uintptr) bool {
	if s.polled {
		return true
	}
	s.polled = true
	_, ready := s.peek(fd, nil)
	return ready
}

// peek reports whether a read on fd would not block, copying the bytes at
// the head of the socket into p (n of them); a socket error it takes is
// kept for the next read.
func (s *Session) peek(fd uintptr, p []byte) (n int, ready bool) {
	n, ready, err := peek(fd, p)
	if err != nil {
		s.fc.peekErr = err
	}
	return n, ready
}

// park gives the reader goroutine up if nothing is waiting in the socket
// and no pong is awaited, and reports whether it did.
func (s *Session) park() bool {
	parked := false
	s.raw.Control(func(fd uintptr) {
		if _, ready := s.peek(fd, nil); ready {
			return
		}
		// s.mu is held across the arming (epoll_ctl, a system call that
		// does not block) so that a ping stamped meanwhile either finds
		// the session parked and starts its reader, or is seen here.
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.state != stateOpen || s.pongSince != 0 {
			return
		}
		// The read buffer is empty: it goes back to the hub while the
		// session is parked (the reader unpark starts takes one again).
		s.lendReadBuffer()
		if s.parked = s.hub.idle.arm(s, int(fd)); !s.parked {
			s.takeReadBuffer()
		}
		parked = s.parked
	})
	return parked
}

// lendReadBuffer gives the empty read buffer gorilla reads through to the
// hub's pool, leaving the bufio.Reader gorilla holds without one.
func (s *Session) lendReadBuffer() {
	spare := new(bufio.Reader)
	*spare = *s.br
	s.hub.readBufs.Put(spare)
	*s.br = bufio.Reader{}
}

// takeReadBuffer gives the session's bufio.Reader a buffer again, from the
// hub's pool or new, if it lent its own.
func (s *Session) takeReadBuffer() {
	if s.br == nil || s.br.Size() != 0 {
		return
	}
	r, _ := s.hub.readBufs.Get().(*bufio.Reader)
	if r == nil {
		r = bufio.NewReaderSize(s.fc, s.cfg().ReadBufferSize)
	}
	r.Reset(s.fc)
	*s.br = *r
}

// unpark starts a new reader for a parked session: its socket became
// readable, or the session needs its reader (a ping to time, a close).
func (s *Session) unpark() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unparkLocked()
}

func (s *Session) unparkLocked() {
	if s.parked {
		s.parked = false
		go s.resume()
	}
}

// idleControl returns the opcode and length of the ping or pong frame that
// p begins with: final, masked, with no reserved bit and a one-byte length,
// whole in p. It returns a zero length for anything else, which is left to
// NextReader (and the inspector).
func idleControl(p []byte) (op byte, size int) {
	if len(p) < 6 {
		return 0, 0
	}
	op = p[0] & 0x0F
	size = 6 + int(p[1]&^maskBit)
	if p[0]&0xF0 != 0x80 || op != opPing && op != opPong || p[1]&maskBit == 0 || size > 6+125 || size > len(p) {
		return 0, 0
	}
	return op, size
}

// controlAtIdle reads a ping or a pong that is whole at the head of the
// socket, while the read buffer is empty, and answers it as gorilla would
// (a pong for a ping, onPong for a pong). It reports whether it did; any
// other frame is left to NextReader.
func (s *Session) controlAtIdle() (bool, error) {
	var buf [2 + 4 + 125]byte // a masked control frame at its longest
	n := 0
	s.raw.Control(func(fd uintptr) { n, _ = s.peek(fd, buf[:]) })
	op, size := idleControl(buf[:n])
	if size == 0 {
		return false, nil
	}
	frame := buf[:size]
	if _, err := io.ReadFull(s.fc, frame); err != nil { // through the inspector
		return false, err
	}
	payload := frame[6:]
	for i := range payload {
		payload[i] ^= frame[2+i%4]
	}
	if op == opPong {
		s.onPong(string(payload))
	} else if err := s.onPing(string(payload)); err != nil {
		return false, err
	}
	return true, nil
}
