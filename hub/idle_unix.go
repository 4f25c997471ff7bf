//go:build unix

package hub

import "syscall"

// peek copies the bytes at the head of the socket into p (which may be
// empty) without consuming them. It reports how many, whether a read would
// not block (bytes waiting, end of stream or an error), and the error a
// failed peek took from the socket: a pending error such as a reset is
// reported once, so the next read must return it (flushConn.peekErr).
func peek(fd uintptr, p []byte) (n int, ready bool, err error) {
	var one [1]byte
	if len(p) == 0 {
		p = one[:]
	}
	n, _, err = syscall.Recvfrom(int(fd), p, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
		return 0, false, nil
	case err != nil:
		return 0, true, err
	}
	return n, true, nil
}
