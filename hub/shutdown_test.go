package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	const sessions, queued = 200, 10
	th := newTestHub(t, Config{PingInterval: -1})
	type result struct {
		got    int
		code   int
		reason string
	}
	results := make(chan result, sessions)
	ss := make([]*Session, sessions)
	for i := range sessions {
		c, s := th.dial(t)
		ss[i] = s
		go func() {
			var r result
			c.SetReadDeadline(time.Now().Add(waitFor))
			for {
				_, p, err := c.ReadMessage()
				if err != nil {
					r.code, r.reason = -1, err.Error()
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						r.code, r.reason = ce.Code, ce.Text
					}
					results <- r
					return
				}
				if want := fmt.Sprintf("m%d", r.got); string(p) != want {
					r.code, r.reason = -2, fmt.Sprintf("got %q, want %q", p, want)
					results <- r
					return
				}
				r.got++
			}
		}()
	}

	for i := range queued {
		if n, err := th.Broadcast(Text(fmt.Sprintf("m%d", i))); n != sessions || err != nil {
			t.Fatalf("Broadcast = %d, %v", n, err)
		}
	}
	pending := 0
	for _, s := range ss {
		if n, _ := s.Queued(); n > 0 {
			pending++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := th.Shutdown(ctx)
	if err != nil || res != (ShutdownResult{Drained: sessions}) {
		t.Fatalf("Shutdown = %+v, %v", res, err)
	}
	t.Logf("%d sessions still had messages queued when Shutdown began", pending)
	for range sessions {
		r := <-results
		if r.got != queued || r.code != CloseGoingAway {
			t.Fatalf("client read %d messages then %d %q; want %d then 1001", r.got, r.code, r.reason, queued)
		}
	}
	for _, s := range ss {
		if ev := th.awaitEnd(t, s); ev.code != CloseGoingAway || ev.reason != "server shutting down" {
			t.Fatalf("OnClose %+v", ev)
		}
		if c := s.Counters(); c.MessagesSent != queued || c.Dropped != 0 {
			t.Fatalf("counters %+v", c)
		}
	}
	if got := th.Stats().CloseCodes[CloseGoingAway]; got != sessions {
		t.Fatalf("Stats.CloseCodes[1001] = %d", got)
	}
	if !isDone(th.Done()) {
		t.Fatal("Done not closed after Shutdown")
	}
	if again, err := th.Shutdown(context.Background()); again != res || err != nil {
		t.Fatalf("second Shutdown = %+v, %v", again, err)
	}

	// No more sessions: Accept answers ErrShuttingDown (the handler sends 503).
	_, resp, err := th.rawDial(t, nil, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Shutdown: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := <-th.acceptErrs; !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("Accept after Shutdown: %v", err)
	}
	if n, _ := th.Broadcast(Text("late")); n != 0 {
		t.Fatalf("Broadcast after Shutdown reached %d", n)
	}
}

func TestShutdownForcesSilentPeers(t *testing.T) {
	t.Parallel()
	// CloseTimeout is long, so only ctx can force the silent peer.
	th := newTestHub(t, Config{PingInterval: -1, CloseTimeout: time.Minute})
	good, gs := th.dial(t)
	silent, ss := th.dial(t)
	silent.SetCloseHandler(func(int, string) error { return nil }) // reads the close frame, never answers
	goodClose := make(chan int, 1)
	go func() { code, _ := awaitClose(t, good); goodClose <- code }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type shut struct {
		res ShutdownResult
		err error
	}
	done := make(chan shut, 1)
	go func() {
		res, err := th.Shutdown(ctx)
		done <- shut{res, err}
	}()
	if ev := th.awaitEnd(t, gs); ev.code != CloseGoingAway {
		t.Fatalf("good peer: OnClose %+v", ev)
	}
	if code := <-goodClose; code != CloseGoingAway {
		t.Fatalf("good peer saw %d", code)
	}
	if code, reason := awaitClose(t, silent); code != CloseGoingAway || reason != "server shutting down" {
		t.Fatalf("silent peer reads %d %q", code, reason)
	}
	if isDone(ss.Done()) {
		t.Fatal("the silent peer's session ended before ctx did")
	}
	cancel()
	r := <-done
	if r.res != (ShutdownResult{Drained: 1, Forced: 1}) || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Shutdown = %+v, %v", r.res, r.err)
	}
	if ev := th.awaitEnd(t, ss); ev.code != CloseGoingAway {
		t.Fatalf("silent peer: OnClose %+v", ev)
	}
}

func TestRegisterOnShutdown(t *testing.T) {
	t.Parallel()
	h, err := New(Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	connected := make(chan *Session, 1)
	h.OnConnect(func(s *Session) { connected <- s })
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, AcceptOptions{})
	})}
	h.RegisterOnShutdown(srv, waitFor)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	c, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := <-connected
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _ := awaitClose(t, c); code != CloseGoingAway {
		t.Fatalf("client saw %d, want 1001", code)
	}
	select {
	case <-h.Done():
	case <-time.After(waitFor):
		t.Fatal("hub not shut down by srv.Shutdown")
	}
	<-s.Done()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if res, _ := h.Shutdown(ctx); res.Drained != 1 {
		t.Fatalf("result %+v", res)
	}
}
