package hub_test

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsgate/wsgate/hub"
)

// cbenchJSON returns about n bytes of realistic JSON: an array of market
// events with varied numbers, as a trading or chat feed would send.
func cbenchJSON(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	symbols := []string{"AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "NFLX"}
	sides := []string{"buy", "sell"}
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < n-200; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"type":"trade","symbol":%q,"side":%q,"price":%.2f,"qty":%d,"ts":"2025-03-14T09:%02d:%02d.%03dZ","venue":"XNAS","flags":[]}`,
			1_000_000+rng.IntN(9_000_000), symbols[rng.IntN(len(symbols))], sides[rng.IntN(2)],
			50+rng.Float64()*900, 1+rng.IntN(5000), rng.IntN(60), rng.IntN(60), rng.IntN(1000))
	}
	b.WriteByte(']')
	return b.Bytes()
}

// cbenchConn counts the bytes a client reads from the network.
type cbenchConn struct {
	net.Conn
	n *atomic.Int64
}

func (c cbenchConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// BenchmarkCompressionWire sends a JSON message from a hub to one client
// and waits for it, with permessage-deflate off and on (Level 1, the
// default). It reports the bytes on the wire per message (frame headers
// included) and the time per message, which covers the server's deflate
// and the client's inflate.
//
//	go test -run='^$' -bench=CompressionWire -benchmem ./hub/
func BenchmarkCompressionWire(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		msg := cbenchJSON(size)
		for _, on := range []bool{false, true} {
			name := fmt.Sprintf("json=%dKiB/compression=%s", size>>10, map[bool]string{false: "off", true: "on"}[on])
			b.Run(name, func(b *testing.B) {
				h, err := hub.New(hub.Config{Compression: hub.Compression{Enabled: on}, PingInterval: -1})
				if err != nil {
					b.Fatal(err)
				}
				sessions := make(chan *hub.Session, 1)
				h.OnConnect(func(s *hub.Session) { sessions <- s })
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.Accept(w, r, hub.AcceptOptions{})
				}))
				defer srv.Close()
				defer h.Shutdown(context.Background())
				var wire atomic.Int64
				d := websocket.Dialer{
					EnableCompression: on,
					NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
						c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
						return cbenchConn{c, &wire}, err
					},
				}
				c, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				s := <-sessions
				m := hub.Message{Type: hub.TextMessage, Data: msg}
				wire.Store(0)
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					if err := s.Send(m); err != nil {
						b.Fatal(err)
					}
					c.SetReadDeadline(time.Now().Add(10 * time.Second))
					if _, r, err := c.NextReader(); err != nil {
						b.Fatal(err)
					} else if _, err := io.Copy(io.Discard, r); err != nil {
						b.Fatal(err)
					}
					n++
				}
				b.ReportMetric(float64(wire.Load())/float64(n), "wire-B/msg")
				b.ReportMetric(float64(wire.Load())/float64(n)/float64(len(msg))*100, "wire-%")
			})
		}
	}
}

// BenchmarkCompressionCPU isolates the CPU cost per message of
// permessage-deflate as gorilla/websocket does it (a pooled flate writer or
// reader, reset for each message, no context takeover): deflate is paid
// once per broadcast for all compressing sessions, inflate once per
// compressed message received.
//
//	go test -run='^$' -bench=CompressionCPU -benchmem ./hub/
func BenchmarkCompressionCPU(b *testing.B) {
	for _, size := range []int{1 << 10, 16 << 10} {
		msg := cbenchJSON(size)
		for _, level := range []int{flate.BestSpeed, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly} {
			var out bytes.Buffer
			fw, _ := flate.NewWriter(&out, level)
			b.Run(fmt.Sprintf("json=%dKiB/deflate-level=%d", size>>10, level), func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				for b.Loop() {
					out.Reset()
					fw.Reset(&out)
					fw.Write(msg)
					fw.Flush()
				}
				b.ReportMetric(float64(out.Len()-4), "wire-B/msg")
			})
		}
		var comp bytes.Buffer
		fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
		fw.Write(msg)
		fw.Flush()
		payload := append(comp.Bytes(), 1, 0, 0, 0xff, 0xff)
		fr := flate.NewReader(nil)
		b.Run(fmt.Sprintf("json=%dKiB/inflate", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				fr.(flate.Resetter).Reset(bytes.NewReader(payload), nil)
				if _, err := io.Copy(io.Discard, fr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
