package middleware_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

const appOrigin = "https://app.example.com"

// secServer is issue 3's fully configured endpoint: one hub, one Handler
// with every check on.
type secServer struct {
	t     *testing.T
	hub   *hub.Hub
	ws    *middleware.Handler
	url   string
	track *sessions
	conns *ratelimit.ConnLimiter
	msgs  *ratelimit.MessageLimiter

	// OnTokenExpiry bookkeeping.
	expireCalls  atomic.Int64   // calls for any subject but "extend"
	extendCalls  chan int64     // the call count, once per call for "extend"
	extendN      atomic.Int64   // calls for "extend"
	extendResume chan struct{}  // lets the second "extend" call return
	published    int            // messages sent to the lobby
	good         []chan string  // what each well-behaved client received
	goodWG       sync.WaitGroup // their readers
	goodNames    []string       // their session names
}

func newSecServer(t *testing.T) *secServer {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ss := &secServer{t: t, extendCalls: make(chan int64, 4), extendResume: make(chan struct{})}
	oc, err := origin.New(origin.Policy{AllowedOrigins: []string{appOrigin}})
	must(err)
	v, err := auth.New(auth.Config{
		Algorithms: []string{"HS256"},
		HMACSecret: testSecret,
		Issuer:     testIssuer,
		Audience:   testAudience,
	})
	must(err)
	// The test clients all come from 127.0.0.1, a trusted proxy, so
	// X-Forwarded-For gives each its own client IP.
	ips, err := ratelimit.NewIPResolver([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, ratelimit.HeaderXForwardedFor)
	must(err)
	// Four handshakes per IP, no refill within a test run.
	hs, err := ratelimit.NewHandshakeLimiter(ratelimit.RateConfig{Rate: rate.Every(time.Hour), Burst: 4})
	must(err)
	ss.conns, err = ratelimit.NewConnLimiter(ratelimit.ConnConfig{Max: 100, PerIP: 2, PerUser: 2, RetryAfter: 3 * time.Second})
	must(err)
	// Three messages per session, then the session is closed.
	ss.msgs, err = ratelimit.NewMessageLimiter(ratelimit.MessageConfig{PerSession: rate.Every(time.Hour), SessionBurst: 3, Policy: ratelimit.Reject})
	must(err)

	ss.hub = newEchoHub(t, hub.Config{})
	ss.track = trackSessions(ss.hub, func(s *hub.Session) {
		if s.URL().Query().Get("room") == "lobby" {
			if err := ss.hub.Join(s.ID(), "lobby"); err != nil {
				panic(err) // the hub turns it into a 1011 close, failing the test
			}
		}
	})
	ss.ws = newHandler(t, ss.hub, middleware.Config{
		Subprotocols:  []string{"chat.v1"},
		Origin:        oc,
		Auth:          v,
		OnTokenExpiry: ss.onTokenExpiry,
		ClientIP:      ips,
		Handshakes:    hs,
		Connections:   ss.conns,
		Messages:      ss.msgs,
	})
	mux := http.NewServeMux()
	mux.Handle("/ws", ss.ws)
	ss.url = wsURL(serve(t, mux), "/ws")
	return ss
}

// onTokenExpiry closes every session whose token expires, except the one of
// subject "extend": its first expiry is pushed back a little, and its second
// call waits for the test before closing it.
func (ss *secServer) onTokenExpiry(s *hub.Session) time.Time {
	tok, _ := auth.TokenFromContext(s.Context())
	if tok == nil || tok.Subject != "extend" {
		ss.expireCalls.Add(1)
		return time.Time{}
	}
	n := ss.extendN.Add(1)
	ss.extendCalls <- n
	if n == 1 {
		return time.Now().Add(300 * time.Millisecond)
	}
	select {
	case <-ss.extendResume:
	case <-s.Context().Done():
	case <-time.After(wait):
	}
	return time.Time{}
}

// header builds a browser-like handshake from client IP ip with token tok
// ("" for none) in the Authorization header.
func header(ip, tok string) http.Header {
	h := http.Header{"Origin": {appOrigin}, "X-Forwarded-For": {ip}}
	if tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	return h
}

func (ss *secServer) token(sub string) string {
	return mint(ss.t, sub, testAudience, time.Now().Add(time.Hour))
}

// open dials as client name and requires the upgrade.
func (ss *secServer) open(t *testing.T, name string, hdr http.Header, protos ...string) (*websocket.Conn, *hub.Session) {
	t.Helper()
	return ss.openQuery(t, name, "", hdr, protos...)
}

// openQuery is open with more query parameters (such as "&room=lobby").
func (ss *secServer) openQuery(t *testing.T, name, query string, hdr http.Header, protos ...string) (*websocket.Conn, *hub.Session) {
	t.Helper()
	c := mustDial(t, ss.url+"?c="+name+query, hdr, protos...)
	return c, ss.track.get(t, name)
}

// refused dials as client name and requires a refusal with status.
func (ss *secServer) refused(t *testing.T, name string, hdr http.Header, status int) dialResult {
	t.Helper()
	res := dial(t, ss.url+"?c="+name, hdr)
	if res.conn != nil || res.resp == nil || res.resp.StatusCode != status {
		got := 0
		if res.resp != nil {
			got = res.resp.StatusCode
		}
		t.Fatalf("%s: dial err %v, status %d; want a %d refusal (body %q)", name, res.err, got, status, res.body)
	}
	return res
}

// end closes a client and waits until its session is gone, slots released.
func end(t *testing.T, c *websocket.Conn, s *hub.Session) {
	t.Helper()
	_ = c.Close()
	awaitDone(t, s)
}

// startGood opens the well-behaved sessions: in the lobby, reading in the
// background everything they receive.
func (ss *secServer) startGood(t *testing.T, n int) {
	t.Helper()
	t.Cleanup(ss.goodWG.Wait) // after the connections close (cleanups run last first)
	for i := range n {
		name := fmt.Sprintf("good-%d", i)
		c, _ := ss.openQuery(t, name, "&room=lobby", header(fmt.Sprintf("10.0.0.%d", i+1), ss.token(name)), "chat.v1")
		got := make(chan string, 256)
		ss.good = append(ss.good, got)
		ss.goodNames = append(ss.goodNames, name)
		ss.goodWG.Add(1)
		go func() {
			defer ss.goodWG.Done()
			defer close(got)
			for {
				_, b, err := c.ReadMessage()
				if err != nil {
					return
				}
				got <- string(b)
			}
		}()
	}
	if m := ss.hub.Members("lobby"); len(m) != n {
		t.Fatalf("lobby has %d members, want %d", len(m), n)
	}
}

// publish sends the next lobby message; every well-behaved session must
// take it.
func (ss *secServer) publish(t *testing.T) {
	t.Helper()
	n, err := ss.hub.SendToRoom("lobby", hub.Text(fmt.Sprintf("tick %d", ss.published)))
	if err != nil || n != len(ss.good) {
		t.Errorf("SendToRoom = %d, %v; want %d", n, err, len(ss.good))
	}
	ss.published++
}

// TestSecurityEndToEnd runs issue 3's refusals against one fully configured
// server while well-behaved sessions on the same hub keep receiving the
// messages published after every case. The cases run one after another
// because each checks exact deltas of the shared counters.
func TestSecurityEndToEnd(t *testing.T) {
	t.Parallel()
	ss := newSecServer(t)
	const goodN = 3
	ss.startGood(t, goodN)

	cases := []struct {
		name string
		run  func(t *testing.T)
		// refusals is how much each Refusals counter grows.
		refusals middleware.Refusals
	}{
		{
			name: "foreign origin",
			run: func(t *testing.T) {
				hdr := header("10.1.1.1", ss.token("mallory"))
				hdr.Set("Origin", "https://evil.example")
				res := ss.refused(t, "foreign", hdr, http.StatusForbidden)
				if !strings.Contains(res.body, "origin not allowed") {
					t.Errorf("body = %q", res.body)
				}
			},
			refusals: middleware.Refusals{Origin: 1},
		},
		{
			name: "foreign origin with a valid auth cookie (CSWSH)",
			run: func(t *testing.T) {
				cookie := "access_token=" + ss.token("victim")
				// The victim's own page may use the cookie...
				own := http.Header{"Origin": {appOrigin}, "X-Forwarded-For": {"10.1.2.1"}, "Cookie": {cookie}}
				c, s := ss.open(t, "victim-own", own, "chat.v1")
				end(t, c, s)
				// ...a foreign page riding on it may not.
				evil := http.Header{"Origin": {"https://evil.example"}, "X-Forwarded-For": {"10.1.2.2"}, "Cookie": {cookie}}
				ss.refused(t, "victim-cswsh", evil, http.StatusForbidden)
			},
			refusals: middleware.Refusals{Origin: 1},
		},
		{
			name: "missing token",
			run: func(t *testing.T) {
				res := ss.refused(t, "anonymous", header("10.1.3.1", ""), http.StatusUnauthorized)
				if got := res.resp.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != "Bearer" {
					t.Errorf("WWW-Authenticate = %q, want [Bearer]", got)
				}
			},
			refusals: middleware.Refusals{Auth: 1},
		},
		{
			name: "expired token",
			run: func(t *testing.T) {
				tok := mint(t, "late", testAudience, time.Now().Add(-time.Hour))
				res := ss.refused(t, "expired", header("10.1.4.1", tok), http.StatusUnauthorized)
				if got := res.resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
					t.Errorf("WWW-Authenticate = %q, want invalid_token", got)
				}
			},
			refusals: middleware.Refusals{Auth: 1},
		},
		{
			name: "wrong audience",
			run: func(t *testing.T) {
				tok := mint(t, "elsewhere", "billing", time.Now().Add(time.Hour))
				res := ss.refused(t, "audience", header("10.1.5.1", tok), http.StatusUnauthorized)
				if got := res.resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer error="invalid_token"`) {
					t.Errorf("WWW-Authenticate = %q, want invalid_token", got)
				}
			},
			refusals: middleware.Refusals{Auth: 1},
		},
		{
			name: "token in Sec-WebSocket-Protocol is accepted and never echoed",
			run: func(t *testing.T) {
				entry := auth.EncodeProtocolToken("", ss.token("browser"))
				// The entry alone selects no subprotocol and is refused
				// (TestProtocolTokenNeedsSubprotocol).
				for i, protos := range [][]string{{entry, "chat.v1"}, {"chat.v1", entry}} {
					name := fmt.Sprintf("browser-%d", i)
					res := dial(t, ss.url+"?c="+name, header(fmt.Sprintf("10.1.6.%d", i+1), ""), protos...)
					if res.err != nil {
						t.Fatalf("%v: dial: %v (body %q)", protos, res.err, res.body)
					}
					const want = "chat.v1"
					if got := res.resp.Header.Values("Sec-Websocket-Protocol"); strings.Join(got, ",") != want {
						t.Errorf("%v: response Sec-WebSocket-Protocol = %q, want %q", protos, got, want)
					}
					if got := res.conn.Subprotocol(); got != want {
						t.Errorf("%v: selected %q, want %q", protos, got, want)
					}
					s := ss.track.get(t, name)
					if tok, ok := auth.TokenFromContext(s.Context()); !ok || tok.Source != auth.FromProtocol || tok.Subject != "browser" {
						t.Errorf("session token = %v, %v", tok, ok)
					}
					if h := strings.Join(s.Header().Values("Sec-Websocket-Protocol"), ","); strings.Contains(h, auth.DefaultProtocolPrefix) {
						t.Errorf("session header still carries the token entry: %q", h)
					}
					end(t, res.conn, s)
				}
			},
		},
		{
			name: "handshake rate exceeded for one IP",
			run: func(t *testing.T) {
				const ip = "10.1.7.1"
				for i := range 4 { // the burst, spent on refused handshakes
					ss.refused(t, fmt.Sprintf("burst-%d", i), header(ip, ""), http.StatusUnauthorized)
				}
				res := ss.refused(t, "burst-over", header(ip, ss.token("hasty")), http.StatusTooManyRequests)
				if s, err := strconv.Atoi(res.resp.Header.Get("Retry-After")); err != nil || s < 1 {
					t.Errorf("Retry-After = %q, want whole seconds", res.resp.Header.Get("Retry-After"))
				}
				// Another IP is not affected.
				c, s := ss.open(t, "other-ip", header("10.1.7.2", ss.token("calm")))
				end(t, c, s)
			},
			refusals: middleware.Refusals{Auth: 4, Rate: 1},
		},
		{
			name: "per-IP connection limit",
			run: func(t *testing.T) {
				const ip = "10.1.8.1"
				c1, s1 := ss.open(t, "ip-1", header(ip, ss.token("ip-user-1")))
				c2, s2 := ss.open(t, "ip-2", header(ip, ss.token("ip-user-2")))
				if n := ss.conns.Active(); n != goodN+2 {
					t.Errorf("Active() = %d, want %d", n, goodN+2)
				}
				res := ss.refused(t, "ip-3", header(ip, ss.token("ip-user-3")), http.StatusServiceUnavailable)
				if got := res.resp.Header.Get("Retry-After"); got != "3" {
					t.Errorf("Retry-After = %q, want 3", got)
				}
				if !strings.Contains(res.body, "per-IP limit 2") {
					t.Errorf("body = %q", res.body)
				}
				end(t, c1, s1)
				if n := ss.conns.Active(); n != goodN+1 {
					t.Errorf("Active() = %d after a session ended, want %d", n, goodN+1)
				}
				c3, s3 := ss.open(t, "ip-3-again", header(ip, ss.token("ip-user-3")))
				end(t, c2, s2)
				end(t, c3, s3)
			},
			refusals: middleware.Refusals{Capacity: 1},
		},
		{
			name: "per-user connection limit",
			run: func(t *testing.T) {
				tok := ss.token("bob")
				c1, s1 := ss.open(t, "bob-1", header("10.1.9.1", tok))
				c2, s2 := ss.open(t, "bob-2", header("10.1.9.2", tok))
				res := ss.refused(t, "bob-3", header("10.1.9.3", tok), http.StatusServiceUnavailable)
				if got := res.resp.Header.Get("Retry-After"); got != "3" {
					t.Errorf("Retry-After = %q, want 3", got)
				}
				if !strings.Contains(res.body, "per-user limit 2") {
					t.Errorf("body = %q", res.body)
				}
				if ips, users := ss.conns.Tracked(); ips != goodN+2 || users != goodN+1 {
					t.Errorf("Tracked() = %d IPs, %d users; want %d, %d", ips, users, goodN+2, goodN+1)
				}
				end(t, c2, s2)
				if n := ss.conns.Active(); n != goodN+1 {
					t.Errorf("Active() = %d after a session ended, want %d", n, goodN+1)
				}
				c3, s3 := ss.open(t, "bob-3-again", header("10.1.9.3", tok))
				end(t, c1, s1)
				end(t, c3, s3)
			},
			refusals: middleware.Refusals{Capacity: 1},
		},
		{
			name: "message rate over the limit with Reject",
			run: func(t *testing.T) {
				rejected := ss.msgs.Rejected()
				c, s := ss.open(t, "chatty", header("10.1.10.1", ss.token("chatty")))
				for i := range 4 {
					if err := c.WriteMessage(websocket.TextMessage, []byte(strconv.Itoa(i))); err != nil {
						t.Fatalf("write %d: %v", i, err)
					}
				}
				for i := range 3 {
					if got := readText(t, c); got != strconv.Itoa(i) {
						t.Errorf("echo %d = %q", i, got)
					}
				}
				ce := awaitClose(t, c)
				if ce.Code != hub.ClosePolicy || !strings.Contains(ce.Text, "rate limited") {
					t.Errorf("close = %d %q, want %d rate limited", ce.Code, ce.Text, hub.ClosePolicy)
				}
				awaitDone(t, s)
				if got := ss.msgs.Rejected() - rejected; got != 1 {
					t.Errorf("Rejected() grew by %d, want 1", got)
				}
			},
		},
		{
			name: "token expires during the session",
			run: func(t *testing.T) {
				calls := ss.expireCalls.Load()
				tok := mint(t, "expire", testAudience, time.Now().Add(2*time.Second))
				c, s := ss.open(t, "expire", header("10.1.11.1", tok))
				ce := awaitClose(t, c)
				if ce.Code != hub.ClosePolicy || ce.Text != "token expired" {
					t.Errorf("close = %d %q, want 1008 token expired", ce.Code, ce.Text)
				}
				awaitDone(t, s)
				if got := ss.expireCalls.Load() - calls; got != 1 {
					t.Errorf("OnTokenExpiry called %d times, want 1", got)
				}
			},
		},
		{
			name: "OnTokenExpiry extends the session, then ends it",
			run: func(t *testing.T) {
				tok := mint(t, "extend", testAudience, time.Now().Add(2*time.Second))
				c, s := ss.open(t, "extend", header("10.1.12.1", tok))
				awaitCall := func(want int64) {
					t.Helper()
					select {
					case n := <-ss.extendCalls:
						if n != want {
							t.Fatalf("OnTokenExpiry call %d, want %d", n, want)
						}
					case <-time.After(wait):
						t.Fatalf("OnTokenExpiry call %d never came", want)
					}
				}
				awaitCall(1)
				// Past its token's expiry, the session still works.
				if got := roundTrip(t, c, "still here"); got != "still here" {
					t.Errorf("echo = %q", got)
				}
				awaitCall(2) // the extension ran out; the hook waits for us
				if got := roundTrip(t, c, "and here"); got != "and here" {
					t.Errorf("echo = %q", got)
				}
				close(ss.extendResume)
				ce := awaitClose(t, c)
				if ce.Code != hub.ClosePolicy || ce.Text != "token expired" {
					t.Errorf("close = %d %q, want 1008 token expired", ce.Code, ce.Text)
				}
				awaitDone(t, s)
				if n := ss.extendN.Load(); n != 2 {
					t.Errorf("OnTokenExpiry called %d times, want 2", n)
				}
			},
		},
	}
	for _, tc := range cases {
		before := ss.ws.Refusals()
		ok := t.Run(tc.name, func(t *testing.T) {
			tc.run(t)
			// Every session the case opened has ended and given its slots
			// back; the well-behaved ones are untouched.
			if n := ss.conns.Active(); n != goodN {
				t.Errorf("ConnLimiter.Active() = %d after the case, want %d", n, goodN)
			}
			if st := ss.hub.Stats(); st.Active != goodN {
				t.Errorf("hub.Stats().Active = %d after the case, want %d", st.Active, goodN)
			}
			after := ss.ws.Refusals()
			got := middleware.Refusals{
				Handshake: after.Handshake - before.Handshake,
				Auth:      after.Auth - before.Auth,
				Origin:    after.Origin - before.Origin,
				Rate:      after.Rate - before.Rate,
				Capacity:  after.Capacity - before.Capacity,
				Other:     after.Other - before.Other,
			}
			if got != tc.refusals {
				t.Errorf("Refusals grew by %+v, want %+v", got, tc.refusals)
			}
			ss.publish(t)
		})
		if !ok {
			break
		}
	}

	// Close codes: rate limit, token expired twice.
	if got := ss.hub.Stats().CloseCodes[hub.ClosePolicy]; got != 3 {
		t.Errorf("Stats().CloseCodes[1008] = %d, want 3", got)
	}
	// The well-behaved sessions received every message published, in order.
	for i, got := range ss.good {
		for n := range ss.published {
			select {
			case m, open := <-got:
				if !open {
					t.Fatalf("%s: connection ended after %d of %d messages", ss.goodNames[i], n, ss.published)
				}
				if want := fmt.Sprintf("tick %d", n); m != want {
					t.Errorf("%s: message %d = %q, want %q", ss.goodNames[i], n, m, want)
				}
			case <-time.After(wait):
				t.Fatalf("%s: received %d of %d messages", ss.goodNames[i], n, ss.published)
			}
		}
	}
	if st := ss.hub.Stats(); st.Active != goodN || st.Dropped != 0 {
		t.Errorf("hub.Stats() = %d active, %d dropped; want %d, 0", st.Active, st.Dropped, goodN)
	}
}
