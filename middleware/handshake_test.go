package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
)

// sender sends one request to srv and returns the answer and its body.
type sender func(t *testing.T, srv *httptest.Server) (*http.Response, string)

// raw sends a hand-written handshake: a valid one changed by mod.
func raw(method, proto string, mod func(h http.Header)) sender {
	return func(t *testing.T, srv *httptest.Server) (*http.Response, string) {
		h := upgradeHeader()
		if mod != nil {
			mod(h)
		}
		return rawHandshake(t, srv, method, proto, h)
	}
}

// gorillaDial dials with a real client, which must be refused.
func gorillaDial(hdr http.Header, protos ...string) sender {
	return func(t *testing.T, srv *httptest.Server) (*http.Response, string) {
		res := dial(t, wsURL(srv, "/ws"), hdr, protos...)
		if !errors.Is(res.err, websocket.ErrBadHandshake) {
			t.Fatalf("dial error = %v, want ErrBadHandshake", res.err)
		}
		return res.resp, res.body
	}
}

// plainGet sends an ordinary GET, not a WebSocket handshake.
func plainGet(t *testing.T, srv *httptest.Server) (*http.Response, string) {
	resp, err := srv.Client().Get(srv.URL + "/ws")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp, string(b)
}

// errTeapot is an Admit error that is not a *Refusal.
var errTeapot = errors.New("application says no")

func TestHandshakeRefusals(t *testing.T) {
	t.Parallel()
	version13 := http.Header{"Sec-Websocket-Version": {"13"}}
	cases := []struct {
		name    string
		hubCfg  hub.Config
		cfg     middleware.Config
		prepare func(t *testing.T, h *hub.Hub, srv *httptest.Server)
		send    sender
		status  int
		reason  string      // in the body
		header  http.Header // exact values the answer must carry
		total   uint64      // sessions the hub attached (in prepare)
		counted middleware.Refusals
	}{
		{
			name: "not a WebSocket request", send: plainGet,
			status: 400, reason: "not a WebSocket handshake",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "missing Upgrade header",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Del("Upgrade") }),
			status: 400, reason: "not a WebSocket handshake",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name: "HTTP/1.0", send: raw("GET", "HTTP/1.0", nil),
			status: 400, reason: "WebSocket needs HTTP/1.1 or later",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name: "POST", send: raw("POST", "HTTP/1.1", func(h http.Header) { h.Set("Content-Length", "0") }),
			status: 400, reason: "WebSocket handshake must use GET",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			// No body follows: the refusal must not wait for one.
			name:   "declared body",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Set("Content-Length", "1000") }),
			status: 400, reason: "WebSocket handshake must not have a body",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "chunked body",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Set("Transfer-Encoding", "chunked") }),
			status: 400, reason: "WebSocket handshake must not have a body",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "missing Connection header",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Del("Connection") }),
			status: 400, reason: "missing Connection: Upgrade",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "Connection without upgrade",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Set("Connection", "keep-alive") }),
			status: 400, reason: "missing Connection: Upgrade",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "missing key",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Del("Sec-Websocket-Key") }),
			status: 400, reason: "Sec-WebSocket-Key must be the base64 of 16 bytes",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "short key",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Set("Sec-Websocket-Key", "AAAAAAAAAAA=") }),
			status: 400, reason: "Sec-WebSocket-Key must be the base64 of 16 bytes",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "key of 18 bytes",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Set("Sec-Websocket-Key", "AAAAAAAAAAAAAAAAAAAAAAAA") }),
			status: 400, reason: "Sec-WebSocket-Key must be the base64 of 16 bytes",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "non-base64 key",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Set("Sec-Websocket-Key", "!!!!!!!!!!!!!!!!!!!!!!==") }),
			status: 400, reason: "Sec-WebSocket-Key must be the base64 of 16 bytes",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "two keys",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Add("Sec-Websocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA==") }),
			status: 400, reason: "Sec-WebSocket-Key must be the base64 of 16 bytes",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "version 8",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Set("Sec-Websocket-Version", "8") }),
			status: 426, reason: "only 13 is supported", header: version13,
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "missing version",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Del("Sec-Websocket-Version") }),
			status: 426, reason: "only 13 is supported", header: version13,
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "two versions",
			send:   raw("GET", "HTTP/1.1", func(h http.Header) { h.Add("Sec-Websocket-Version", "8") }),
			status: 426, reason: "only 13 is supported", header: version13,
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name:   "foreign origin with the default policy",
			send:   gorillaDial(http.Header{"Origin": {"https://evil.example"}}),
			status: 403, reason: "origin not allowed: cross-origin request",
			counted: middleware.Refusals{Origin: 1},
		},
		{
			name:   "hub full",
			hubCfg: hub.Config{MaxConnections: 1},
			prepare: func(t *testing.T, h *hub.Hub, srv *httptest.Server) {
				c := mustDial(t, wsURL(srv, "/ws"), nil)
				if got := roundTrip(t, c, "hi"); got != "hi" {
					t.Fatalf("echo = %q", got)
				}
			},
			send:   gorillaDial(nil),
			status: 503, reason: "too many connections",
			header:  http.Header{"Retry-After": {"5"}},
			total:   1,
			counted: middleware.Refusals{Capacity: 1},
		},
		{
			name: "hub shutting down",
			cfg:  middleware.Config{RetryAfter: 1500 * time.Millisecond},
			prepare: func(t *testing.T, h *hub.Hub, srv *httptest.Server) {
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				if _, err := h.Shutdown(ctx); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			},
			send:   gorillaDial(nil),
			status: 503, reason: "server shutting down",
			header:  http.Header{"Retry-After": {"2"}}, // rounded up
			counted: middleware.Refusals{Capacity: 1},
		},
		{
			name:   "required subprotocol not offered",
			cfg:    middleware.Config{Subprotocols: []string{"chat.v2", "chat.v1"}, RequireSubprotocol: true},
			send:   gorillaDial(nil, "chat.v3"),
			status: 400, reason: "no supported subprotocol offered",
			counted: middleware.Refusals{Handshake: 1},
		},
		{
			name: "Admit returns a Refusal",
			cfg: middleware.Config{Admit: func(*http.Request, *hub.AcceptOptions) error {
				return middleware.Refuse(http.StatusTeapot, "teapot")
			}},
			send:   gorillaDial(nil),
			status: 418, reason: "teapot",
			counted: middleware.Refusals{Other: 1},
		},
		{
			name: "Admit returns a wrapped Refusal with headers",
			cfg: middleware.Config{Admit: func(*http.Request, *hub.AcceptOptions) error {
				ref := middleware.Refuse(http.StatusServiceUnavailable, "maintenance")
				ref.Header = http.Header{"Retry-After": {"60"}}
				return errors.Join(errTeapot, ref)
			}},
			send:   gorillaDial(nil),
			status: 503, reason: "maintenance",
			header:  http.Header{"Retry-After": {"60"}},
			counted: middleware.Refusals{Capacity: 1},
		},
		{
			name: "Admit returns a plain error",
			cfg: middleware.Config{Admit: func(*http.Request, *hub.AcceptOptions) error {
				return errTeapot
			}},
			send:   gorillaDial(nil),
			status: 403, reason: "forbidden",
			counted: middleware.Refusals{Origin: 1},
		},
		{
			name: "Admit returns a typed nil Refusal",
			cfg: middleware.Config{Admit: func(*http.Request, *hub.AcceptOptions) error {
				var ref *middleware.Refusal
				return ref
			}},
			send:   gorillaDial(nil),
			status: 403, reason: "forbidden",
			counted: middleware.Refusals{Origin: 1},
		},
		{
			name: "Admit returns a Refusal with an invalid status",
			cfg: middleware.Config{Admit: func(*http.Request, *hub.AcceptOptions) error {
				return middleware.Refuse(0, "oops")
			}},
			send:   gorillaDial(nil),
			status: 500, reason: "internal server error",
			counted: middleware.Refusals{Other: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newEchoHub(t, tc.hubCfg)
			m := newHandler(t, h, tc.cfg)
			mux := http.NewServeMux()
			mux.Handle("/ws", m)
			srv := serve(t, mux)
			if tc.prepare != nil {
				tc.prepare(t, h, srv)
			}

			resp, body := tc.send(t, srv)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tc.status, body)
			}
			if !strings.Contains(body, tc.reason) {
				t.Errorf("body = %q, want it to contain %q", body, tc.reason)
			}
			for k, want := range tc.header {
				if got := resp.Header.Values(k); !slices.Equal(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			// No upgrade happened.
			if resp.Header.Get("Sec-Websocket-Accept") != "" || resp.Header.Get("Upgrade") != "" {
				t.Errorf("refusal carries upgrade headers: %v", resp.Header)
			}
			if st := h.Stats(); st.Total != tc.total || st.Active != int(tc.total) {
				t.Errorf("hub attached %d sessions (%d active), want %d", st.Total, st.Active, tc.total)
			}
			if got := m.Refusals(); got != tc.counted {
				t.Errorf("Refusals() = %+v, want %+v", got, tc.counted)
			}
		})
	}
}

func TestSubprotocolSelection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		ours    []string
		require bool
		offered []string
		want    string
	}{
		{name: "server preference wins over client order", ours: []string{"chat.v2", "chat.v1"}, offered: []string{"chat.v1", "chat.v2"}, want: "chat.v2"},
		{name: "the one both speak", ours: []string{"a", "b"}, offered: []string{"x", "b"}, want: "b"},
		{name: "required and offered", ours: []string{"a"}, require: true, offered: []string{"x", "a"}, want: "a"},
		{name: "none offered", ours: []string{"chat.v1"}},
		{name: "none shared, not required", ours: []string{"chat.v1"}, offered: []string{"chat.v9"}},
		{name: "server speaks none", offered: []string{"chat.v1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newEchoHub(t, hub.Config{})
			srv := serve(t, newHandler(t, h, middleware.Config{Subprotocols: tc.ours, RequireSubprotocol: tc.require}))
			res := dial(t, wsURL(srv, "/ws"), nil, tc.offered...)
			if res.err != nil {
				t.Fatalf("dial: %v (body %q)", res.err, res.body)
			}
			if got := res.conn.Subprotocol(); got != tc.want {
				t.Errorf("client sees subprotocol %q, want %q", got, tc.want)
			}
			if got := res.resp.Header.Values("Sec-Websocket-Protocol"); len(got) > 1 || strings.Join(got, "") != tc.want {
				t.Errorf("response Sec-WebSocket-Protocol = %q, want %q", got, tc.want)
			}
			if got := roundTrip(t, res.conn, "proto?"); got != "proto="+tc.want {
				t.Errorf("session says %q, want %q", got, "proto="+tc.want)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	h := newHub(t, hub.Config{})
	cases := []struct {
		name  string
		hub   *hub.Hub
		cfg   middleware.Config
		field string // named in the error
	}{
		{name: "nil hub", cfg: middleware.Config{}, field: "hub"},
		{name: "empty subprotocol", hub: h, cfg: middleware.Config{Subprotocols: []string{"chat", ""}}, field: "Subprotocols[1]"},
		{name: "subprotocol with a space", hub: h, cfg: middleware.Config{Subprotocols: []string{"chat v1"}}, field: "Subprotocols[0]"},
		{name: "subprotocol with a comma", hub: h, cfg: middleware.Config{Subprotocols: []string{"a,b"}}, field: "Subprotocols[0]"},
		{name: "subprotocol with a non-ASCII byte", hub: h, cfg: middleware.Config{Subprotocols: []string{"chät"}}, field: "Subprotocols[0]"},
		{name: "duplicate subprotocol", hub: h, cfg: middleware.Config{Subprotocols: []string{"a", "b", "a"}}, field: "Subprotocols[2]"},
		{name: "RequireSubprotocol without Subprotocols", hub: h, cfg: middleware.Config{RequireSubprotocol: true}, field: "RequireSubprotocol"},
		{name: "negative RetryAfter", hub: h, cfg: middleware.Config{RetryAfter: -time.Second}, field: "RetryAfter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := middleware.New(tc.hub, tc.cfg)
			if err == nil {
				t.Fatalf("New returned %v and no error", m)
			}
			if !errors.Is(err, middleware.ErrConfig) {
				t.Errorf("error %q does not wrap ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}
