package hub

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// takeoverClient is a client that keeps its compression context in both
// directions, built on compress/flate alone (not the hub's code): one
// streaming compressor flushed after each message, and, for what it
// receives, a decompressor primed with the last window of everything it
// inflated so far.
type takeoverClient struct {
	rc      *rawClient
	zw      *flate.Writer
	out     bytes.Buffer
	hist    []byte // what it received compressed
	histCap int    // the window the hub may refer back to
}

func newTakeoverClient(t *testing.T, rc *rawClient, serverBits int) *takeoverClient {
	c := &takeoverClient{rc: rc, histCap: 1 << serverBits}
	var err error
	if c.zw, err = flate.NewWriter(&c.out, flate.DefaultCompression); err != nil {
		t.Fatal(err)
	}
	return c
}

// send sends msg compressed, as a text message, and returns its size on
// the wire.
func (c *takeoverClient) send(t *testing.T, msg []byte) int {
	t.Helper()
	c.out.Reset()
	c.zw.Write(msg)
	c.zw.Flush()
	p := bytes.TrimSuffix(c.out.Bytes(), deflateTail)
	if err := c.rc.writeFrame(true, rsv1Bit|opText, p); err != nil {
		t.Fatal(err)
	}
	return len(p)
}

// recv reads one data message and returns it, its payload size on the wire
// and whether it came compressed. The decompressor sees only the last
// histCap bytes received before: a reference further back fails it.
func (c *takeoverClient) recv(t *testing.T) ([]byte, int, bool) {
	t.Helper()
	b0, p, err := c.rc.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if b0&rsv1Bit == 0 {
		return p, len(p), false
	}
	dict := c.hist[max(0, len(c.hist)-c.histCap):]
	msg, err := io.ReadAll(flate.NewReaderDict(io.MultiReader(bytes.NewReader(p), strings.NewReader(inflateTail)), dict))
	if err != nil {
		t.Fatalf("inflating %d bytes against a %d-byte window: %v", len(p), len(dict), err)
	}
	c.hist = append(c.hist, msg...)
	return msg, len(p), true
}

// similarJSON returns the i-th of a stream of similar JSON messages, about
// 300 bytes each.
func similarJSON(i int) []byte {
	return fmt.Appendf(nil, `{"type":"quote","symbol":"ACME","seq":%d,"bid":%d.%02d,"ask":%d.%02d,`+
		`"venue":"XNAS","currency":"USD","flags":["regular","open"],"trader":{"id":%d,"desk":"equities-emea","region":"eu-west"},`+
		`"note":"market data update for the instrument, see the reference data service"}`,
		i, 100+i%7, i%100, 101+i%5, (i*7)%100, 4000+i%3)
}

// TestContextTakeover echoes a stream of similar messages over a session
// with context takeover both ways: each one comes back whole, and the
// stream takes a fraction of the bytes it takes without takeover.
func TestContextTakeover(t *testing.T) {
	t.Parallel()
	wire := map[bool]int{}
	for _, takeover := range []bool{false, true} {
		th := newTestHub(t, Config{PingInterval: -1, Compression: Compression{Enabled: true, ContextTakeover: takeover, Threshold: 1}})
		th.OnMessage(func(s *Session, m Message) { s.Send(m) })
		rc, resp, s := th.rawDialSession(t, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
		want := "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
		wantInfo := Deflate{ServerWindowBits: 15, ClientWindowBits: 15}
		if takeover {
			want = "permessage-deflate"
			wantInfo = Deflate{true, true, 15, 15, 64 << 10}
		}
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != want {
			t.Fatalf("takeover %v: answered %q, want %q", takeover, got, want)
		}
		if info, ok := s.Deflate(); !ok || info != wantInfo {
			t.Fatalf("takeover %v: Deflate() = %+v %v, want %+v", takeover, info, ok, wantInfo)
		}
		c := newTakeoverClient(t, rc, 15)
		if !takeover {
			c.histCap = 0 // nothing to refer back to
		}
		in := 0
		for i := range 40 {
			msg := similarJSON(i)
			in += c.send(t, msg)
			if !takeover {
				c.zw.Reset(&c.out) // the client must not take over either
			}
			got, n, compressed := c.recv(t)
			if !compressed || !bytes.Equal(got, msg) {
				t.Fatalf("takeover %v, message %d: got %q (compressed %v), want %q", takeover, i, got, compressed, msg)
			}
			wire[takeover] += n
		}
		t.Logf("takeover %v: 40 messages of ~%d bytes: %d bytes to the hub, %d back", takeover, len(similarJSON(0)), in, wire[takeover])
	}
	if wire[true]*3 > wire[false] {
		t.Fatalf("with takeover the stream took %d bytes, without %d: want under a third", wire[true], wire[false])
	}
}

// TestSmallWindows: windows smaller than 32 KiB in both directions, asked
// for by the client and bounded by the config, with messages larger than
// the windows and uncompressed ones in between (which are not part of the
// context).
func TestSmallWindows(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, Compression: Compression{
		Enabled: true, ContextTakeover: true, WindowBits: 10, ClientWindowBits: 9, Threshold: 64}})
	th.OnMessage(func(s *Session, m Message) { s.Send(m) })
	rc, resp, s := th.rawDialSession(t, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12; client_max_window_bits\r\n")
	if got, want := resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"; got != want {
		t.Fatalf("answered %q, want %q", got, want)
	}
	if info, _ := s.Deflate(); info != (Deflate{true, true, 10, 9, 1024 + 512}) {
		t.Fatalf("Deflate() = %+v", info)
	}
	c := newTakeoverClient(t, rc, 10)
	for i := range 30 {
		var msg []byte
		switch i % 3 {
		case 0:
			msg = similarJSON(i)
		case 1:
			msg = []byte(`{"ping":` + fmt.Sprint(i) + `}`) // below the threshold
		default:
			msg = bytes.Repeat(similarJSON(i), 5) // larger than both windows
		}
		// The client compresses each message on its own: a compress/flate
		// stream cannot be held to a 512-byte window.
		c.zw.Reset(&c.out)
		c.send(t, msg)
		got, _, compressed := c.recv(t)
		if !bytes.Equal(got, msg) || compressed != (len(msg) >= 64) {
			t.Fatalf("message %d: got %d bytes (compressed %v), want %d", i, len(got), compressed, len(msg))
		}
	}
}

// TestTakeoverRefusedByClient: a client that sends server_no_context_takeover
// gets messages compressed on their own even from a hub with takeover on,
// and one that sends client_no_context_takeover is inflated without a
// window.
func TestTakeoverRefusedByClient(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, Compression: Compression{Enabled: true, ContextTakeover: true, Threshold: 1}})
	th.OnMessage(func(s *Session, m Message) { s.Send(m) })
	rc, resp, s := th.rawDialSession(t, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n")
	if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != "permessage-deflate; server_no_context_takeover" {
		t.Fatalf("answered %q", got)
	}
	if info, _ := s.Deflate(); info != (Deflate{false, true, 15, 15, 32 << 10}) {
		t.Fatalf("Deflate() = %+v", info)
	}
	c := newTakeoverClient(t, rc, 15)
	c.histCap = 0 // a reference to an earlier message would fail
	msg := similarJSON(1)
	for i := range 3 {
		c.send(t, msg)
		if got, _, _ := c.recv(t); !bytes.Equal(got, msg) {
			t.Fatalf("echo %d: %q", i, got)
		}
	}
}

// TestBroadcastMixedTakeover sends one broadcast to sessions with and
// without context takeover and with different windows: each decodes it.
func TestBroadcastMixedTakeover(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, Compression: Compression{Enabled: true, ContextTakeover: true, Threshold: 1}})
	offers := []string{
		"permessage-deflate",
		"permessage-deflate; server_no_context_takeover",
		"permessage-deflate; server_no_context_takeover; server_max_window_bits=9",
		"permessage-deflate; server_max_window_bits=11",
	}
	var clients []*takeoverClient
	for _, o := range offers {
		rc, _, s := th.rawDialSession(t, "Sec-WebSocket-Extensions: "+o+"\r\n")
		info, _ := s.Deflate()
		c := newTakeoverClient(t, rc, info.ServerWindowBits)
		if !info.ServerContextTakeover {
			c.histCap = 0
		}
		clients = append(clients, c)
	}
	for i := range 10 {
		msg := similarJSON(i)
		if n, err := th.Broadcast(Message{Type: TextMessage, Data: msg}); n != len(offers) || err != nil {
			t.Fatalf("broadcast reached %d (%v)", n, err)
		}
		for j, c := range clients {
			if got, _, compressed := c.recv(t); !compressed || !bytes.Equal(got, msg) {
				t.Fatalf("client %q, message %d: %q", offers[j], i, got)
			}
		}
	}
}

// TestInflateFailsOnBadWindowReference: a compressed message that refers
// back past what the hub holds fails with 1007, and the hub's other
// sessions carry on.
func TestInflateFailsOnBadWindowReference(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, Compression: Compression{Enabled: true, Threshold: 1}})
	th.OnMessage(func(s *Session, m Message) { s.Send(m) })
	other, _ := th.dialWith(t, nil, nil)
	rc, _, s := th.rawDialSession(t, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
	c := newTakeoverClient(t, rc, 15)
	msg := similarJSON(1)
	c.send(t, msg)
	if got, _, _ := c.recv(t); !bytes.Equal(got, msg) {
		t.Fatalf("first echo: %q", got)
	}
	// The hub said client_no_context_takeover; this client takes over
	// anyway, so its second message refers into the first.
	c.send(t, msg)
	if code, err := rc.readClose(); err != nil || code != CloseInvalidPayload {
		t.Fatalf("close %d (%v), want 1007", code, err)
	}
	rc.c.Close()
	if ev := th.awaitEnd(t, s); ev.code != CloseInvalidPayload || ev.reason != "invalid compressed data" {
		t.Fatalf("OnClose %+v", ev)
	}
	th.wantSessionErr(t, s, CloseInvalidPayload, ErrInvalidData)
	other.WriteMessage(int(TextMessage), []byte("still here"))
	readText(t, other, "still here")
}

// BenchmarkDeflateBroadcast broadcasts a stream of similar JSON messages
// (about 270 bytes) to 100 sessions, in closed-loop batches of 64, with
// compression off, on without context takeover (one compression per
// message, shared) and with takeover at three window sizes (one compression
// per delivery). It reports the time and the payload bytes per delivery.
//
//	go test -run '^$' -bench BenchmarkDeflateBroadcast -benchtime 3000x ./hub/
func BenchmarkDeflateBroadcast(b *testing.B) {
	takeover := func(bits int) Compression {
		return Compression{Enabled: true, ContextTakeover: true, Threshold: 1, WindowBits: bits}
	}
	for _, bc := range []struct {
		name string
		comp Compression
	}{
		{"off", Compression{}},
		{"no-takeover", Compression{Enabled: true, Threshold: 1}},
		{"takeover-15", takeover(15)},
		{"takeover-12", takeover(12)},
		{"takeover-10", takeover(10)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const sessions, batch = 100, 64
			th := newTestHub(b, Config{PingInterval: -1, MaxQueuedMessages: 2 * batch, Compression: bc.comp})
			var (
				target  atomic.Int64
				caught  sync.WaitGroup
				payload atomic.Int64
				readers sync.WaitGroup
			)
			var clients []*rawClient
			for range sessions {
				rc, _, _ := th.rawDialSession(b, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
				clients = append(clients, rc)
				readers.Add(1)
				go func() {
					defer readers.Done()
					var got, n int64
					for {
						_, p, err := rc.readFrame()
						if err != nil {
							payload.Add(n)
							return
						}
						got++
						n += int64(len(p))
						if got == target.Load() {
							caught.Done()
						}
					}
				}()
			}
			msgs := make([][]byte, 256)
			for i := range msgs {
				msgs[i] = similarJSON(i)
			}
			b.ResetTimer()
			for i := 0; i < b.N; {
				k := min(batch, b.N-i)
				caught.Add(sessions)
				target.Store(int64(i + k))
				for j := range k {
					if n, err := th.Broadcast(Message{Type: TextMessage, Data: msgs[(i+j)%len(msgs)]}); n != sessions || err != nil {
						b.Fatalf("broadcast reached %d (%v)", n, err)
					}
				}
				caught.Wait()
				i += k
			}
			b.StopTimer()
			deliveries := float64(b.N) * sessions
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
			for _, rc := range clients {
				rc.c.Close()
			}
			readers.Wait()
			b.ReportMetric(float64(payload.Load())/deliveries, "B/delivery")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestCompressedFragments: with MaxFrameSize, a compressed message goes out
// in fragments with RSV1 on the first only (RFC 7692 section 6.1).
func TestCompressedFragments(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxFrameSize: 100, Compression: Compression{Enabled: true}})
	rc, _, s := th.rawDialSession(t, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
	var msg []byte
	for i := range 40 {
		msg = append(msg, similarJSON(i*7919)...)
	}
	if err := s.Send(Message{Type: TextMessage, Data: msg}); err != nil {
		t.Fatal(err)
	}
	var payload []byte
	for frames := 0; ; frames++ {
		b0, p, err := rc.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) > 100 {
			t.Fatalf("frame %d has %d bytes", frames, len(p))
		}
		if want := frames == 0; (b0&rsv1Bit != 0) != want || (b0&0x0F == opText) != want {
			t.Fatalf("frame %d: first byte %#x", frames, b0)
		}
		payload = append(payload, p...)
		if b0&0x80 != 0 {
			if frames < 2 {
				t.Fatalf("%d frames", frames+1)
			}
			break
		}
	}
	got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(payload), strings.NewReader(inflateTail))))
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("inflated %d bytes (%v), want %d", len(got), err, len(msg))
	}
}

// FuzzInflate feeds untrusted deflate data, with and without a window of
// earlier bytes, through the reader's inflater and limit: it returns at
// most the limit's bytes or an error, never panics, and a pooled inflater
// carries nothing from one message into the next (the same input inflates
// the same way twice).
func FuzzInflate(f *testing.F) {
	d := &deflaters{level: 1}
	good, _ := d.compress(nil, []byte(`{"type":"quote","seq":1}`), nil, 15)
	withDict, _ := d.compress(nil, []byte(`{"type":"quote","seq":2}`), []byte(`{"type":"quote","seq":1}`), 15)
	f.Add(good, []byte(nil), int64(64))
	f.Add(withDict, []byte(`{"type":"quote","seq":1}`), int64(64))
	f.Add([]byte{0x01, 0x00, 0x00, 0xff, 0xff}, []byte(nil), int64(0))
	f.Add([]byte("not deflate at all"), []byte("dict"), int64(1<<20))
	f.Fuzz(func(t *testing.T, payload, dict []byte, limit int64) {
		if limit < 0 || limit > 1<<20 || len(dict) > 32<<10 {
			return
		}
		inflate := func() ([]byte, error) {
			inf := inflateMessage(bytes.NewReader(payload), dict)
			defer inf.release()
			return readMessage(inf.fr, limit, false)
		}
		a, errA := inflate()
		b, errB := inflate()
		if errA == nil && int64(len(a)) > limit {
			t.Fatalf("%d bytes past a limit of %d", len(a), limit)
		}
		if (errA == nil) != (errB == nil) || !bytes.Equal(a, b) {
			t.Fatalf("inflated twice: %d bytes (%v), then %d bytes (%v)", len(a), errA, len(b), errB)
		}
	})
}
