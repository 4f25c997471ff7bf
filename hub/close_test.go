package hub

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestClose(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})

	t.Run("graceful", func(t *testing.T) {
		t.Parallel()
		c, s := th.dial(t)
		// Messages queued before Close arrive before the close frame.
		s.Send(Text("first"))
		if err := s.Close(4000, "bye now"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(4001, "again"); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := s.Send(Text("too late")); err != ErrClosed {
			t.Fatalf("Send while closing: %v", err)
		}
		readText(t, c, "first")
		if code, reason := awaitClose(t, c); code != 4000 || reason != "bye now" {
			t.Fatalf("client saw %d %q", code, reason)
		}
		if ev := th.awaitEnd(t, s); ev != (closeEvent{4000, "bye now"}) {
			t.Fatalf("OnClose %+v", ev)
		}
		var ce *CloseError
		if !errors.As(s.Err(), &ce) || ce.Code != 4000 || CloseStatus(s.Err()) != 4000 {
			t.Fatalf("Err = %v", s.Err())
		}
	})

	t.Run("long reason is cut", func(t *testing.T) {
		t.Parallel()
		c, s := th.dial(t)
		long := strings.Repeat("é", 100) // 200 bytes
		if err := s.Close(CloseNormal, long); err != nil {
			t.Fatal(err)
		}
		code, reason := awaitClose(t, c)
		if code != CloseNormal || len(reason) > maxReason || !strings.HasPrefix(long, reason) {
			t.Fatalf("client saw %d %q (%d bytes)", code, reason, len(reason))
		}
		th.awaitEnd(t, s)
	})

	t.Run("invalid codes", func(t *testing.T) {
		t.Parallel()
		c, s := th.dial(t)
		for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000} {
			if err := s.Close(code, "x"); err == nil {
				t.Errorf("Close(%d) accepted", code)
			}
		}
		// The session is still open.
		if err := s.Send(Text("open")); err != nil {
			t.Fatal(err)
		}
		readText(t, c, "open")
	})

	t.Run("disconnect", func(t *testing.T) {
		t.Parallel()
		c, s := th.dialWith(t, stalledDialer(), nil)
		shrinkSendBuffer(t, s)
		const n = 200
		for range n {
			if err := s.Send(Binary(make([]byte, 1024))); err != nil {
				t.Fatal(err)
			}
		}
		s.Disconnect()
		if err := s.Send(Text("x")); err != ErrClosed {
			t.Fatalf("Send after Disconnect: %v", err)
		}
		ev := th.awaitEnd(t, s)
		if ev.code != CloseAbnormal {
			t.Fatalf("OnClose %+v, want %d", ev, CloseAbnormal)
		}
		cnt := s.Counters()
		if cnt.Dropped == 0 || cnt.MessagesSent+cnt.Dropped != n {
			t.Fatalf("counters %+v: want queued messages counted as dropped", cnt)
		}
		// No close frame: the client reads what reached it, then a dropped connection.
		for {
			c.SetReadDeadline(time.Now().Add(waitFor))
			_, _, err := c.ReadMessage()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code != CloseAbnormal {
				t.Fatalf("client got a close frame %d", ce.Code)
			}
			break
		}
	})

	t.Run("peer initiated", func(t *testing.T) {
		t.Parallel()
		c, s := th.dial(t)
		msg := websocket.FormatCloseMessage(4321, "client leaving")
		if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitFor)); err != nil {
			t.Fatal(err)
		}
		if code, _ := awaitClose(t, c); code != 4321 {
			t.Fatalf("echo carried %d, want 4321", code)
		}
		if ev := th.awaitEnd(t, s); ev != (closeEvent{4321, "client leaving"}) {
			t.Fatalf("OnClose %+v", ev)
		}
	})

	t.Run("both close at once", func(t *testing.T) {
		t.Parallel()
		// The server's close frame waits behind a backlog when the peer's
		// close arrives: the peer must still get a close frame.
		c, s := th.dialWith(t, stalledDialer(), nil)
		shrinkSendBuffer(t, s)
		for range 200 {
			if err := s.Send(Binary(make([]byte, 1024))); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(4000, "server bye"); err != nil {
			t.Fatal(err)
		}
		msg := websocket.FormatCloseMessage(4001, "client bye")
		if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitFor)); err != nil {
			t.Fatal(err)
		}
		if code, reason := awaitClose(t, c); code != 4000 && code != 4001 {
			t.Fatalf("client got no close frame: %d %s", code, reason)
		}
		if ev := th.awaitEnd(t, s); ev != (closeEvent{4000, "server bye"}) {
			t.Fatalf("OnClose %+v", ev)
		}
	})

	t.Run("peer closes without code", func(t *testing.T) {
		t.Parallel()
		c, s := th.dial(t)
		if err := c.WriteControl(websocket.CloseMessage, nil, time.Now().Add(waitFor)); err != nil {
			t.Fatal(err)
		}
		awaitClose(t, c)
		if ev := th.awaitEnd(t, s); ev.code != CloseNoStatus {
			t.Fatalf("OnClose %+v, want %d", ev, CloseNoStatus)
		}
	})

	t.Run("dropped connection", func(t *testing.T) {
		t.Parallel()
		c, s := th.dial(t)
		c.NetConn().Close()
		if ev := th.awaitEnd(t, s); ev.code != CloseAbnormal {
			t.Fatalf("OnClose %+v", ev)
		}
	})
}

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxConnections: 2})
	p := dialPeers(t, th, 2)
	_, resp, err := th.rawDial(t, nil, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third dial: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := <-th.acceptErrs; !errors.Is(err, ErrFull) {
		t.Fatalf("Accept: %v, want ErrFull", err)
	}
	if n, _ := th.Broadcast(Text("still here")); n != 2 {
		t.Fatalf("Broadcast reached %d", n)
	}
	for _, x := range p {
		readText(t, x.c, "still here")
	}
	p[0].c.Close()
	th.awaitEnd(t, p[0].s)
	_, s := th.dial(t) // a slot is free again
	if st := th.Stats(); st.Active != 2 || st.Total != 3 {
		t.Fatalf("Stats %+v", st)
	}
	_ = s
}

func TestCallbackPanics(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	th.OnMessage(func(s *Session, m Message) {
		if string(m.Data) == "boom" {
			panic("message boom")
		}
		s.Send(m)
	})
	th.onConnect(func(s *Session) {
		if s.Header().Get("X-Boom") != "" {
			panic("connect boom")
		}
	})
	bystander, bs := th.dial(t)
	echo := func() {
		t.Helper()
		if err := bystander.WriteMessage(websocket.TextMessage, []byte("echo")); err != nil {
			t.Fatal(err)
		}
		readText(t, bystander, "echo")
		if n, _ := th.Broadcast(Text("all")); n != 1 {
			t.Fatalf("Broadcast reached %d sessions, want only the bystander", n)
		}
		readText(t, bystander, "all")
	}

	t.Run("OnMessage", func(t *testing.T) {
		c, s := th.dial(t)
		if err := c.WriteMessage(websocket.TextMessage, []byte("boom")); err != nil {
			t.Fatal(err)
		}
		if code, reason := awaitClose(t, c); code != CloseServerError {
			t.Fatalf("client saw %d %q, want 1011", code, reason)
		}
		var pe *PanicError
		if err := th.awaitErr(t); !errors.As(err, &pe) || pe.Value != "message boom" || len(pe.Stack) == 0 {
			t.Fatalf("OnError got %v", err)
		}
		if ev := th.awaitEnd(t, s); ev.code != CloseServerError {
			t.Fatalf("OnClose %+v", ev)
		}
		echo()
	})

	t.Run("OnConnect", func(t *testing.T) {
		c, _, err := th.rawDial(t, nil, http.Header{"X-Boom": {"1"}})
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := awaitClose(t, c); code != CloseServerError {
			t.Fatalf("client saw %d, want 1011", code)
		}
		var pe *PanicError
		if err := th.awaitErr(t); !errors.As(err, &pe) || pe.Value != "connect boom" {
			t.Fatalf("OnError got %v", err)
		}
		echo()
	})

	t.Run("OnClose", func(t *testing.T) {
		th.onClose(func(s *Session, _ int, _ string) {
			if s.Header().Get("X-Boom-Close") != "" {
				panic("close boom")
			}
		})
		c, s := th.dialWith(t, nil, http.Header{"X-Boom-Close": {"1"}})
		c.Close()
		th.awaitEnd(t, s)
		var pe *PanicError
		if err := th.awaitErr(t); !errors.As(err, &pe) || pe.Value != "close boom" {
			t.Fatalf("OnError got %v", err)
		}
		echo()
	})
	if isDone(bs.Done()) {
		t.Fatal("bystander ended")
	}
}
