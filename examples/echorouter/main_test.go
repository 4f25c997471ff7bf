package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/examples/internal/demoauth"
	"github.com/wsgate/wsgate/examples/internal/rooms"
	"github.com/wsgate/wsgate/examples/internal/serve"
	"github.com/wsgate/wsgate/examples/internal/testcert"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/wstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "0123456789abcdef0123456789abcdef"

func mint(t *testing.T, sub string) string {
	t.Helper()
	tok, err := demoauth.Mint(secret, sub, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func serveApp(t *testing.T, cfg appConfig) (*app, *wstest.Server) {
	t.Helper()
	cfg.Secret = secret
	a, err := newApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, wstest.Serve(t, a.Hub, a.echo)
}

func post(t *testing.T, client *http.Client, url, token, contentType, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return do(t, client, req, token, out)
}

func get(t *testing.T, client *http.Client, url, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, client, req, token, out)
}

func do(t *testing.T, client *http.Client, req *http.Request, token string, out any) int {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	a, srv := serveApp(t, appConfig{MaxConnsPerUser: 1})
	alice := mint(t, "alice")
	srv.Dial(t, wstest.Path("/ws"), wstest.Bearer(alice)) // holds alice's only slot
	cases := []struct {
		name   string
		opts   []wstest.DialOption
		status int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"bad token", []wstest.DialOption{wstest.Bearer("nope")}, http.StatusUnauthorized},
		{"foreign origin", []wstest.DialOption{wstest.Bearer(mint(t, "bob")), wstest.Origin("https://evil.example")}, http.StatusForbidden},
		{"second session of a user", []wstest.DialOption{wstest.Bearer(alice)}, http.StatusServiceUnavailable},
	}
	t.Run("refused", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				resp := srv.DialRefused(t, append([]wstest.DialOption{wstest.Path("/ws")}, tc.opts...)...)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
				}
			})
		}
	})
	if code := get(t, srv.Client(), srv.HTTPURL+"/ws", mint(t, "carol"), nil); code != http.StatusBadRequest {
		t.Fatalf("plain GET with a token: %d, want 400", code)
	}
	got := a.Refusals()
	for reason, n := range map[string]uint64{"auth": 2, "origin": 1, "limits": 1, "handshake": 1} {
		if got[reason] != n {
			t.Errorf("refusals[%s] = %d, want %d", reason, got[reason], n)
		}
	}
}

func TestSessionPublishMembers(t *testing.T) {
	t.Parallel()
	var logs serve.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, srv := serveApp(t, appConfig{Logger: logger})
	alice := mint(t, "alice")
	c := srv.Dial(t, wstest.Path("/ws"), wstest.Bearer(alice), wstest.Origin(srv.HTTPURL))
	var ev rooms.Event
	if c.ReadJSON(t, &ev); ev.Type != "welcome" || ev.User != "alice" {
		t.Fatalf("first event %+v", ev)
	}
	id := ev.Session
	c.SendJSON(t, rooms.Request{Type: "join", Room: "lobby"})
	if c.ReadJSON(t, &ev); ev.Type != "joined" {
		t.Fatalf("join answered %+v", ev)
	}

	var pub struct {
		Room      string
		Delivered int
	}
	if code := post(t, srv.Client(), srv.HTTPURL+"/rooms/lobby/messages", alice, "application/json", `{"text":"via echo"}`, &pub); code != 200 || pub.Delivered != 1 {
		t.Fatalf("publish: %d %+v", code, pub)
	}
	if c.ReadJSON(t, &ev); ev.Type != "message" || ev.Name != "alice" || ev.Text != "via echo" {
		t.Fatalf("got %+v", ev)
	}
	var members struct{ Members []rooms.Member }
	if code := get(t, srv.Client(), srv.HTTPURL+"/rooms/lobby/members", alice, &members); code != 200 || len(members.Members) != 1 || members.Members[0].Session != id {
		t.Fatalf("members: %d %+v, want session %s", code, members, id)
	}
	for _, tc := range []struct {
		name, token, contentType, body string
		status                         int
	}{
		{"no token", "", "application/json", `{"text":"x"}`, 401},
		{"empty text", alice, "application/json", `{"text":""}`, 400},
		{"not JSON", alice, "text/plain", `x`, 415},
	} {
		if code := post(t, srv.Client(), srv.HTTPURL+"/rooms/lobby/messages", tc.token, tc.contentType, tc.body, nil); code != tc.status {
			t.Errorf("publish, %s: %d, want %d", tc.name, code, tc.status)
		}
	}

	// The session is the hub's: closing it from the server reaches the client.
	srv.AwaitSessions(t, 1)[0].Close(hub.ClosePolicy, "kicked")
	if code, reason := c.AwaitClose(t); code != hub.ClosePolicy || reason != "kicked" {
		t.Fatalf("close %d %q", code, reason)
	}
	out := logs.String()
	if !strings.Contains(out, "status=101") || !strings.Contains(out, "path=/rooms/lobby/messages") {
		t.Fatalf("the request log lacks the upgrade or the publish:\n%s", out)
	}
	if strings.Contains(out, strings.Split(alice, ".")[2]) {
		t.Fatalf("the token is in the log:\n%s", out)
	}
}

// TestTLS runs the program over TLS and opens a session with a token it
// minted.
func TestTLS(t *testing.T) {
	t.Parallel()
	var minted bytes.Buffer
	if err := run(context.Background(), []string{"-jwt-secret", secret, "-mint-token", "dave"}, &minted, io.Discard); err != nil {
		t.Fatal(err)
	}
	cert := testcert.Write(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-jwt-secret", secret, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile}, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	sc := bufio.NewScanner(pr)
	var base string
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			base = u
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("listening on %q, want https://", base)
	}
	c := wstest.Dial(t, "wss"+strings.TrimPrefix(base, "https")+"/ws", wstest.TLSConfig(cert.Client), wstest.Bearer(strings.TrimSpace(minted.String())))
	var ev rooms.Event
	if c.ReadJSON(t, &ev); ev.Type != "welcome" || ev.User != "dave" {
		t.Fatalf("first event over wss %+v", ev)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-jwt-secret", "short"},
		{"-jwt-secret", secret, "-tls-cert", "c.pem"},
		{"-jwt-secret", secret, "-log-level", "loud"},
	} {
		if err := run(context.Background(), append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard, io.Discard); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}
