package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestAcceptOrigin(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	th.acceptOptions(func(r *http.Request) AcceptOptions {
		return AcceptOptions{OriginChecked: r.Header.Get("X-Checked") != ""}
	})
	cases := []struct {
		name    string
		origin  string
		checked bool
		ok      bool
	}{
		{"no origin", "", false, true},
		{"same origin", th.srv.URL, false, true},
		{"cross origin", "http://evil.example", false, false},
		{"cross origin checked by the caller", "http://evil.example", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.origin != "" {
				hdr.Set("Origin", tc.origin)
			}
			if tc.checked {
				hdr.Set("X-Checked", "1")
			}
			if tc.ok {
				c, _ := th.dialWith(t, nil, hdr)
				c.Close()
				return
			}
			_, resp, err := th.rawDial(t, nil, hdr)
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("dial = %v, %v; want 403", resp, err)
			}
			resp.Body.Close()
			if err := <-th.acceptErrs; err == nil {
				t.Fatal("Accept returned no error")
			}
		})
	}
	// A refused upgrade releases its reserved slot.
	if st := th.Stats(); st.Total != 3 {
		t.Fatalf("Stats %+v", st)
	}
}

func TestAcceptOptionsOverrides(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, IdleTimeout: 100 * time.Millisecond})
	order := make(chan string, 4)
	th.onClose(func(s *Session, _ int, _ string) { order <- "hub " + s.Header().Get("X-Name") })
	th.acceptOptions(func(r *http.Request) AcceptOptions {
		if r.Header.Get("X-Name") != "patient" {
			return AcceptOptions{}
		}
		return AcceptOptions{
			IdleTimeout: -1, // never idle
			OnClose:     func(s *Session) { order <- "opts " + s.Header().Get("X-Name") },
		}
	})
	pc, ps := th.dialWith(t, nil, http.Header{"X-Name": {"patient"}})
	ic, is := th.dialWith(t, nil, http.Header{"X-Name": {"idle"}})
	if code, _ := awaitClose(t, ic); code != CloseGoingAway {
		t.Fatalf("idle client saw %d", code)
	}
	if ev := th.awaitEnd(t, is); ev != (closeEvent{CloseGoingAway, "idle timeout"}) {
		t.Fatalf("idle session: %+v", ev)
	}
	if got := <-order; got != "hub idle" {
		t.Fatalf("first close callback %q", got)
	}
	if isDone(ps.Done()) {
		t.Fatal("the session with IdleTimeout -1 was closed")
	}
	pc.Close()
	th.awaitEnd(t, ps)
	if a, b := <-order, <-order; a != "hub patient" || b != "opts patient" {
		t.Fatalf("callbacks ran as %q, %q; want the hub's OnClose first", a, b)
	}
}

// limiter admits messages by content: "drop" is dropped, "deny" ends the
// session, anything else passes.
type limiter struct{ last chan string }

func (l *limiter) Allow(ctx context.Context) (bool, error) {
	switch <-l.last {
	case "drop":
		return false, nil
	case "deny":
		return false, errors.New("rate limit exceeded")
	}
	return true, nil
}

func TestInboundLimiter(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	lim := &limiter{last: make(chan string, 8)}
	th.acceptOptions(func(*http.Request) AcceptOptions { return AcceptOptions{Limiter: lim} })
	got := make(chan string, 8)
	th.OnMessage(func(_ *Session, m Message) { got <- string(m.Data) })
	c, s := th.dial(t)
	for _, m := range []string{"one", "drop", "two", "deny", "never"} {
		lim.last <- m // what the limiter will be asked about, in order
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if code, reason := awaitClose(t, c); code != ClosePolicy || reason != "rate limit exceeded" {
		t.Fatalf("client saw %d %q", code, reason)
	}
	th.awaitEnd(t, s)
	close(got)
	var all []string
	for m := range got {
		all = append(all, m)
	}
	if fmt.Sprint(all) != "[one two]" {
		t.Fatalf("OnMessage got %v", all)
	}
}

// TestConcurrentRouting routes from several goroutines while membership
// churns; every client gets every broadcast, in each publisher's order.
func TestConcurrentRouting(t *testing.T) {
	t.Parallel()
	const clients, publishers, each = 10, 4, 100
	th := newTestHub(t, Config{PingInterval: -1, MaxQueuedMessages: 4 * publishers * each})
	p := dialPeers(t, th, clients)
	errs := make(chan error, clients)
	var readers sync.WaitGroup
	for i, x := range p {
		readers.Add(1)
		go func() {
			defer readers.Done()
			next := make([]int, publishers)
			for n := 0; n < publishers*each; {
				x.c.SetReadDeadline(time.Now().Add(waitFor))
				_, data, err := x.c.ReadMessage()
				if err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
					return
				}
				var pub, seq int
				if _, err := fmt.Sscanf(string(data), "b %d %d", &pub, &seq); err != nil {
					continue // a room or topic message
				}
				if seq != next[pub] {
					errs <- fmt.Errorf("client %d: publisher %d message %d, want %d", i, pub, seq, next[pub])
					return
				}
				next[pub]++
				n++
			}
		}()
	}
	var pubs sync.WaitGroup
	for j := range publishers {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			for i := range each {
				if n, err := th.Broadcast(Text(fmt.Sprintf("b %d %d", j, i))); n != clients || err != nil {
					errs <- fmt.Errorf("Broadcast = %d, %v", n, err)
					return
				}
				x := p[i%clients]
				th.Join(x.s.ID(), "r")
				th.Subscribe(x.s.ID(), "t.*")
				th.SendToRoom("r", Text("room"))
				th.Publish("t.x", Text("topic"))
				th.Leave(x.s.ID(), "r")
				th.Unsubscribe(x.s.ID(), "t.*")
				th.Rooms()
				th.Topics()
				th.Stats()
			}
		}()
	}
	pubs.Wait()
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
