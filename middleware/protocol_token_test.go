package middleware_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
)

// syncBuffer is a bytes.Buffer safe for the handler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A token sent as a Sec-WebSocket-Protocol entry only works in browsers and
// Node's ws when the server selects a real subprotocol the client offered
// next to it. Where none is selected the handler refuses with 400, names
// the setting in its log, and leaves other sessions alone; with a
// selectable subprotocol the same token is accepted and never echoed. Both
// the one-call form (Config.Auth) and the chain form (auth.Middleware in
// front of an empty Config) behave the same.
func TestProtocolTokenNeedsSubprotocol(t *testing.T) {
	t.Parallel()
	v, err := auth.New(auth.Config{Algorithms: []string{"HS256"}, HMACSecret: testSecret, Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	const noneOfOurs = "token sent in Sec-WebSocket-Protocol, but the client offered none of the server's subprotocols"
	const noneAtAll = "token sent in Sec-WebSocket-Protocol, but the server selects no subprotocol (middleware.Config.Subprotocols is empty)"
	cases := []struct {
		name     string
		chain    bool     // auth.Middleware in front instead of Config.Auth
		server   []string // Config.Subprotocols
		offer    []string // besides the token entry
		want     string   // selected subprotocol; "" means refused
		wantBody string
	}{
		{name: "no server subprotocols, token alone", offer: nil, wantBody: noneAtAll},
		{name: "no server subprotocols, token next to chat.v1", offer: []string{"chat.v1"}, wantBody: noneAtAll},
		{name: "chain form, no server subprotocols", chain: true, offer: []string{"chat.v1"}, wantBody: noneAtAll},
		{name: "server speaks chat.v1, token alone", server: []string{"chat.v1"}, wantBody: noneOfOurs},
		{name: "server speaks chat.v1, client offers chat.v2", server: []string{"chat.v1"}, offer: []string{"chat.v2"}, wantBody: noneOfOurs},
		{name: "server speaks chat.v1, client offers it", server: []string{"chat.v1"}, offer: []string{"chat.v1"}, want: "chat.v1"},
		{name: "chain form, server speaks chat.v1", chain: true, server: []string{"chat.v1"}, offer: []string{"chat.v1"}, want: "chat.v1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			h := newEchoHub(t, hub.Config{})
			cfg := middleware.Config{
				Subprotocols: tc.server,
				Logger:       slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
			}
			if !tc.chain {
				cfg.Auth = v
			}
			m := newHandler(t, h, cfg)
			var route http.Handler = m
			if tc.chain {
				route = auth.Middleware(v)(m)
			}
			srv := serve(t, route)
			url := wsURL(srv, "/ws")

			// A session that is already open must not notice the refusal.
			bystander := mustDial(t, url, bearer(mint(t, "bystander", testAudience, time.Now().Add(time.Hour))), tc.server...)
			if got := roundTrip(t, bystander, "hello"); got != "hello" { // attached
				t.Fatalf("bystander read %q", got)
			}

			tok := mint(t, "browser", testAudience, time.Now().Add(time.Hour))
			entry := auth.EncodeProtocolToken("", tok)
			before := m.Refusals()
			res := dial(t, url, nil, append(append([]string(nil), tc.offer...), entry)...)
			if tc.want != "" {
				if res.err != nil {
					t.Fatalf("dial: %v (body %q)", res.err, res.body)
				}
				if got := res.conn.Subprotocol(); got != tc.want {
					t.Fatalf("selected %q, want %q", got, tc.want)
				}
				if got := strings.Join(res.resp.Header.Values("Sec-Websocket-Protocol"), ","); got != tc.want {
					t.Fatalf("response Sec-WebSocket-Protocol = %q, want %q", got, tc.want)
				}
				if got := roundTrip(t, res.conn, "proto?"); got != "proto="+tc.want {
					t.Fatalf("session reports %q", got)
				}
			} else {
				if res.err == nil || res.resp == nil || res.resp.StatusCode != http.StatusBadRequest {
					status := 0
					if res.resp != nil {
						status = res.resp.StatusCode
					}
					t.Fatalf("dial: err %v, status %d; want a 400 refusal", res.err, status)
				}
				if got := strings.TrimSpace(res.body); got != tc.wantBody {
					t.Fatalf("body %q, want %q", got, tc.wantBody)
				}
				if got := m.Refusals(); got.Handshake != before.Handshake+1 || got.Auth != before.Auth {
					t.Fatalf("refusals %+v, then %+v: want one more Handshake", before, got)
				}
				out := logs.String()
				if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "middleware.Config.Subprotocols") {
					t.Fatalf("log does not name the setting at warn level:\n%s", out)
				}
				if strings.Contains(out, tok[len(tok)-20:]) || strings.Contains(out, entry[len(entry)-20:]) {
					t.Fatalf("log contains the token:\n%s", out)
				}
				if n := h.Stats().Total; n != 1 {
					t.Fatalf("%d sessions attached in all, want the bystander only", n)
				}
			}
			if got := roundTrip(t, bystander, "still here"); got != "still here" {
				t.Fatalf("bystander read %q", got)
			}
		})
	}
}

// A token in the Authorization header needs no subprotocol: the refusal
// above applies only to tokens that came in Sec-WebSocket-Protocol.
func TestHeaderTokenNeedsNoSubprotocol(t *testing.T) {
	t.Parallel()
	v, err := auth.New(auth.Config{Algorithms: []string{"HS256"}, HMACSecret: testSecret, Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	h := newEchoHub(t, hub.Config{})
	srv := serve(t, newHandler(t, h, middleware.Config{Auth: v}))
	for i, offer := range [][]string{nil, {"chat.v1"}} {
		c := mustDial(t, wsURL(srv, fmt.Sprintf("/ws?c=%d", i)), bearer(mint(t, "service", testAudience, time.Now().Add(time.Hour))), offer...)
		if got := roundTrip(t, c, "proto?"); got != "proto=" {
			t.Fatalf("offer %v: session reports %q, want no subprotocol", offer, got)
		}
	}
}
