package hub

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsgate/wsgate/ratelimit"
)

func TestPongTimeout(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		ping, pong time.Duration
	}{
		{"pong timeout shorter than interval", 50 * time.Millisecond, 40 * time.Millisecond},
		{"pong timeout longer than interval", 20 * time.Millisecond, 150 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			th := newTestHub(t, Config{PingInterval: tc.ping, PongTimeout: tc.pong})
			pinged := make(chan struct{}, 1)
			c, s := th.dial(t)
			c.SetPingHandler(func(string) error { // never answers
				select {
				case pinged <- struct{}{}:
				default:
				}
				return nil
			})
			code, reason := awaitClose(t, c) // the close frame may or may not arrive
			ev := th.awaitEnd(t, s)
			if ev.code != CloseGoingAway || ev.reason != "pong timeout" {
				t.Fatalf("OnClose %d %q, want %d \"pong timeout\" (client saw %d %q)", ev.code, ev.reason, CloseGoingAway, code, reason)
			}
			if len(pinged) == 0 {
				// The deadline runs from when the ping is queued; on a
				// loaded machine it can pass before the ping is written.
				t.Log("the session timed out before its ping reached the client")
			}
			if code != CloseAbnormal && code != CloseGoingAway {
				t.Fatalf("client saw close %d %q", code, reason)
			}
			th.wantSessionErr(t, s, CloseGoingAway, ErrPongTimeout)
		})
	}
}

// TestLimiterPauseIsNotAPongTimeout: a client that sends a burst which
// ratelimit's Delay policy paces over much longer than PongTimeout answers
// every ping in time, but its pongs wait in the socket behind the burst.
// The session must stay open and deliver the whole burst.
func TestLimiterPauseIsNotAPongTimeout(t *testing.T) {
	t.Parallel()
	const burst = 40 // 800ms of pacing at 50 messages/s
	lim, err := ratelimit.NewMessageLimiter(ratelimit.MessageConfig{PerSession: 50, SessionBurst: 1, Policy: ratelimit.Delay})
	if err != nil {
		t.Fatal(err)
	}
	th := newTestHub(t, Config{PingInterval: 30 * time.Millisecond, PongTimeout: 100 * time.Millisecond})
	th.acceptOptions(func(*http.Request) AcceptOptions { return AcceptOptions{Limiter: lim.Session()} })
	got := make(chan struct{}, burst)
	th.OnMessage(func(*Session, Message) { got <- struct{}{} })
	c, s := th.dial(t)
	readErr := make(chan error, 1)
	go func() { // answers pings (gorilla's default handler) while reading
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	for range burst {
		if err := c.WriteMessage(websocket.TextMessage, []byte("b")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range burst {
		select {
		case <-got:
		case <-s.Done():
			t.Fatalf("session ended after %d of %d messages: %v", i, burst, s.Err())
		case <-time.After(waitFor):
			t.Fatalf("only %d of %d messages delivered", i, burst)
		}
	}
	if isDone(s.Done()) {
		t.Fatalf("session ended: %v", s.Err())
	}
	c.Close()
	<-readErr
	th.awaitEnd(t, s)
}

// TestSlowCallbackIsNotAPongTimeout: time the reader spends in OnMessage
// is not the peer's silence either. Each callback outlasts PongTimeout
// while pings go out, and the peer answers every ping at once; the
// session stays open.
func TestSlowCallbackIsNotAPongTimeout(t *testing.T) {
	t.Parallel()
	const slow, msgs = 150 * time.Millisecond, 3
	th := newTestHub(t, Config{PingInterval: 20 * time.Millisecond, PongTimeout: 50 * time.Millisecond})
	got := make(chan struct{}, msgs)
	th.OnMessage(func(*Session, Message) {
		time.Sleep(slow) // the slow application under test, not a wait
		got <- struct{}{}
	})
	c, s := th.dial(t)
	readErr, echoes := make(chan error, 1), make(chan string, 1)
	go func() { // answers pings (gorilla's default handler) while reading
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			echoes <- string(data)
		}
	}()
	for i := range msgs {
		if err := c.WriteMessage(websocket.TextMessage, []byte("m")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-s.Done():
			t.Fatalf("session ended after %d of %d messages: %v", i, msgs, s.Err())
		case <-time.After(waitFor):
			t.Fatalf("message %d not handled", i)
		}
	}
	// The session is still open: it still answers.
	th.OnMessage(func(s *Session, m Message) { s.Send(m) })
	if err := c.WriteMessage(websocket.TextMessage, []byte("still there?")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		t.Fatalf("client read ended: %v (session: %v)", err, s.Err())
	case <-s.Done():
		t.Fatalf("session ended: %v", s.Err())
	case <-time.After(waitFor):
		t.Fatal("no echo")
	case m := <-echoes:
		if m != "still there?" {
			t.Fatalf("echo %q", m)
		}
	}
	c.Close()
	<-readErr
	th.awaitEnd(t, s)
}

func TestRTT(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: 30 * time.Millisecond})
	rtt := make(chan time.Duration, 1)
	th.OnMessage(func(s *Session, _ Message) { rtt <- s.RTT() })
	c, s := th.dial(t)
	if s.RTT() != 0 {
		t.Fatalf("RTT before any ping = %v", s.RTT())
	}
	ponged := make(chan struct{}, 1)
	c.SetPingHandler(func(data string) error {
		err := c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(waitFor))
		select {
		case ponged <- struct{}{}:
		default:
		}
		return err
	})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-ponged:
	case <-time.After(waitFor):
		t.Fatal("never pinged")
	}
	// The server reads the pong before this message, so OnMessage sees the RTT.
	if err := c.WriteMessage(websocket.TextMessage, []byte("after the pong")); err != nil {
		t.Fatal(err)
	}
	if got := <-rtt; got <= 0 {
		t.Fatalf("RTT after an answered ping = %v", got)
	}
	c.Close()
	<-readerDone
	if ev := th.awaitEnd(t, s); ev.code != CloseAbnormal {
		t.Fatalf("OnClose %+v", ev)
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, IdleTimeout: 300 * time.Millisecond})
	th.OnMessage(func(s *Session, m Message) { s.Send(m) })
	chatty, cs := th.dial(t)
	idle, is := th.dial(t)

	stop := make(chan struct{})
	chatDone := make(chan error, 1)
	go func() { // send, await the echo, repeat: the chatty session is never idle
		for i := 0; ; i++ {
			select {
			case <-stop:
				chatDone <- nil
				return
			default:
			}
			if err := chatty.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
				chatDone <- err
				return
			}
			chatty.SetReadDeadline(time.Now().Add(waitFor))
			if _, _, err := chatty.ReadMessage(); err != nil {
				chatDone <- err
				return
			}
		}
	}()

	code, reason := awaitClose(t, idle)
	if code != CloseGoingAway || reason != "idle timeout" {
		t.Errorf("idle client saw %d %q, want 1001 \"idle timeout\"", code, reason)
	}
	ev := th.awaitEnd(t, is)
	if ev.code != CloseGoingAway || ev.reason != "idle timeout" {
		t.Errorf("OnClose %d %q, want 1001 \"idle timeout\"", ev.code, ev.reason)
	}
	if isDone(cs.Done()) {
		t.Error("the chatty session was closed too")
	}
	close(stop)
	if err := <-chatDone; err != nil {
		t.Fatalf("chatty client: %v", err)
	}
	if cs.Counters().MessagesReceived == 0 {
		t.Fatal("chatty session received nothing")
	}
}

// TestPingDataAndOnPong: pings carry the session's application data after
// the timestamp, the peer's pong brings it back to OnPong with the round
// trip, and a pong the peer sends on its own reaches OnPong whole.
func TestPingDataAndOnPong(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: 20 * time.Millisecond})
	type pong struct {
		data string
		rtt  time.Duration
	}
	pongs := make(chan pong, 64)
	th.OnPong(func(_ *Session, data []byte, rtt time.Duration) { pongs <- pong{string(data), rtt} })
	th.onConnect(func(s *Session) {
		if err := s.SetPingData([]byte("hello")); err != nil {
			t.Error(err)
		}
	})
	c, s := th.dial(t)
	pinged := make(chan string, 64)
	c.SetPingHandler(func(data string) error {
		pinged <- data
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(waitFor))
	})
	go func() { // runs the ping handler
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case p := <-pinged:
		if len(p) != 8+len("hello") || p[8:] != "hello" {
			t.Fatalf("ping payload %q", p)
		}
	case <-time.After(waitFor):
		t.Fatal("no ping")
	}
	select {
	case p := <-pongs:
		if p.data != "hello" || p.rtt <= 0 {
			t.Fatalf("OnPong(%q, %v)", p.data, p.rtt)
		}
	case <-time.After(waitFor):
		t.Fatal("no OnPong")
	}
	if s.RTT() <= 0 {
		t.Fatalf("RTT %v", s.RTT())
	}
	if err := c.WriteControl(websocket.PongMessage, []byte("heartbeat"), time.Now().Add(waitFor)); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case p := <-pongs:
			if p.data == "hello" {
				continue // answers to later pings
			}
			if p.data != "heartbeat" || p.rtt != 0 {
				t.Fatalf("unsolicited pong: OnPong(%q, %v)", p.data, p.rtt)
			}
		case <-time.After(waitFor):
			t.Fatal("the unsolicited pong did not reach OnPong")
		}
		break
	}
	if err := s.SetPingData(make([]byte, 118)); err == nil {
		t.Fatal("SetPingData accepted 118 bytes")
	}
}

// TestSetKeepAliveAfterConnect: keep-alive settings change while the
// session runs: pings switched on for a silent peer end it with a pong
// timeout, and an idle timeout switched on ends an idle one.
func TestSetKeepAliveAfterConnect(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	silent, s1 := th.dial(t)
	silent.SetPingHandler(func(string) error { return nil }) // never answers
	if ka := s1.KeepAlive(); ka != (KeepAlive{}) {
		t.Fatalf("KeepAlive() = %+v, want all disabled", ka)
	}
	s1.SetKeepAlive(KeepAlive{PingInterval: 20 * time.Millisecond, PongTimeout: 50 * time.Millisecond})
	if ka := s1.KeepAlive(); ka.PingInterval != 20*time.Millisecond || ka.PongTimeout != 50*time.Millisecond || ka.IdleTimeout != 0 {
		t.Fatalf("KeepAlive() = %+v", ka)
	}
	go awaitClose(t, silent) // reads, so the pings arrive
	if ev := th.awaitEnd(t, s1); ev.code != CloseGoingAway || ev.reason != "pong timeout" {
		t.Fatalf("OnClose %+v, want 1001 pong timeout", ev)
	}

	idle, s2 := th.dial(t)
	s2.SetKeepAlive(KeepAlive{IdleTimeout: 50 * time.Millisecond})
	if code, reason := awaitClose(t, idle); code != CloseGoingAway || reason != "idle timeout" {
		t.Fatalf("client saw %d %q, want 1001 idle timeout", code, reason)
	}
	th.awaitEnd(t, s2)
}
