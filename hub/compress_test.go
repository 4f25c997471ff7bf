package hub

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// compServer is a hub that echoes every message, behind a loopback server.
type compServer struct {
	*Hub
	url      string
	sessions chan *Session
}

func compStart(t *testing.T, cfg Config) *compServer {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs := &compServer{Hub: h, sessions: make(chan *Session, 16)}
	h.OnConnect(func(s *Session) { cs.sessions <- s })
	h.OnMessage(func(s *Session, m Message) { s.Send(m) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, AcceptOptions{})
	}))
	cs.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.Shutdown(ctx)
	})
	return cs
}

// compCountingConn counts the bytes a client reads from the network.
type compCountingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *compCountingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// compClient is a gorilla client that counts the bytes it receives.
type compClient struct {
	*websocket.Conn
	wire    *compCountingConn
	session *Session
}

func (cs *compServer) dial(t *testing.T, compress bool) *compClient {
	t.Helper()
	cc := &compClient{}
	d := websocket.Dialer{
		EnableCompression: compress,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cc.wire = &compCountingConn{Conn: c}
			return cc.wire, nil
		},
	}
	c, _, err := d.Dial(cs.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	cc.Conn = c
	select {
	case cc.session = <-cs.sessions:
	case <-time.After(10 * time.Second):
		t.Fatal("no session")
	}
	if cc.session.Compressed() != compress {
		t.Fatalf("Session.Compressed() = %v for a client that offered compression: %v", cc.session.Compressed(), compress)
	}
	return cc
}

// read reads one message and returns it with the bytes it took on the wire.
func (cc *compClient) read(t *testing.T) (int, []byte, int64) {
	t.Helper()
	before := cc.wire.n.Load()
	typ, p, err := cc.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return typ, p, cc.wire.n.Load() - before
}

// compJSON returns n bytes of JSON-like text that compresses well.
func compJSON(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user-%d","event":"price","price":%d.%02d},`, i, i%97, 100+i%13, i%100)
	}
	return b.Bytes()[:n]
}

// TestCompressionEcho echoes text and binary messages of several sizes to a
// compressing and a non-compressing client of one hub.
func TestCompressionEcho(t *testing.T) {
	cs := compStart(t, Config{Compression: Compression{Enabled: true}, MaxTextMessage: 1 << 20, MaxBinaryMessage: 1 << 20})
	clients := map[string]*compClient{"compressing": cs.dial(t, true), "plain": cs.dial(t, false)}
	for _, size := range []int{0, 100, 511, 512, 4096, 65536, 1 << 20} {
		for _, typ := range []int{websocket.TextMessage, websocket.BinaryMessage} {
			msg := compJSON(size)
			for name, c := range clients {
				if err := c.WriteMessage(typ, msg); err != nil {
					t.Fatal(err)
				}
				gotTyp, got, wire := c.read(t)
				if gotTyp != typ || !bytes.Equal(got, msg) {
					t.Fatalf("%s, type %d, %d bytes: echo is type %d, %d bytes", name, typ, size, gotTyp, len(got))
				}
				compressed := wire < int64(size)
				if want := name == "compressing" && size >= 512; compressed != want {
					t.Errorf("%s, %d bytes: %d bytes on the wire (compressed %v, want %v)", name, size, wire, compressed, want)
				}
				// The writer releases the echo from the queue's bounds a
				// moment after flushing it, so after the client may have
				// read it; the next echo (up to 1 MiB, the default
				// MaxQueuedBytes) sent before that would be refused and
				// the client cut off as a slow consumer.
				awaitCond(t, "the echo to leave the queue", func() bool { n, _ := c.session.Queued(); return n == 0 })
			}
		}
	}
}

// TestCompressionBroadcastMixed broadcasts one message to compressing and
// non-compressing sessions: each gets the kind of frame it negotiated.
func TestCompressionBroadcastMixed(t *testing.T) {
	cs := compStart(t, Config{Compression: Compression{Enabled: true}})
	var clients []*compClient
	for i := range 6 {
		clients = append(clients, cs.dial(t, i%2 == 0))
	}
	msg := compJSON(16 << 10)
	if n, err := cs.Broadcast(Message{Type: TextMessage, Data: msg}); err != nil || n != len(clients) {
		t.Fatalf("Broadcast queued for %d sessions (%v), want %d", n, err, len(clients))
	}
	for i, c := range clients {
		_, got, wire := c.read(t)
		if !bytes.Equal(got, msg) {
			t.Fatalf("client %d got %d bytes, want %d", i, len(got), len(msg))
		}
		if compressed := wire < int64(len(msg))/2; compressed != c.session.Compressed() {
			t.Errorf("client %d (compressing %v) received %d bytes for a %d-byte message", i, c.session.Compressed(), wire, len(msg))
		}
	}
}

// TestOutboundCompressedOnce checks that a routed message is deflated once
// per window size for all its compressing targets without context takeover.
func TestOutboundCompressedOnce(t *testing.T) {
	d := &deflaters{level: 1}
	o := newOutbound(Message{Type: TextMessage, Data: compJSON(4096)})
	p1, err1 := o.deflated(d, 15)
	p2, err2 := o.deflated(d, 15)
	p3, err3 := o.deflated(d, 9)
	if err1 != nil || err2 != nil || err3 != nil || &p1[0] != &p2[0] {
		t.Fatalf("deflated twice: %p %v, %p %v", p1, err1, p2, err2)
	}
	if &p3[0] == &p1[0] {
		t.Fatal("one form for two window sizes")
	}
	for _, p := range [][]byte{p1, p3} {
		got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), strings.NewReader(inflateTail))))
		if err != nil || !bytes.Equal(got, o.data) {
			t.Fatalf("inflated %d bytes (%v), want the %d sent", len(got), err, len(o.data))
		}
	}
}

func TestCompressionLevelsAndThreshold(t *testing.T) {
	msg := compJSON(16 << 10)
	cases := []struct {
		name       string
		comp       Compression
		size       int
		compressed bool // fewer bytes on the wire than the message
	}{
		{"level 1", Compression{Enabled: true, Level: 1}, len(msg), true},
		{"level 9", Compression{Enabled: true, Level: 9}, len(msg), true},
		{"huffman only", Compression{Enabled: true, Level: LevelHuffmanOnly}, len(msg), true},
		{"no compression", Compression{Enabled: true, Level: LevelNoCompression}, len(msg), false},
		{"below threshold", Compression{Enabled: true, Threshold: 2000}, 1999, false},
		{"at threshold", Compression{Enabled: true, Threshold: 2000}, 2000, true},
		{"threshold 1", Compression{Enabled: true, Threshold: 1}, 300, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cs := compStart(t, Config{Compression: tc.comp})
			c := cs.dial(t, true)
			m := msg[:tc.size]
			c.session.Send(Message{Type: BinaryMessage, Data: m})
			_, got, wire := c.read(t)
			if !bytes.Equal(got, m) {
				t.Fatalf("got %d bytes, want %d", len(got), len(m))
			}
			if compressed := wire < int64(len(m)); compressed != tc.compressed {
				t.Fatalf("%d-byte message took %d bytes on the wire, want compressed %v", len(m), wire, tc.compressed)
			}
			t.Logf("%d bytes → %d on the wire", len(m), wire)
		})
	}
}

func TestCompressionConfig(t *testing.T) {
	cases := []struct {
		name  string
		comp  Compression
		field string // named in the error; "" means valid
	}{
		{"defaults", Compression{Enabled: true}, ""},
		{"window 15", Compression{Enabled: true, WindowBits: 15}, ""},
		{"huffman only", Compression{Level: LevelHuffmanOnly}, ""},
		{"level 10", Compression{Level: 10}, "Compression.Level"},
		{"level -3", Compression{Level: -3}, "Compression.Level"},
		{"negative threshold", Compression{Threshold: -1}, "Compression.Threshold"},
		{"window 8", Compression{Enabled: true, WindowBits: 8, ClientWindowBits: 8}, ""},
		{"context takeover", Compression{Enabled: true, ContextTakeover: true}, ""},
		{"window 7", Compression{Enabled: true, WindowBits: 7}, "Compression.WindowBits"},
		{"window 16", Compression{WindowBits: 16}, "Compression.WindowBits"},
		{"negative window", Compression{WindowBits: -1}, "Compression.WindowBits"},
		{"client window 7", Compression{ClientWindowBits: 7}, "Compression.ClientWindowBits"},
		{"client window 16", Compression{ClientWindowBits: 16}, "Compression.ClientWindowBits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(Config{Compression: tc.comp})
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				h.Shutdown(context.Background())
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("New: %v, want ErrConfig naming %s", err, tc.field)
			}
		})
	}
}

// TestCompressedInboundLimits checks the limits and the UTF-8 check apply to
// the inflated message, whatever its size on the wire.
func TestCompressedInboundLimits(t *testing.T) {
	cs := compStart(t, Config{Compression: Compression{Enabled: true}, MaxTextMessage: 1000, MaxBinaryMessage: 2000})
	cases := []struct {
		name string
		typ  int
		data []byte
		code int // 0: echoed
	}{
		{"text at limit", websocket.TextMessage, make([]byte, 1000), 0},
		{"binary at limit", websocket.BinaryMessage, make([]byte, 2000), 0},
		{"text over limit when inflated", websocket.TextMessage, make([]byte, 1001), CloseTooBig},
		{"binary over limit when inflated", websocket.BinaryMessage, make([]byte, 50000), CloseTooBig},
		{"text inflating to invalid UTF-8", websocket.TextMessage, []byte(strings.Repeat("ok", 300) + "\xed\xa0\x80"), CloseInvalidPayload},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cs.dial(t, true)
			if err := c.WriteMessage(tc.typ, tc.data); err != nil {
				t.Fatal(err)
			}
			typ, got, err := c.ReadMessage()
			if tc.code == 0 {
				if err != nil || typ != tc.typ || !bytes.Equal(got, tc.data) {
					t.Fatalf("echo: type %d, %d bytes, %v", typ, len(got), err)
				}
				return
			}
			if !websocket.IsCloseError(err, tc.code) {
				t.Fatalf("read %v, want close %d", err, tc.code)
			}
		})
	}
}

// compCountingReader counts the bytes read through it.
type compCountingReader struct {
	r io.Reader
	n int
}

func (c *compCountingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestReadMessageStopsInflating feeds readMessage a compression bomb: it
// refuses the message having inflated no more than the limit plus one byte.
func TestReadMessageStopsInflating(t *testing.T) {
	const size = 4 << 20
	var bomb bytes.Buffer
	fw, _ := flate.NewWriter(&bomb, flate.BestSpeed)
	fw.Write(make([]byte, size))
	fw.Close()
	inflated := &compCountingReader{r: flate.NewReader(bytes.NewReader(bomb.Bytes()))}
	const limit = 64 << 10
	if _, err := readMessage(inflated, limit, false); !errors.Is(err, errTooBig) {
		t.Fatalf("readMessage: %v, want errTooBig", err)
	}
	if inflated.n > limit+1 {
		t.Fatalf("inflated %d bytes to refuse a message over %d", inflated.n, limit)
	}
	t.Logf("refused a %d-byte bomb (%d bytes inflated) after inflating %d bytes", bomb.Len(), size, inflated.n)
}

func TestIsInflateError(t *testing.T) {
	var full bytes.Buffer
	fw, _ := flate.NewWriter(&full, 1)
	fw.Write(compJSON(1000))
	fw.Close()
	inflate := func(p []byte) error {
		_, err := io.ReadAll(flate.NewReader(bytes.NewReader(p)))
		return err
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"corrupt stream", inflate([]byte{0xff, 0xff, 0xff}), true},
		{"truncated stream", inflate(full.Bytes()[:full.Len()/2]), true},
		{"connection dropped", &websocket.CloseError{Code: websocket.CloseAbnormalClosure, Text: io.ErrUnexpectedEOF.Error()}, false},
		{"connection closed", net.ErrClosed, false},
		{"frame violation", errRSV1Control, false},
	}
	for _, tc := range cases {
		if got := isInflateError(tc.err); got != tc.want {
			t.Errorf("%s (%v): %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
