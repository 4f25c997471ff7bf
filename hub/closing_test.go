package hub

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestErrorCloseReachesBusyClient: a client that is still sending when the
// server fails the connection (an oversized message, a protocol error,
// invalid UTF-8) reads the close frame once it is done writing, instead of
// losing it to a reset; OnError and OnClose say what happened.
func TestErrorCloseReachesBusyClient(t *testing.T) {
	t.Parallel()
	const flood = 1 << 20 // what the client sends after (or as) the offence
	cases := []struct {
		name    string
		cfg     Config
		offend  func(rc *rawClient) error
		code    int
		cause   error
		onClose string
	}{
		{
			name: "message over both limits",
			cfg:  Config{MaxTextMessage: 1000, MaxBinaryMessage: 1000},
			offend: func(rc *rawClient) error {
				return rc.writeFlood(websocket.TextMessage, flood)
			},
			code: CloseTooBig, cause: ErrMessageTooBig,
		},
		{
			name: "message over its type's limit",
			cfg:  Config{MaxTextMessage: 100, MaxBinaryMessage: 4 << 20},
			offend: func(rc *rawClient) error {
				return rc.writeFlood(websocket.TextMessage, flood)
			},
			code: CloseTooBig, cause: ErrMessageTooBig, onClose: "message exceeds 100 bytes",
		},
		{
			name: "reserved opcode",
			offend: func(rc *rawClient) error {
				if err := rc.writeFrame(true, 0x3, []byte("x")); err != nil {
					return err
				}
				return rc.writeFlood(websocket.BinaryMessage, flood)
			},
			code: CloseProtocolError, cause: ErrProtocol,
		},
		{
			name: "RSV1 on a ping",
			offend: func(rc *rawClient) error {
				if err := rc.writeFrame(true, 0x40|websocket.PingMessage, nil); err != nil {
					return err
				}
				return rc.writeFlood(websocket.BinaryMessage, flood)
			},
			code: CloseProtocolError, cause: ErrProtocol, onClose: "RSV1 set on a control frame",
		},
		{
			name: "invalid UTF-8",
			offend: func(rc *rawClient) error {
				if err := rc.writeFrame(true, websocket.TextMessage, []byte("bad \xff")); err != nil {
					return err
				}
				return rc.writeFlood(websocket.BinaryMessage, flood)
			},
			code: CloseInvalidPayload, cause: ErrInvalidData, onClose: "invalid UTF-8 in text message",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.PingInterval = -1
			th := newTestHub(t, tc.cfg)
			bystander, bs := th.dial(t)
			rc, _, s := th.rawDialSession(t, "")
			// A browser whose write fails gives up on the connection without
			// reading what is left: the server must not reset it while the
			// client is still sending.
			if err := tc.offend(rc); err != nil {
				t.Fatalf("the client's writes failed: %v", err)
			}
			code, err := rc.readClose()
			if err != nil || code != tc.code {
				t.Fatalf("client read close %d, %v; want %d", code, err, tc.code)
			}
			rc.c.Close()
			ev := th.awaitEnd(t, s)
			if ev.code != tc.code || tc.onClose != "" && ev.reason != tc.onClose {
				t.Fatalf("OnClose %d %q, want %d %q", ev.code, ev.reason, tc.code, tc.onClose)
			}
			th.wantSessionErr(t, s, tc.code, tc.cause)
			// The bystander is unaffected.
			if n, _ := th.Broadcast(Text("still here")); n != 1 {
				t.Fatalf("Broadcast reached %d sessions", n)
			}
			readText(t, bystander, "still here")
			if isDone(bs.Done()) {
				t.Fatal("bystander ended")
			}
		})
	}
}

// TestKick: Kick drops the queue and sends its close frame next; the peer
// reads it and OnClose reports the server's code, where Close would have
// delivered everything first.
func TestKick(t *testing.T) {
	t.Parallel()
	const size, most = 16 << 10, 20000
	th := newTestHub(t, Config{PingInterval: -1, MaxQueuedMessages: most + 1, MaxQueuedBytes: 1 << 30})
	c, s := th.dial(t) // it reads only after the kick
	payload := strings.Repeat("k", size)
	// Send until the writer is stuck on a full socket with messages queued
	// behind its batch.
	n := 0
	for ; n < most; n++ {
		if err := s.Send(Text(payload)); err != nil {
			t.Fatalf("Send %d: %v", n, err)
		}
		s.mu.Lock()
		backlog := s.inflight > 0 && len(s.queue) > 0
		s.mu.Unlock()
		if backlog && n > 100 {
			n++
			break
		}
	}
	if err := s.Kick(4001, "kicked"); err != nil {
		t.Fatal(err)
	}
	if err := s.Kick(4002, "again"); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Kick: %v, want ErrClosed", err)
	}
	if err := s.Send(Text("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Kick: %v, want ErrClosed", err)
	}
	if err := s.Kick(999, ""); err == nil {
		t.Fatal("Kick accepted code 999")
	}
	got := 0
	c.SetReadDeadline(time.Now().Add(waitFor))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			got++
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "kicked" {
			t.Fatalf("after %d messages: %v, want close 4001 kicked", got, err)
		}
		break
	}
	ev := th.awaitEnd(t, s)
	if ev.code != 4001 || ev.reason != "kicked" {
		t.Fatalf("OnClose %+v", ev)
	}
	dropped := s.Counters().Dropped
	if got >= n || got+int(dropped) != n {
		t.Fatalf("client read %d of %d messages, %d dropped: the queue was not discarded", got, n, dropped)
	}
	if err := th.sessionErr(s); err != nil {
		t.Fatalf("OnError %v for a kick", err)
	}
}

// TestDisconnectReason: Disconnect closes without a close frame; OnClose
// says the server did it.
func TestDisconnectReason(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	c, s := th.dial(t)
	s.Disconnect()
	if code, _ := awaitClose(t, c); code != CloseAbnormal {
		t.Fatalf("client saw close %d, want none (1006)", code)
	}
	if ev := th.awaitEnd(t, s); ev.code != CloseAbnormal || ev.reason != "disconnected by the server" {
		t.Fatalf("OnClose %+v", ev)
	}
}

// TestFailedWriteRefusesSends: once a write has failed, the session refuses
// messages at once (even while its reader is still busy in OnMessage), and
// OnError reports the write failure.
func TestFailedWriteRefusesSends(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, WriteTimeout: 50 * time.Millisecond})
	inCallback, release := make(chan struct{}), make(chan struct{})
	th.OnMessage(func(*Session, Message) {
		close(inCallback)
		<-release
	})
	th.onConnect(func(s *Session) { shrinkSendBuffer(t, s) })
	c, s := th.dialWith(t, stalledDialer(), nil)
	if err := c.WriteMessage(websocket.TextMessage, []byte("hold the reader")); err != nil {
		t.Fatal(err)
	}
	<-inCallback
	if err := s.Send(Binary(make([]byte, 1<<20))); err != nil { // more than the sockets hold
		t.Fatal(err)
	}
	select {
	case <-s.Context().Done(): // the write timed out and the session failed
	case <-time.After(waitFor):
		t.Fatal("the write never failed")
	}
	if err := s.Send(Text("into the void")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after a failed write: %v, want ErrClosed", err)
	}
	close(release)
	if ev := th.awaitEnd(t, s); ev.code != CloseAbnormal {
		t.Fatalf("OnClose %+v", ev)
	}
	th.wantSessionErr(t, s, CloseAbnormal, ErrWrite)
	var ne net.Error
	if err := th.sessionErr(s); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("OnError %v does not wrap the timeout", err)
	}
}

// TestPeerResetReported: a peer that resets its connection is reported to
// OnError; one that closes it without a close frame is not.
func TestPeerResetReported(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	c, s := th.dial(t)
	tc := c.NetConn().(*net.TCPConn)
	tc.SetLinger(0) // close with a reset
	tc.Close()
	th.awaitEnd(t, s)
	th.wantSessionErr(t, s, CloseAbnormal, ErrConnReset)
	if !errors.Is(th.sessionErr(s), syscall.ECONNRESET) {
		t.Fatalf("OnError %v does not wrap ECONNRESET", th.sessionErr(s))
	}

	c2, s2 := th.dial(t)
	c2.NetConn().Close() // FIN, no close frame
	if ev := th.awaitEnd(t, s2); ev.code != CloseAbnormal {
		t.Fatalf("OnClose %+v", ev)
	}
	if err := th.sessionErr(s2); err != nil {
		t.Fatalf("OnError %v for a plain TCP close", err)
	}
}

// TestShutdownReturnsDespiteBlockedCallback: Shutdown returns when its
// context ends even if a callback never returns, closes that session's
// connection, and says so in its result.
func TestShutdownReturnsDespiteBlockedCallback(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	inCallback, release := make(chan struct{}), make(chan struct{})
	closed := make(chan int, 2)
	th.OnMessage(func(*Session, Message) {
		close(inCallback)
		<-release
	})
	th.onClose(func(_ *Session, code int, _ string) { closed <- code })
	stuck, _ := th.dial(t)
	idle, is := th.dial(t)
	if err := stuck.WriteMessage(websocket.TextMessage, []byte("block")); err != nil {
		t.Fatal(err)
	}
	<-inCallback
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type ret struct {
		res ShutdownResult
		err error
	}
	done := make(chan ret, 1)
	go func() {
		res, err := th.Shutdown(ctx)
		done <- ret{res, err}
	}()
	// The idle client answers the close frame; the stuck one does not read.
	if code, _ := awaitClose(t, idle); code != CloseGoingAway {
		t.Fatalf("idle client saw %d", code)
	}
	idle.Close()
	// The idle session ends by itself; only then does ctx end. (A deadline
	// instead would race the idle session's end: forced, its reader must
	// still finish within Shutdown's 100ms grace, or it counts as Running.)
	th.awaitEnd(t, is)
	select {
	case r := <-done:
		t.Fatalf("Shutdown returned %+v, %v with a session open and ctx not ended", r.res, r.err)
	default:
	}
	cancel()
	var r ret
	select {
	case r = <-done:
	case <-time.After(waitFor):
		close(release)
		t.Fatal("Shutdown did not return while a callback blocked")
	}
	if !errors.Is(r.err, context.Canceled) || r.res != (ShutdownResult{Drained: 1, Forced: 1, Running: 1}) {
		t.Fatalf("Shutdown = %+v, %v; want the idle session drained, the stuck one forced and still running", r.res, r.err)
	}
	// The stuck session's connection is closed already: the client sees
	// the close frame if the writer sent it before Shutdown forced the
	// session, and the end of the connection either way, never a timeout.
	switch code, reason := awaitClose(t, stuck); {
	case code == CloseGoingAway, code == CloseAbnormal:
	case code == -1 && !strings.Contains(reason, "timeout"): // reset
	default:
		t.Fatalf("stuck client saw %d %q", code, reason)
	}
	close(release)
	for range 2 {
		select {
		case <-closed:
		case <-time.After(waitFor):
			t.Fatal("OnClose did not run once the callback returned")
		}
	}
}

// TestValidFramesBeforeAViolationAreHandled: frames that arrive before a
// bad one, in the same read, are handled and their replies go out before
// the close frame (RFC 6455 7.1.7 fails the connection at the bad frame,
// not before it).
func TestValidFramesBeforeAViolationAreHandled(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	th.OnMessage(func(s *Session, m Message) { s.Send(m) })
	for _, bad := range []struct {
		name  string
		frame []byte
	}{
		{"reserved opcode", rawHeader(true, 0x3, 0)},
		{"RSV2", rawHeader(true, 0x20|websocket.TextMessage, 0)},
		{"fragmented ping", rawHeader(false, websocket.PingMessage, 0)},
		{"lone continuation", rawHeader(true, 0x0, 0)},
	} {
		rc, _, s := th.rawDialSession(t, "")
		var stream []byte
		for _, m := range []string{"one", "two"} {
			stream = append(append(stream, rawHeader(true, websocket.TextMessage, len(m))...), m...)
		}
		stream = append(stream, bad.frame...)
		rc.c.SetWriteDeadline(time.Now().Add(waitFor))
		if _, err := rc.c.Write(stream); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"one", "two"} {
			b0, p, err := rc.readFrame()
			if err != nil || b0 != 0x81 || string(p) != want {
				t.Fatalf("%s: read %#x %q, %v; want the echo %q first", bad.name, b0, p, err, want)
			}
		}
		if code, err := rc.readClose(); err != nil || code != CloseProtocolError {
			t.Fatalf("%s: close %d, %v; want 1002", bad.name, code, err)
		}
		rc.c.Close()
		th.awaitEnd(t, s)
		th.wantSessionErr(t, s, CloseProtocolError, ErrProtocol)
	}
}
