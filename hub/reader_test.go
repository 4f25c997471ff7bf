package hub

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

func TestInboundRefusals(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxTextMessage: 100, MaxBinaryMessage: 1000})
	echo := make(chan string, 16)
	th.OnMessage(func(s *Session, m Message) {
		if s.Header().Get("X-Role") == "bystander" {
			echo <- string(m.Data)
		}
	})
	cases := []struct {
		name     string
		typ      int
		data     string
		wantCode int // 0: accepted
	}{
		{"invalid utf-8", websocket.TextMessage, "bad \xff text", CloseInvalidPayload},
		{"truncated utf-8", websocket.TextMessage, "caf\xc3", CloseInvalidPayload},
		{"text at limit", websocket.TextMessage, strings.Repeat("t", 100), 0},
		{"text over its limit", websocket.TextMessage, strings.Repeat("t", 101), CloseTooBig},
		{"binary over the text limit", websocket.BinaryMessage, strings.Repeat("\xff", 500), 0},
		{"binary at limit", websocket.BinaryMessage, strings.Repeat("b", 1000), 0},
		{"binary over its limit", websocket.BinaryMessage, strings.Repeat("b", 1001), CloseTooBig},
		{"text over both limits", websocket.TextMessage, strings.Repeat("t", 5000), CloseTooBig},
	}
	bystander, bs := th.dialWith(t, nil, map[string][]string{"X-Role": {"bystander"}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, s := th.dial(t)
			if err := c.WriteMessage(tc.typ, []byte(tc.data)); err != nil {
				t.Fatal(err)
			}
			if tc.wantCode == 0 {
				// Accepted: the session still answers.
				if err := s.Send(Text("still open")); err != nil {
					t.Fatal(err)
				}
				readText(t, c, "still open")
				c.Close()
				th.awaitEnd(t, s)
				if got := s.Counters().BytesReceived; got != uint64(len(tc.data)) {
					t.Fatalf("BytesReceived = %d", got)
				}
				return
			}
			code, _ := awaitClose(t, c)
			if code != tc.wantCode {
				t.Fatalf("client saw close %d, want %d", code, tc.wantCode)
			}
			if ev := th.awaitEnd(t, s); ev.code != tc.wantCode {
				t.Fatalf("OnClose code %d (%q), want %d", ev.code, ev.reason, tc.wantCode)
			}
			// Other sessions are unaffected.
			if err := bystander.WriteMessage(websocket.TextMessage, []byte(tc.name)); err != nil {
				t.Fatal(err)
			}
			if got := <-echo; got != tc.name {
				t.Fatalf("bystander's message %q", got)
			}
			if n, _ := th.Broadcast(Text("after " + tc.name)); n != 1 {
				t.Fatalf("Broadcast reached %d sessions", n)
			}
			readText(t, bystander, "after "+tc.name)
		})
	}
	if isDone(bs.Done()) {
		t.Fatal("bystander ended")
	}
}

// TestUTF8FailsFast: invalid UTF-8 in the first fragment of a text message
// fails the connection at once, without waiting for the message to end;
// a sequence split across fragments is valid.
func TestUTF8FailsFast(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	got := make(chan string, 1)
	th.OnMessage(func(_ *Session, m Message) { got <- string(m.Data) })

	rc, _, s := th.rawDialSession(t, "")
	// "café" with the é split between two fragments.
	if err := rc.writeFrame(false, websocket.TextMessage, []byte("caf\xc3")); err != nil {
		t.Fatal(err)
	}
	if err := rc.writeFrame(true, 0x0, []byte("\xa9")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "café" {
			t.Fatalf("OnMessage got %q", m)
		}
	case <-time.After(waitFor):
		t.Fatal("the split message was not delivered")
	}

	// The message never ends; its first fragment is already invalid.
	if err := rc.writeFrame(false, websocket.TextMessage, []byte("ok \xff and more")); err != nil {
		t.Fatal(err)
	}
	if code, err := rc.readClose(); err != nil || code != CloseInvalidPayload {
		t.Fatalf("client read close %d, %v; want 1007", code, err)
	}
	rc.c.Close()
	if ev := th.awaitEnd(t, s); ev.code != CloseInvalidPayload {
		t.Fatalf("OnClose %+v", ev)
	}
	th.wantSessionErr(t, s, CloseInvalidPayload, ErrInvalidData)
}

func FuzzValidUTF8Prefix(f *testing.F) {
	for _, s := range []string{"", "ascii", "café", "caf\xc3", "\xf0\x9f\x98", "\xed\xa0\x80", "\xff", "a\xc3\x28"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		n, ok := validUTF8Prefix(p)
		if n < 0 || n > len(p) || !utf8.Valid(p[:n]) {
			t.Fatalf("prefix %d of %q", n, p)
		}
		switch {
		case utf8.Valid(p):
			if !ok || n != len(p) {
				t.Fatalf("%q is valid, got %d %v", p, n, ok)
			}
		case ok:
			// The rest must be an incomplete sequence some bytes could
			// complete: at most 3 bytes, and not valid on its own.
			rest := p[n:]
			if len(rest) == 0 || len(rest) > 3 || utf8.FullRune(rest) {
				t.Fatalf("%q: tail %q accepted as incomplete", p, rest)
			}
		}
	})
}
