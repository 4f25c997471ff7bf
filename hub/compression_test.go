package hub

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
)

// countingConn counts the bytes read from the network.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func countingDialer(compress bool, n *atomic.Int64) *websocket.Dialer {
	return &websocket.Dialer{
		HandshakeTimeout:  waitFor,
		EnableCompression: compress,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, n}, nil
		},
	}
}

func TestCompression(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, Compression: Compression{Enabled: true}})
	got := make(chan string, 1)
	th.OnMessage(func(_ *Session, m Message) { got <- string(m.Data) })
	var compBytes, plainBytes atomic.Int64
	cc, cs := th.dialWith(t, countingDialer(true, &compBytes), nil)
	pc, ps := th.dialWith(t, countingDialer(false, &plainBytes), nil)
	if !cs.Compressed() || ps.Compressed() {
		t.Fatalf("Compressed() = %v, %v", cs.Compressed(), ps.Compressed())
	}
	compBytes.Store(0)
	plainBytes.Store(0)

	large := strings.Repeat("the quick brown fox jumps over the lazy dog. ", 4000) // 180 KB
	small := "tiny"
	for _, m := range []string{large, small, large} {
		if n, err := th.Broadcast(Text(m)); n != 2 || err != nil {
			t.Fatalf("Broadcast = %d, %v", n, err)
		}
	}
	for _, c := range []*websocket.Conn{cc, pc} {
		readText(t, c, large)
		readText(t, c, small)
		readText(t, c, large)
	}
	if c, p := compBytes.Load(), plainBytes.Load(); c*10 > p || p < int64(2*len(large)) {
		t.Fatalf("compressing client read %d bytes, plain client %d", c, p)
	}

	// The server inflates what a compressing client sends.
	cc.EnableWriteCompression(true)
	if err := cc.WriteMessage(websocket.TextMessage, []byte(large[:60000])); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != large[:60000] {
		t.Fatalf("server read %d bytes", len(m))
	}
}

// TestCompressedSizeLimit checks that the size limits apply to the inflated
// message: a small compressed frame that inflates past MaxTextMessage closes
// the session with 1009.
func TestCompressedSizeLimit(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxTextMessage: 10000, Compression: Compression{Enabled: true}})
	c, s := th.dialWith(t, &websocket.Dialer{HandshakeTimeout: waitFor, EnableCompression: true}, nil)
	if !s.Compressed() {
		t.Fatal("compression not negotiated")
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("a", 1<<20))); err != nil {
		t.Fatal(err)
	}
	if code, _ := awaitClose(t, c); code != CloseTooBig {
		t.Fatalf("client saw %d, want 1009", code)
	}
	if ev := th.awaitEnd(t, s); ev.code != CloseTooBig {
		t.Fatalf("OnClose %+v", ev)
	}
	if got := s.Counters().BytesReceived; got != 0 {
		t.Fatalf("BytesReceived = %d", got)
	}
}
