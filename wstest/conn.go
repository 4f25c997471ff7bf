package wstest

import (
	"crypto/tls"
	"encoding/json"
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
	"github.com/wsgate/wsgate/hub"
)

// DialOption changes how a client dials.
type DialOption func(*dialConfig)

type dialConfig struct {
	path      string
	header    http.Header
	protocols []string
	compress  bool
	tls       *tls.Config
	timeout   time.Duration
}

// Path appends p, a path with an optional query ("/ws?room=lobby"), to the
// URL dialed. It is meant for Server.Dial, whose URL has no path.
func Path(p string) DialOption { return func(c *dialConfig) { c.path = p } }

// Header adds a header to the handshake request.
func Header(key, value string) DialOption {
	return func(c *dialConfig) { c.header.Add(key, value) }
}

// Origin sets the handshake's Origin header, as a browser would.
func Origin(origin string) DialOption { return Header("Origin", origin) }

// Bearer sends token in an Authorization: Bearer header.
func Bearer(token string) DialOption { return Header("Authorization", "Bearer "+token) }

// Subprotocols offers the given subprotocols, most preferred first.
func Subprotocols(protocols ...string) DialOption {
	return func(c *dialConfig) { c.protocols = append(c.protocols, protocols...) }
}

// Compression offers permessage-deflate.
func Compression() DialOption { return func(c *dialConfig) { c.compress = true } }

// TLSConfig sets the client's TLS configuration, for a wss:// URL whose
// certificate the system does not trust. Server.Dial sets it for WithTLS.
func TLSConfig(cfg *tls.Config) DialOption { return func(c *dialConfig) { c.tls = cfg } }

// Timeout replaces DefaultTimeout for this client: it bounds the dial and
// every later wait on the Conn.
func Timeout(d time.Duration) DialOption { return func(c *dialConfig) { c.timeout = d } }

// Conn is a test client: a gorilla/websocket connection whose reads and
// writes fail the test instead of returning errors, and which is closed by
// the test's cleanup.
type Conn struct {
	ws      *websocket.Conn
	resp    *http.Response
	timeout time.Duration
	once    sync.Once
	ended   bool // a close frame or a read error was seen
}

// Dial connects to url (ws:// or wss://) and fails the test if the upgrade
// fails. The connection is closed politely in cleanup.
func Dial(t testing.TB, url string, opts ...DialOption) *Conn {
	t.Helper()
	c, resp, err := TryDial(t, url, opts...)
	if err != nil {
		if resp != nil {
			t.Fatalf("wstest: dial %s: %v: %s %s", url, err, resp.Status, readBody(resp))
		}
		t.Fatalf("wstest: dial %s: %v", url, err)
	}
	return c
}

// TryDial is Dial for a handshake that may be refused: it returns the error
// and, when the server answered, its response, whose body (up to 1 KiB) is
// still readable.
func TryDial(t testing.TB, url string, opts ...DialOption) (*Conn, *http.Response, error) {
	t.Helper()
	cfg := dialConfig{header: http.Header{}, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	d := websocket.Dialer{
		HandshakeTimeout:  cfg.timeout,
		Subprotocols:      cfg.protocols,
		EnableCompression: cfg.compress,
		TLSClientConfig:   cfg.tls,
	}
	ws, resp, err := d.Dial(strings.TrimSuffix(url, "/")+cfg.path, cfg.header)
	if err != nil {
		return nil, resp, err
	}
	c := &Conn{ws: ws, resp: resp, timeout: cfg.timeout}
	t.Cleanup(c.Close)
	return c, resp, nil
}

// DialRefused dials url expecting a refusal and returns the server's
// answer, whose body (up to 1 KiB) is readable. It fails the test if the
// upgrade succeeds or no HTTP answer came.
func DialRefused(t testing.TB, url string, opts ...DialOption) *http.Response {
	t.Helper()
	c, resp, err := TryDial(t, url, opts...)
	if err == nil {
		c.Close()
		t.Fatalf("wstest: dial %s: upgraded, want a refusal", url)
	}
	if resp == nil {
		t.Fatalf("wstest: dial %s: %v, want an HTTP refusal", url, err)
	}
	return resp
}

// readBody returns the body gorilla kept of a refused handshake (at most
// 1 KiB).
func readBody(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// Raw returns the underlying gorilla/websocket connection, for what the
// helpers do not cover (control frames, fragmented writes). Do not use it
// concurrently with the Conn's methods.
func (c *Conn) Raw() *websocket.Conn { return c.ws }

// Response returns the server's 101 response.
func (c *Conn) Response() *http.Response { return c.resp }

// Subprotocol returns the subprotocol the server selected, or "".
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

// Read waits for the next data message. It fails the test if none arrives
// in time or the connection closes first (the failure names the close code).
func (c *Conn) Read(t testing.TB) hub.Message {
	t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(c.timeout))
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		c.ended = true
		t.Fatalf("wstest: waiting for a message: %s", describe(err))
	}
	return hub.Message{Type: hub.MessageType(typ), Data: data}
}

// ReadText waits for the next data message and fails the test unless it is
// a text message.
func (c *Conn) ReadText(t testing.TB) string {
	t.Helper()
	m := c.Read(t)
	if m.Type != hub.TextMessage {
		t.Fatalf("wstest: got a %v message of %d bytes, want text", m.Type, len(m.Data))
	}
	return string(m.Data)
}

// ReadJSON waits for the next data message and decodes it into v, failing
// the test if it is not valid JSON for v.
func (c *Conn) ReadJSON(t testing.TB, v any) {
	t.Helper()
	m := c.Read(t)
	if err := json.Unmarshal(m.Data, v); err != nil {
		t.Fatalf("wstest: decoding %q: %v", truncate(m.Data), err)
	}
}

// Send writes m, failing the test if the write fails.
func (c *Conn) Send(t testing.TB, m hub.Message) {
	t.Helper()
	c.ws.SetWriteDeadline(time.Now().Add(c.timeout))
	if err := c.ws.WriteMessage(int(m.Type), m.Data); err != nil {
		t.Fatalf("wstest: send: %s", describe(err))
	}
}

// SendText writes a text message.
func (c *Conn) SendText(t testing.TB, s string) {
	t.Helper()
	c.Send(t, hub.Text(s))
}

// SendJSON writes v encoded as JSON in a text message.
func (c *Conn) SendJSON(t testing.TB, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("wstest: encoding %T: %v", v, err)
	}
	c.Send(t, hub.Message{Type: hub.TextMessage, Data: b})
}

// AwaitClose reads, discarding data messages, until the server closes the
// connection, answers its close frame, and returns the close code and
// reason: 1005 for a close frame without a code, 1006 for a connection
// that ended without a close frame. It fails the test if nothing ends the
// connection in time.
func (c *Conn) AwaitClose(t testing.TB) (code int, reason string) {
	t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(c.timeout))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		c.ended = true
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
			code, reason = ce.Code, ce.Text
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("wstest: gave up after %v waiting for the server to close", c.timeout)
		default:
			code = websocket.CloseAbnormalClosure
		}
		c.Close()
		return code, reason
	}
}

// Close ends the connection politely: it sends close 1000, waits (within
// the Conn's timeout) for the server's answer, and closes the socket. It is
// called by the test's cleanup; calls after the first do nothing.
func (c *Conn) Close() {
	c.once.Do(func() {
		if !c.ended {
			deadline := time.Now().Add(c.timeout)
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			if c.ws.WriteControl(websocket.CloseMessage, msg, deadline) == nil {
				c.ws.SetReadDeadline(deadline)
				for {
					if _, _, err := c.ws.NextReader(); err != nil {
						break
					}
				}
			}
		}
		c.ws.Close()
	})
}

// describe names a close code in a read or write error.
func describe(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("connection closed with %d %q", ce.Code, ce.Text)
	}
	return err.Error()
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
