package hub

import (
	"fmt"
	"net"
	"testing"
)

// idleFrame returns a masked client text frame (RFC 6455 5.3) of payload.
func idleFrame(payload string) []byte {
	key := [4]byte{1, 2, 3, 4}
	b := []byte{0x81, 0x80 | byte(len(payload)), key[0], key[1], key[2], key[3]}
	for i := range len(payload) {
		b = append(b, payload[i]^key[i%4])
	}
	return b
}

// TestIdleWaitSeesBytesAlreadyInTheSocket sends many messages in one TCP
// write, more than the read buffer holds: after the buffer is drained the
// rest is already in the socket, with no new readiness event coming. The
// shallow wait must notice it (it peeks) or the session would hang.
func TestIdleWaitSeesBytesAlreadyInTheSocket(t *testing.T) {
	th := newTestHub(t, Config{ReadBufferSize: 512})
	th.OnMessage(func(s *Session, m Message) { s.Send(m) })
	c, s := th.dial(t)
	if s.raw == nil {
		t.Fatal("the shallow idle wait is off for a plain TCP session")
	}
	// 16-byte frames (6 header bytes, 10 payload bytes) tile the 512-byte
	// buffer exactly, so it is empty between fills while bytes still wait.
	const n = 200
	var burst []byte
	for i := range n {
		burst = append(burst, idleFrame(fmt.Sprintf("m%09d", i))...)
	}
	if len(burst) <= 4*512 {
		t.Fatalf("burst of %d bytes does not overflow the read buffer", len(burst))
	}
	if _, err := c.NetConn().Write(burst); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		readText(t, c, fmt.Sprintf("m%09d", i))
	}
}

// BenchmarkPeekReady measures what the shallow wait adds to each wake-up of
// an idle reader: one non-blocking MSG_PEEK receive on an empty socket.
func BenchmarkPeekReady(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	srv, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	raw, err := srv.(*net.TCPConn).SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		raw.Control(func(fd uintptr) {
			if peekReady(fd) {
				b.Fatal("an empty socket reads as ready")
			}
		})
	}
}
