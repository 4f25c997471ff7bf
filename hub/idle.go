package hub

import (
	"bufio"
	"syscall"
)

// An idle session's memory is mostly its reader goroutine's stack. Parked
// inside gorilla's NextReader (NextReader, advanceFrame, bufio, flushConn,
// net.Conn.Read) the goroutine uses about 1.3 KiB of frames, so its stack
// grows to 4 KiB and the garbage collector never shrinks it back (it shrinks
// only stacks using under a quarter). When the session's read buffer is
// empty the reader instead waits for the socket to become readable in a
// shallow frame, and calls NextReader only once there is something to read:
// idle stacks then shrink to 2 KiB.

// initIdleWait enables the shallow wait when the session owns the read
// buffer gorilla reads through and the connection exposes its descriptor
// (a TLS connection does not: it buffers decrypted bytes of its own).
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

// awaitReadable returns once the socket has bytes (or an error, EOF or a
// deadline) for the next read, when nothing is buffered. Its errors are the
// connection's own: a read deadline (missed pong) or a closed connection.
func (s *Session) awaitReadable() error {
	if s.raw == nil || s.br.Buffered() > 0 || s.fc.in.err != nil {
		return nil // data to read, or a violation the next read reports
	}
	s.polled = false
	return s.raw.Read(s.readable)
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
	return peekReady(fd)
}
