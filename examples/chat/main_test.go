package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, args ...string) string {
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
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening on http://"); ok {
			addr = a
			break
		}
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
	return addr
}

type chatter struct {
	t *testing.T
	c *websocket.Conn
}

func join(t *testing.T, addr, name string) *chatter {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"chat.v1"}}
	c, resp, err := d.Dial("ws://"+addr+"/ws", http.Header{"Origin": {"http://" + addr}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if got := resp.Header.Get("Sec-Websocket-Protocol"); got != "chat.v1" {
		t.Fatalf("subprotocol %q, want chat.v1", got)
	}
	t.Cleanup(func() { c.Close() })
	ch := &chatter{t: t, c: c}
	ch.send(request{Type: "hello", Name: name})
	return ch
}

func (ch *chatter) send(r request) {
	ch.t.Helper()
	if err := ch.c.WriteJSON(r); err != nil {
		ch.t.Fatal(err)
	}
}

// next returns the next event of the given type, skipping others.
func (ch *chatter) next(typ string) event {
	ch.t.Helper()
	ch.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var ev event
		if err := ch.c.ReadJSON(&ev); err != nil {
			ch.t.Fatalf("waiting for %q: %v", typ, err)
		}
		if ev.Type == typ {
			return ev
		}
	}
}

func TestTwoChattersInOneRoom(t *testing.T) {
	addr := start(t)
	ada := join(t, addr, "ada")
	ada.send(request{Type: "join", Room: "lobby"})
	if ev := ada.next("members"); strings.Join(ev.Members, ",") != "ada" {
		t.Fatalf("members %v, want [ada]", ev.Members)
	}
	bob := join(t, addr, "bob")
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
	carl := join(t, addr, "carl")
	carl.send(request{Type: "join", Room: "lobby"})
	ada.next("joined")
	carl.c.Close()
	if ev := ada.next("left"); ev.Name != "carl" {
		t.Fatalf("ada saw %+v leave, want carl", ev)
	}
}

func TestRefusedRequests(t *testing.T) {
	addr := start(t)
	eve := join(t, addr, "eve")
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
	eve.c.WriteMessage(websocket.TextMessage, []byte("{not json"))
	if ev := eve.next("error"); ev.Text != "malformed request" {
		t.Errorf("malformed JSON: %q", ev.Text)
	}
	eve.c.WriteMessage(websocket.BinaryMessage, []byte{1})
	eve.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := eve.c.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseUnsupportedData) {
				t.Fatalf("binary message: %v, want close 1003", err)
			}
			break
		}
	}
}

func TestForeignOriginRefused(t *testing.T) {
	addr := start(t)
	d := websocket.Dialer{Subprotocols: []string{"chat.v1"}}
	_, resp, err := d.Dial("ws://"+addr+"/ws", http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: err %v, response %v; want 403", err, resp)
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
