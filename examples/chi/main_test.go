package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/examples/internal/demo"
	"github.com/wsgate/wsgate/examples/internal/demoauth"
	"github.com/wsgate/wsgate/examples/internal/rooms"
	"github.com/wsgate/wsgate/examples/internal/serve"
	"github.com/wsgate/wsgate/examples/internal/testcert"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/wstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "0123456789abcdef0123456789abcdef" // 32 bytes: HS256's minimum

func mint(t *testing.T, sub string) string {
	t.Helper()
	tok, err := demoauth.Mint(secret, sub, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// serveApp serves the program's handler (no listener flags) on loopback.
func serveApp(t *testing.T, cfg appConfig) (*app, *wstest.Server) {
	t.Helper()
	cfg.Secret = secret
	a, err := newApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, wstest.Serve(t, a.Hub, a.handler)
}

// welcome reads the welcome event and returns the session ID.
func welcome(t *testing.T, c *wstest.Conn, user string) string {
	t.Helper()
	var ev rooms.Event
	c.ReadJSON(t, &ev)
	if ev.Type != "welcome" || ev.User != user || ev.Session == "" {
		t.Fatalf("first event %+v, want a welcome for %s", ev, user)
	}
	return ev.Session
}

// call makes a REST request and decodes a JSON answer into out (if not nil).
func call(t *testing.T, client *http.Client, method, url, token, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decoding: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

// wsHandshake is a hand-made upgrade request, for the refusals a WebSocket
// client library will not produce.
func wsHandshake(t *testing.T, url, version, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", version)
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestWebSocketRefusals(t *testing.T) {
	t.Parallel()
	a, srv := serveApp(t, appConfig{})
	noSub, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	expired, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x", "exp": time.Now().Add(-time.Hour).Unix()}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	alice := mint(t, "alice")
	otherSecret, err := demoauth.Mint(strings.Repeat("x", 32), "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		opts      []wstest.DialOption
		status    int
		challenge string // WWW-Authenticate, for 401
	}{
		{"no token", nil, 401, "Bearer"},
		{"garbage token", []wstest.DialOption{wstest.Bearer("nope")}, 401, `Bearer error="invalid_token", error_description="token is malformed"`},
		{"token without sub", []wstest.DialOption{wstest.Bearer(noSub)}, 401, `error_description="token claims are invalid"`},
		{"expired token", []wstest.DialOption{wstest.Bearer(expired)}, 401, `error_description="token is expired"`},
		{"wrong secret", []wstest.DialOption{wstest.Bearer(otherSecret)}, 401, `error_description="token signature is invalid"`},
		{"query token when not allowed", []wstest.DialOption{wstest.Path("/ws?access_token=" + alice)}, 401, "Bearer"},
		{"foreign origin", []wstest.DialOption{wstest.Bearer(alice), wstest.Origin("https://evil.example")}, 403, ""},
		{"foreign origin without token", []wstest.DialOption{wstest.Origin("https://evil.example")}, 403, ""},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				opts := append([]wstest.DialOption{wstest.Path("/ws")}, tc.opts...)
				resp := srv.DialRefused(t, opts...)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
				}
				if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tc.challenge) {
					t.Fatalf("WWW-Authenticate %q, want %q", got, tc.challenge)
				}
			})
		}
	})
	// Past origin and token, the handler checks the handshake itself.
	if resp := wsHandshake(t, srv.HTTPURL+"/ws", "8", alice); resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Fatalf("version 8: %s, Sec-WebSocket-Version %q; want 426 and 13", resp.Status, resp.Header.Get("Sec-WebSocket-Version"))
	}
	if code := call(t, srv.Client(), http.MethodGet, srv.HTTPURL+"/ws", alice, "", nil); code != http.StatusBadRequest {
		t.Fatalf("plain GET with a token: %d, want 400", code)
	}
	want := map[string]uint64{"auth": 6, "origin": 2, "handshake": 2, "rate": 0, "limits": 0}
	got := a.Refusals()
	for reason, n := range want {
		if got[reason] != n {
			t.Errorf("refusals[%s] = %d, want %d (all: %v)", reason, got[reason], n, got)
		}
	}
	// The page's own origin and a valid token pass.
	c := srv.Dial(t, wstest.Path("/ws"), wstest.Bearer(alice), wstest.Origin(srv.HTTPURL))
	welcome(t, c, "alice")
}

func TestLimits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		cfg    appConfig
		status int
		reason string
	}{
		{"handshake rate", appConfig{HandshakeRate: 0.001}, http.StatusTooManyRequests, "rate"},
		{"sessions per user", appConfig{Config: demo.Config{MaxConnsPerUser: 1}}, http.StatusServiceUnavailable, "limits"},
		{"sessions per IP", appConfig{Config: demo.Config{MaxConnsPerIP: 1}}, http.StatusServiceUnavailable, "limits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, srv := serveApp(t, tc.cfg)
			first := srv.Dial(t, wstest.Path("/ws"), wstest.Bearer(mint(t, "alice")))
			welcome(t, first, "alice")
			resp := srv.DialRefused(t, wstest.Path("/ws"), wstest.Bearer(mint(t, "alice")))
			if resp.StatusCode != tc.status || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("second session: %s, Retry-After %q; want %d with Retry-After", resp.Status, resp.Header.Get("Retry-After"), tc.status)
			}
			if n := a.Refusals()[tc.reason]; n != 1 {
				t.Fatalf("refusals[%s] = %d, want 1", tc.reason, n)
			}
		})
	}
}

func TestRoomsOverWebSocketAndREST(t *testing.T) {
	t.Parallel()
	_, srv := serveApp(t, appConfig{})
	alice, bob := mint(t, "alice"), mint(t, "bob")
	ca := srv.Dial(t, wstest.Path("/ws"), wstest.Bearer(alice))
	idA := welcome(t, ca, "alice")
	// A browser sends its token as a subprotocol entry next to a real one.
	cb := srv.Dial(t, wstest.Path("/ws"), wstest.Subprotocols("chat.v1", auth.EncodeProtocolToken("", bob)))
	idB := welcome(t, cb, "bob")
	if cb.Subprotocol() != "chat.v1" {
		t.Fatalf("the server selected %q: a token entry must never be echoed", cb.Subprotocol())
	}
	// The request as it is on the wire, its kind in "type" as in every
	// example; the "op" of older versions is refused.
	ca.SendText(t, `{"op":"join","room":"lobby"}`)
	var refused rooms.Event
	if ca.ReadJSON(t, &refused); refused.Type != "error" || refused.Text != "unknown request type" {
		t.Fatalf(`{"op":"join"} answered %+v, want error "unknown request type"`, refused)
	}
	for user, c := range map[string]*wstest.Conn{"alice": ca, "bob": cb} {
		c.SendText(t, `{"type":"join","room":"lobby"}`)
		var ev rooms.Event
		if c.ReadJSON(t, &ev); ev.Type != "joined" || ev.Room != "lobby" || ev.Name != user {
			t.Fatalf("%s's join answered %+v", user, ev)
		}
	}

	// Said over the socket, heard by both.
	ca.SendJSON(t, rooms.Request{Type: "say", Room: "lobby", Text: "hi bob"})
	for _, c := range []*wstest.Conn{ca, cb} {
		var ev rooms.Event
		if c.ReadJSON(t, &ev); ev.Type != "message" || ev.Name != "alice" || ev.Text != "hi bob" {
			t.Fatalf("got %+v", ev)
		}
	}

	// Published over REST, from the caller's token subject.
	var pub struct {
		Room      string
		Delivered int
	}
	if code := call(t, srv.Client(), http.MethodPost, srv.HTTPURL+"/rooms/lobby/messages", bob, `{"text":"from REST"}`, &pub); code != 200 || pub.Delivered != 2 || pub.Room != "lobby" {
		t.Fatalf("publish: %d %+v, want 200 delivered to 2", code, pub)
	}
	for _, c := range []*wstest.Conn{ca, cb} {
		var ev rooms.Event
		if c.ReadJSON(t, &ev); ev.Name != "bob" || ev.Text != "from REST" {
			t.Fatalf("got %+v", ev)
		}
	}
	var members struct{ Members []rooms.Member }
	if code := call(t, srv.Client(), http.MethodGet, srv.HTTPURL+"/rooms/lobby/members", alice, "", &members); code != 200 || len(members.Members) != 2 {
		t.Fatalf("members: %d %+v", code, members)
	}
	users := map[string]string{}
	for _, m := range members.Members {
		users[m.Session] = m.User
	}
	if users[idA] != "alice" || users[idB] != "bob" {
		t.Fatalf("members %v, want %s alice and %s bob", users, idA, idB)
	}

	// REST refusals.
	restCases := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"publish without token", http.MethodPost, "/rooms/lobby/messages", "", `{"text":"x"}`, 401},
		{"publish without text", http.MethodPost, "/rooms/lobby/messages", alice, `{}`, 400},
		{"publish non-JSON", http.MethodPost, "/rooms/lobby/messages", alice, `text`, 400},
		{"members without token", http.MethodGet, "/rooms/lobby/members", "", "", 401},
		{"kick without token", http.MethodDelete, "/sessions/" + idB, "", "", 401},
		{"kick unknown session", http.MethodDelete, "/sessions/nope", alice, "", 404},
	}
	for _, tc := range restCases {
		if code := call(t, srv.Client(), tc.method, srv.HTTPURL+tc.path, tc.token, tc.body, nil); code != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.status)
		}
	}

	// A kick is seen by the client as close 1008.
	sb, ok := srv.Hub.Session(idB)
	if !ok {
		t.Fatalf("no session %s", idB)
	}
	if code := call(t, srv.Client(), http.MethodDelete, srv.HTTPURL+"/sessions/"+idB, alice, "", nil); code != http.StatusNoContent {
		t.Fatalf("kick: %d, want 204", code)
	}
	if code, reason := cb.AwaitClose(t); code != hub.ClosePolicy || reason != "kicked" {
		t.Fatalf("bob's session ended with %d %q, want 1008 kicked", code, reason)
	}
	// The client reads the close frame before the hub has ended the
	// session; and the session leaves the hub's list a moment before its
	// close code is counted. Its Done follows both.
	awaitDone(t, sb)
	var st rooms.Stats
	if code := call(t, srv.Client(), http.MethodGet, srv.HTTPURL+"/stats", "", "", &st); code != 200 {
		t.Fatalf("stats: %d", code)
	}
	if st.Active != 1 || st.Total != 2 || st.CloseCodes[1008] != 1 || st.Rooms != 1 {
		t.Fatalf("stats %+v, want 1 active of 2, one 1008, one room", st)
	}
}

// awaitDone waits until s has ended: gone from the hub and counted under
// its close code.
func awaitDone(t *testing.T, s *hub.Session) {
	t.Helper()
	wstest.Await(t, "session "+s.ID()+" to end", func() bool {
		select {
		case <-s.Done():
			return true
		default:
			return false
		}
	})
}

// scrape returns the /metrics samples by series ("name{labels}").
func scrape(t *testing.T, client *http.Client, url string) map[string]float64 {
	t.Helper()
	resp, err := client.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsMove(t *testing.T) {
	t.Parallel()
	_, srv := serveApp(t, appConfig{})
	before := scrape(t, srv.Client(), srv.HTTPURL)
	if before["wsgate_sessions_active"] != 0 || before[`wsgate_refusals_total{reason="auth"}`] != 0 {
		t.Fatalf("before: %v", before)
	}
	srv.DialRefused(t, wstest.Path("/ws"))
	c := srv.Dial(t, wstest.Path("/ws"), wstest.Bearer(mint(t, "alice")))
	id := welcome(t, c, "alice")
	c.SendJSON(t, rooms.Request{Type: "join", Room: "lobby"})
	c.Read(t)
	// The client can read the reply before the hub's writer has finished
	// its bookkeeping for it (counted as sent, gone from the queue).
	s := srv.AwaitSessions(t, 1)[0]
	wstest.Await(t, "the joined reply to leave the queue", func() bool {
		n, _ := s.Queued()
		return n == 0
	})
	mid := scrape(t, srv.Client(), srv.HTTPURL)
	for series, want := range map[string]float64{
		"wsgate_sessions_active":                       1,
		"wsgate_sessions_total":                        1,
		"wsgate_rooms":                                 1,
		`wsgate_refusals_total{reason="auth"}`:         1,
		`wsgate_messages_total{direction="in"}`:        1,
		`wsgate_messages_total{direction="out"}`:       2, // welcome, joined
		"wsgate_session_queue_messages_count":          1,
		`wsgate_session_queue_messages_bucket{le="0"}`: 1,
	} {
		if got := mid[series]; got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if call(t, srv.Client(), http.MethodDelete, srv.HTTPURL+"/sessions/"+id, mint(t, "bob"), "", nil) != http.StatusNoContent {
		t.Fatal("kick failed")
	}
	c.AwaitClose(t)
	awaitDone(t, s) // counted under its close code, not only gone from the list
	after := scrape(t, srv.Client(), srv.HTTPURL)
	if after["wsgate_sessions_active"] != 0 || after[`wsgate_sessions_closed_total{code="1008"}`] != 1 || after["wsgate_rooms"] != 0 {
		t.Fatalf("after the kick: active %v, closed 1008 %v, rooms %v", after["wsgate_sessions_active"], after[`wsgate_sessions_closed_total{code="1008"}`], after["wsgate_rooms"])
	}
}

// start runs the program in-process with args and returns its base URL
// (http:// or https://), and a function that stops it; stderr collects its
// logs.
func start(t *testing.T, stderr io.Writer, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-jwt-secret", secret}, args...), pw, stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var url string
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			url = u
			break
		}
	}
	if url == "" {
		t.Fatalf("program ended before listening: %v", <-errc)
	}
	go io.Copy(io.Discard, pr)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return url, stop
}

// TestLogsNeverContainTheToken logs at debug level through sessions that
// carry tokens in every place a client can put one, and refusals of bad
// tokens, then looks for the tokens in the logs.
func TestLogsNeverContainTheToken(t *testing.T) {
	t.Parallel()
	var logs serve.Buffer
	base, stop := start(t, &logs, "-log-level", "debug", "-allow-query-token")
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	header, query, protocol := mint(t, "header-and-query"), mint(t, "query-only"), mint(t, "protocol")
	bad := mint(t, "bad")[:40] + "garbage.garbage"

	c1 := wstest.Dial(t, ws+"?access_token="+header, wstest.Bearer(header))
	welcome(t, c1, "header-and-query")
	c2 := wstest.Dial(t, ws+"?access_token="+query)
	welcome(t, c2, "query-only")
	c3 := wstest.Dial(t, ws, wstest.Subprotocols("chat.v1", auth.EncodeProtocolToken("", protocol)))
	welcome(t, c3, "protocol")
	c1.SendJSON(t, rooms.Request{Type: "join", Room: "lobby"})
	c1.Read(t)
	if resp := wstest.DialRefused(t, ws+"?access_token="+bad); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad query token: %s", resp.Status)
	}
	if resp := wstest.DialRefused(t, ws, wstest.Bearer(bad)); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad header token: %s", resp.Status)
	}
	if code := call(t, http.DefaultClient, http.MethodGet, base+"/rooms/lobby/members?access_token="+query, header, "", nil); code != 200 {
		t.Fatalf("members: %d", code)
	}
	c1.Close()
	c2.Close()
	c3.Close()
	stop()

	out := logs.String()
	for _, want := range []string{"session started", "status=101", "status=401", "/rooms/lobby/members"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the debug log lacks %q, so the test proves nothing:\n%s", want, out)
		}
	}
	for name, tok := range map[string]string{"header": header, "query": query, "protocol": protocol, "bad": bad} {
		// Any long piece of a token would be a leak, signature included.
		for _, part := range append(strings.Split(tok, "."), tok) {
			if len(part) > 16 && strings.Contains(out, part) {
				t.Errorf("the %s token (or a part of it) is in the log:\n%s", name, out)
			}
		}
	}
}

// TestTLS runs the program with a certificate made for the test and uses
// the socket and the REST API over TLS, with a token it minted itself.
func TestTLS(t *testing.T) {
	t.Parallel()
	var minted bytes.Buffer
	if err := run(context.Background(), []string{"-jwt-secret", secret, "-mint-token", "carol"}, &minted, io.Discard); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(minted.String())
	cert := testcert.Write(t)
	base, _ := start(t, io.Discard, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("listening on %s, want https://", base)
	}
	c := wstest.Dial(t, "wss"+strings.TrimPrefix(base, "https")+"/ws", wstest.TLSConfig(cert.Client), wstest.Bearer(token), wstest.Origin(base))
	id := welcome(t, c, "carol")
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cert.Client}}
	defer client.CloseIdleConnections()
	if code := call(t, client, http.MethodDelete, base+"/sessions/"+id, token, "", nil); code != http.StatusNoContent {
		t.Fatalf("kick over https: %d", code)
	}
	if code, _ := c.AwaitClose(t); code != hub.ClosePolicy {
		t.Fatalf("close %d over wss, want 1008", code)
	}
}

func TestBadFlags(t *testing.T) { // not parallel: it sets the environment
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no secret", nil, "-jwt-secret"},
		{"short secret", []string{"-jwt-secret", "short"}, "at least 32 bytes"},
		{"mint with short secret", []string{"-jwt-secret", "short", "-mint-token", "a"}, "at least 32 bytes"},
		{"cert without key", []string{"-jwt-secret", secret, "-tls-cert", "c.pem"}, "-tls-key"},
		{"key without cert", []string{"-jwt-secret", secret, "-tls-key", "k.pem"}, "-tls-cert"},
		{"bad log level", []string{"-jwt-secret", secret, "-log-level", "loud"}, "-log-level"},
		{"negative rate", []string{"-jwt-secret", secret, "-handshake-rate", "-1"}, "-handshake-rate"},
		{"bad origin", []string{"-jwt-secret", secret, "-allowed-origin", "https://x.example/"}, "AllowedOrigins"},
		{"missing cert file", []string{"-jwt-secret", secret, "-tls-cert", "/nonexistent/c.pem", "-tls-key", "/nonexistent/k.pem"}, "-tls-cert"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("WSGATE_JWT_SECRET", "")
			err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, tc.args...), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %s", err, tc.want)
			}
		})
	}
}
