package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wsgate/wsgate/examples/internal/testcert"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/wstest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs the program in-process with args and returns its address
// (without a scheme); cleanup stops it.
func start(t *testing.T, args ...string) string {
	t.Helper()
	addr, _ := startOut(t, args...)
	return addr
}

// startOut is start that also returns the lines printed before "listening
// on" (the embedded NATS server's address, for one).
func startOut(t *testing.T, args ...string) (string, []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var addr string
	var before []string
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "listening on ")
		if !ok {
			before = append(before, sc.Text())
			continue
		}
		if a, ok := strings.CutPrefix(line, "http://"); ok {
			addr = a
		} else {
			addr = strings.TrimPrefix(line, "https://")
		}
		break
	}
	if addr == "" {
		t.Fatal("chat ended before listening")
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return addr, before
}

type chatter struct {
	t *testing.T
	c *wstest.Conn
}

// join dials the chat at addr as the page served from origin would, and
// says hello with name.
func join(t *testing.T, url, origin, name string, opts ...wstest.DialOption) *chatter {
	t.Helper()
	c := wstest.Dial(t, url, append([]wstest.DialOption{wstest.Subprotocols("chat.v1"), wstest.Origin(origin)}, opts...)...)
	if got := c.Subprotocol(); got != "chat.v1" {
		t.Fatalf("subprotocol %q, want chat.v1", got)
	}
	ch := &chatter{t: t, c: c}
	ch.send(request{Type: "hello", Name: name})
	return ch
}

// joinLocal joins the plain-http chat at addr.
func joinLocal(t *testing.T, addr, name string) *chatter {
	t.Helper()
	return join(t, "ws://"+addr+"/ws", "http://"+addr, name)
}

func (ch *chatter) send(r request) {
	ch.t.Helper()
	ch.c.SendJSON(ch.t, r)
}

// next returns the next event of the given type, skipping others.
func (ch *chatter) next(typ string) event {
	ch.t.Helper()
	for {
		var ev event
		ch.c.ReadJSON(ch.t, &ev)
		if ev.Type == typ {
			return ev
		}
	}
}

func TestTwoChattersInOneRoom(t *testing.T) {
	addr := start(t)
	ada := joinLocal(t, addr, "ada")
	ada.send(request{Type: "join", Room: "lobby"})
	if ev := ada.next("members"); strings.Join(ev.Members, ",") != "ada" {
		t.Fatalf("members %v, want [ada]", ev.Members)
	}
	bob := joinLocal(t, addr, "bob")
	bob.send(request{Type: "join", Room: "lobby"})
	if ev := ada.next("joined"); ev.Name != "bob" {
		t.Fatalf("ada saw %+v join, want bob", ev)
	}
	if ev := bob.next("members"); strings.Join(ev.Members, ",") != "ada,bob" {
		t.Fatalf("members %v, want [ada bob]", ev.Members)
	}
	bob.send(request{Type: "say", Room: "lobby", Text: "hi ada"})
	for _, ch := range []*chatter{ada, bob} {
		if ev := ch.next("message"); ev.Name != "bob" || ev.Text != "hi ada" || ev.Room != "lobby" {
			t.Fatalf("got %+v", ev)
		}
	}
	bob.send(request{Type: "leave", Room: "lobby"})
	if ev := ada.next("left"); ev.Name != "bob" {
		t.Fatalf("ada saw %+v leave, want bob", ev)
	}
	if ev := ada.next("members"); strings.Join(ev.Members, ",") != "ada" {
		t.Fatalf("members after leave %v, want [ada]", ev.Members)
	}
	// Leaving by disconnecting tells the room too.
	carl := joinLocal(t, addr, "carl")
	carl.send(request{Type: "join", Room: "lobby"})
	ada.next("joined")
	carl.c.Raw().Close() // no close frame: the connection just drops
	if ev := ada.next("left"); ev.Name != "carl" {
		t.Fatalf("ada saw %+v leave, want carl", ev)
	}
}

func TestRefusedRequests(t *testing.T) {
	addr := start(t)
	eve := joinLocal(t, addr, "eve")
	cases := []struct {
		name string
		req  request
		want string
	}{
		{"say outside a room", request{Type: "say", Room: "lobby", Text: "x"}, "you are not in that room"},
		{"second hello", request{Type: "hello", Name: "mallory"}, "you already have a name"},
		{"empty room", request{Type: "join", Room: "  "}, "a room is 1 to 64 characters"},
		{"long room", request{Type: "join", Room: strings.Repeat("r", 65)}, "a room is 1 to 64 characters"},
		{"unknown type", request{Type: "shout"}, "unknown request type"},
		{"leave a room not joined", request{Type: "leave", Room: "x"}, "you are not in that room"},
	}
	for _, tc := range cases {
		eve.send(tc.req)
		if ev := eve.next("error"); ev.Text != tc.want {
			t.Errorf("%s: error %q, want %q", tc.name, ev.Text, tc.want)
		}
	}
	eve.c.SendText(t, "{not json")
	if ev := eve.next("error"); ev.Text != "malformed request" {
		t.Errorf("malformed JSON: %q", ev.Text)
	}
	eve.c.Send(t, hub.Binary([]byte{1}))
	if code, _ := eve.c.AwaitClose(t); code != hub.CloseUnsupportedData {
		t.Fatalf("binary message: close %d, want 1003", code)
	}
}

func TestForeignOriginRefused(t *testing.T) {
	addr := start(t)
	resp := wstest.DialRefused(t, "ws://"+addr+"/ws", wstest.Subprotocols("chat.v1"), wstest.Origin("https://evil.example"))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %s, want 403", resp.Status)
	}
}

func TestPageIsServed(t *testing.T) {
	addr := start(t)
	for path, want := range map[string]string{"/": "wsgate chat", "/wsgate.js": "export class Client", "/chat.js": "chat.v1"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
}

// TestTLS serves the page and the socket over TLS with a certificate made
// for the test: the page's own https origin is accepted on wss.
func TestTLS(t *testing.T) {
	cert := testcert.Write(t)
	addr := start(t, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cert.Client}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / over https: %s", resp.Status)
	}
	ada := join(t, "wss://"+addr+"/ws", "https://"+addr, "ada", wstest.TLSConfig(cert.Client))
	ada.send(request{Type: "join", Room: "vault"})
	if ev := ada.next("members"); strings.Join(ev.Members, ",") != "ada" {
		t.Fatalf("members over wss %v, want [ada]", ev.Members)
	}
	// The plain-http origin of the same host is another origin.
	resp = wstest.DialRefused(t, "wss://"+addr+"/ws", wstest.TLSConfig(cert.Client), wstest.Subprotocols("chat.v1"), wstest.Origin("http://"+addr))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("http origin on wss: %s, want 403", resp.Status)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-tls-cert", "cert.pem"},
		{"-tls-key", "key.pem"},
		{"-log-level", "loud"},
		{"-allowed-origin", "https://example.com/path"},
		{"-nope"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}
