package hub

import (
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
			if _, ready, _ := peek(fd, nil); ready {
				b.Fatal("an empty socket reads as ready")
			}
		})
	}
}

// awaitParked waits until s has given its reader goroutine up.
func awaitParked(t *testing.T, s *Session) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		s.mu.Lock()
		parked := s.parked
		s.mu.Unlock()
		if parked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle session never parked")
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // polling a state with no event to await
	}
}

// TestIdleSessionParks: a session that has received nothing gives its
// reader goroutine up, and comes back for a message, a ping from the
// client, a close from the server and a reset from the client.
func TestIdleSessionParks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("idle sessions keep their reader goroutine off Linux")
	}
	th := newTestHub(t, Config{PingInterval: -1})
	th.OnMessage(func(s *Session, m Message) { s.Send(m) })

	t.Run("message", func(t *testing.T) {
		c, s := th.dial(t)
		awaitParked(t, s)
		s.mu.Lock()
		lent := s.br.Size() == 0 // the parked session lent its read buffer
		s.mu.Unlock()
		if !lent {
			t.Fatal("a parked session kept its read buffer")
		}
		c.WriteMessage(int(TextMessage), []byte("hello"))
		readText(t, c, "hello")
		c.WriteMessage(int(TextMessage), []byte("again"))
		readText(t, c, "again")
	})
	t.Run("client ping", func(t *testing.T) {
		rc, _, s := th.rawDialSession(t, "")
		awaitParked(t, s)
		if err := rc.writeFrame(true, opPing, []byte("are you there")); err != nil {
			t.Fatal(err)
		}
		b0, p, err := rc.readFrame()
		if err != nil || b0 != 0x80|opPong || string(p) != "are you there" {
			t.Fatalf("got %#x %q (%v), want the pong", b0, p, err)
		}
		// The ping was answered without leaving the idle wait: the session
		// parks again without having seen a data message.
		awaitParked(t, s)
		if n := s.Counters().MessagesReceived; n != 0 {
			t.Fatalf("%d messages in", n)
		}
	})
	t.Run("server close", func(t *testing.T) {
		c, s := th.dial(t)
		awaitParked(t, s)
		s.Close(CloseNormal, "bye")
		if code, reason := awaitClose(t, c); code != CloseNormal || reason != "bye" {
			t.Fatalf("close %d %q", code, reason)
		}
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(CloseNormal, ""), time.Now().Add(waitFor))
		if ev := th.awaitEnd(t, s); ev.code != CloseNormal {
			t.Fatalf("OnClose %+v", ev)
		}
	})
	t.Run("close timeout", func(t *testing.T) {
		th2 := newTestHub(t, Config{PingInterval: -1, CloseTimeout: 50 * time.Millisecond})
		rc, _, s := th2.rawDialSession(t, "")
		awaitParked(t, s)
		s.Close(CloseNormal, "bye") // the raw client never answers
		if ev := th2.awaitEnd(t, s); ev.code != CloseNormal {
			t.Fatalf("OnClose %+v", ev)
		}
		rc.c.Close()
	})
	t.Run("reset", func(t *testing.T) {
		c, s := th.dial(t)
		awaitParked(t, s)
		tc := c.NetConn().(*net.TCPConn)
		tc.SetLinger(0)
		tc.Close()
		th.awaitEnd(t, s)
		th.wantSessionErr(t, s, CloseAbnormal, ErrConnReset)
	})
}

// TestKeepAliveWhileParked: pings go out to a parked session and its pongs
// are read without a data message; the session parks again between them.
func TestKeepAliveWhileParked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("idle sessions keep their reader goroutine off Linux")
	}
	th := newTestHub(t, Config{PingInterval: 20 * time.Millisecond, PongTimeout: waitFor})
	type pong struct {
		rtt   time.Duration
		stale bool // it answers one of our pings, older than the latest
	}
	pongs := make(chan pong, 64)
	th.OnPong(func(s *Session, data []byte, rtt time.Duration) {
		p := pong{rtt: rtt}
		if rtt == 0 && len(data) == 8 { // unmeasured, its stamp left whole
			p.stale = int64(binary.BigEndian.Uint64(data)) < s.lastPing.Load()
		}
		select {
		case pongs <- p:
		default:
		}
	})
	c, s := th.dial(t)
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil { // answers pings
				return
			}
		}
	}()
	for range 3 {
		// Once a pong has lifted the deadline, a pong answering a ping
		// older than the latest is not measured (onPong): a client that
		// falls two ping intervals behind on a loaded machine sends such
		// pongs. Skip those; any other unmeasured pong fails.
		for measured := false; !measured; {
			select {
			case p := <-pongs:
				switch {
				case p.rtt > 0:
					measured = true
				case !p.stale:
					t.Fatalf("pong with round trip %v", p.rtt)
				}
			case <-time.After(waitFor):
				t.Fatal("no pong")
			}
		}
		awaitParked(t, s)
	}
	if s.RTT() <= 0 || s.Counters().MessagesReceived != 0 {
		t.Fatalf("RTT %v, %d messages in", s.RTT(), s.Counters().MessagesReceived)
	}
}

// TestQuietSessionParks: a session that received messages and then went
// quiet parks at its next pong (keep-alive brings its reader back to the
// idle wait), and comes back for the next message.
func TestQuietSessionParks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("idle sessions keep their reader goroutine off Linux")
	}
	// The session is parked from a pong until the next ping needs its
	// reader: the ping interval must leave that window open even when the
	// reader a ping starts runs late on a loaded machine (30ms pings did
	// not, with that reader held 30ms), so that awaitParked can see it.
	th := newTestHub(t, Config{PingInterval: 100 * time.Millisecond, PongTimeout: waitFor})
	th.OnMessage(func(s *Session, m Message) { s.Send(m) })
	c, s := th.dial(t)
	replies := make(chan string, 4)
	go func() {
		for {
			_, p, err := c.ReadMessage() // answers pings too
			if err != nil {
				close(replies)
				return
			}
			replies <- string(p)
		}
	}()
	for _, msg := range []string{"one", "two"} {
		c.WriteMessage(int(TextMessage), []byte(msg))
		select {
		case got := <-replies:
			if got != msg {
				t.Fatalf("echo %q, want %q", got, msg)
			}
		case <-time.After(waitFor):
			t.Fatal("no echo")
		}
		awaitParked(t, s)
	}
	if s.RTT() <= 0 {
		t.Fatal("no pong was read")
	}
}

// FuzzIdleControl checks the parser of control frames read while idle
// against the frame inspector: a frame it takes is one whole, valid ping
// or pong that the inspector accepts and ends on; and every such frame,
// built from the fuzzer's payload and mask, is taken whole.
func FuzzIdleControl(f *testing.F) {
	f.Add([]byte{0x89, 0x80, 1, 2, 3, 4}, []byte("hi"), byte(0x89))
	f.Add([]byte{0x8A, 0x85, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 0x81}, []byte{}, byte(0x8A))
	f.Add([]byte{0x89, 0xFE, 0, 1}, make([]byte, 125), byte(0x89))
	f.Add([]byte{0xC9, 0x80, 1, 2, 3, 4}, []byte("x"), byte(0x8A))
	f.Fuzz(func(t *testing.T, p, payload []byte, b0 byte) {
		if op, size := idleControl(p); size > 0 {
			if op != opPing && op != opPong || size > len(p) || size > 131 {
				t.Fatalf("took op %#x, %d bytes of %d", op, size, len(p))
			}
			for _, compress := range []bool{false, true} {
				fi := frameInspector{compress: compress}
				frame := append([]byte(nil), p[:size]...)
				if n, err := fi.scan(frame); err != nil || n != size || fi.remaining != 0 || fi.have != 0 {
					t.Fatalf("the inspector took %d of %x: %v (remaining %d, have %d)", n, p[:size], err, fi.remaining, fi.have)
				}
			}
		}
		// A whole ping or pong is taken, whatever follows it.
		if b0 != 0x89 && b0 != 0x8A || len(payload) > 125 {
			return
		}
		frame := append([]byte{b0, 0x80 | byte(len(payload)), 9, 8, 7, 6}, payload...)
		if op, size := idleControl(append(frame, p...)); op != b0&0x0F || size != len(frame) {
			t.Fatalf("a %d-byte frame %#x was read as op %#x, %d bytes", len(frame), b0, op, size)
		}
	})
}
