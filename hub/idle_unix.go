//go:build unix

package hub

import "syscall"

// peekReady reports whether a read on fd would not block: bytes waiting,
// end of stream, or an error for the real read to report.
func peekReady(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
}
