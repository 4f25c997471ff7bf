package hub

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
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

// TestAcceptHandshakeRules: Accept used directly applies the opening
// handshake's rules and answers with their status, without admitting a
// session.
func TestAcceptHandshakeRules(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	const valid = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	cases := []struct {
		name, request string
		status        int
		reason        string
	}{
		{"version 8", valid + "Sec-WebSocket-Version: 8\r\n\r\n", http.StatusUpgradeRequired, "unsupported WebSocket version"},
		{"no version", valid + "\r\n", http.StatusUpgradeRequired, "unsupported WebSocket version"},
		{"declared body", valid + "Sec-WebSocket-Version: 13\r\nContent-Length: 1000\r\n\r\n", http.StatusBadRequest, "must not have a body"},
		{"chunked body", valid + "Sec-WebSocket-Version: 13\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", http.StatusBadRequest, "must not have a body"},
		{"POST", strings.Replace(valid, "GET", "POST", 1) + "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n", http.StatusBadRequest, "must use GET"},
		{"short key", strings.Replace(valid, "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", 1) + "Sec-WebSocket-Version: 13\r\n\r\n", http.StatusBadRequest, "Sec-WebSocket-Key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", th.srv.Listener.Addr().String(), waitFor)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(waitFor))
			if _, err := io.WriteString(c, tc.request); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.reason) {
				t.Fatalf("got %d %q, want %d with %q", resp.StatusCode, body, tc.status, tc.reason)
			}
			if tc.status == http.StatusUpgradeRequired && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatalf("426 without Sec-WebSocket-Version: 13: %v", resp.Header)
			}
			var herr *HandshakeError
			if err := <-th.acceptErrs; !errors.As(err, &herr) || herr.Status != tc.status {
				t.Fatalf("Accept returned %v", err)
			}
		})
	}
	if st := th.Stats(); st.Total != 0 || st.Active != 0 {
		t.Fatalf("a refused handshake was admitted: %+v", st)
	}
}

// TestCompressionAgreesWithResponse: whether a session compresses is what
// the 101 response told the client, for every kind of offer. It would fail
// if gorilla/websocket accepted or declined an offer the hub decided
// otherwise about.
func TestCompressionAgreesWithResponse(t *testing.T) {
	t.Parallel()
	for _, enabled := range []bool{true, false} {
		th := newTestHub(t, Config{PingInterval: -1, Compression: Compression{Enabled: enabled}})
		for _, offer := range []string{
			"",
			"permessage-deflate",
			"permessage-deflate; client_max_window_bits",
			"permessage-deflate; server_max_window_bits=10",
			"permessage-deflate; server_max_window_bits=10, permessage-deflate",
			"permessage-deflate; server_max_window_bits=16",
			"x-webkit-deflate-frame",
			"permessage-deflate; unknown",
		} {
			extra := ""
			if offer != "" {
				extra = "Sec-WebSocket-Extensions: " + offer + "\r\n"
			}
			rc, resp, s := th.rawDialSession(t, extra)
			answered := strings.HasPrefix(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
			if s.Compressed() != answered {
				t.Errorf("enabled=%v offer %q: Compressed() = %v, response %q", enabled, offer, s.Compressed(), resp.Header.Get("Sec-WebSocket-Extensions"))
			}
			if want := enabled && strings.HasPrefix(offer, "permessage-deflate") && !strings.HasSuffix(offer, "unknown") && !strings.HasSuffix(offer, "=16"); answered != want {
				t.Errorf("enabled=%v offer %q: accepted = %v, want %v", enabled, offer, answered, want)
			}
			rc.c.Close()
		}
	}
}

// TestSessionHeaderBounded: a session keeps a bounded copy of the upgrade
// request's headers, without the handshake's own.
func TestSessionHeaderBounded(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxSessionHeaderBytes: 1024})
	hdr := http.Header{}
	hdr.Set("X-Big", strings.Repeat("b", 2000))  // over the bound alone: left out
	hdr.Set("X-Mid", strings.Repeat("m", 600))   // fits first, in key order
	hdr.Set("X-Other", strings.Repeat("o", 600)) // no room left after X-Mid
	hdr.Set("Cookie", "session=abc")
	_, s := th.dialWith(t, nil, hdr)
	got := s.Header()
	for _, k := range []string{"Cookie", "X-Mid"} {
		if got.Get(k) != hdr.Get(k) {
			t.Errorf("header %s = %.20q, want it kept", k, got.Get(k))
		}
	}
	for _, k := range []string{"X-Big", "X-Other", "Sec-Websocket-Key", "Upgrade", "Connection"} {
		if _, ok := got[k]; ok {
			t.Errorf("header %s kept", k)
		}
	}
	if cs := s.Cookies(); len(cs) != 1 || cs[0].Value != "abc" {
		t.Errorf("Cookies() = %v", cs)
	}
	n := 0
	for k, vs := range got {
		n += len(k)
		for _, v := range vs {
			n += len(v) + 4
		}
	}
	if n > 1024 {
		t.Errorf("kept %d bytes of headers", n)
	}
	if _, err := New(Config{MaxSessionHeaderBytes: -1}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "MaxSessionHeaderBytes") {
		t.Errorf("New with MaxSessionHeaderBytes -1: %v", err)
	}
}
