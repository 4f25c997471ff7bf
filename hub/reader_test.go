package hub

import (
	"strings"
	"testing"

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
