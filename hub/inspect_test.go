package hub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// inspFrame returns a client frame header (masked unless unmasked) followed
// by n payload bytes. b0 is the first header byte (FIN, RSV, opcode).
func inspFrame(b0 byte, n int, unmasked bool) []byte {
	var mask byte = 0x80
	if unmasked {
		mask = 0
	}
	b := []byte{b0}
	switch {
	case n > 0xFFFF:
		b = binary.BigEndian.AppendUint64(append(b, mask|127), uint64(n))
	case n > 125:
		b = binary.BigEndian.AppendUint16(append(b, mask|126), uint16(n))
	default:
		b = append(b, mask|byte(n))
	}
	if !unmasked {
		b = append(b, 1, 2, 3, 4)
	}
	return append(b, make([]byte, n)...)
}

func inspJoin(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// inspFeed passes stream through a new inspector in reads of at most chunk
// bytes and returns how many bytes it let through and its error.
func inspFeed(stream []byte, chunk int) (int, error) {
	fi := frameInspector{compress: true} // the streams use compressed frames
	passed := 0
	for off := 0; off < len(stream); off += chunk {
		p := stream[off:min(off+chunk, len(stream))]
		n, err := fi.scan(p)
		passed += n
		if err != nil {
			if n2, err2 := fi.scan(stream[:1]); n2 != 0 || err2 != err {
				return passed, errors.New("violation is not sticky")
			}
			return passed, err
		}
		if n != len(p) {
			return passed, errors.New("short count without an error")
		}
	}
	return passed, nil
}

func TestFrameInspector(t *testing.T) {
	valid := inspJoin(
		inspFrame(0x81, 5, false),       // text
		inspFrame(0x89, 125, false),     // ping, 125 bytes
		inspFrame(0x02, 126, false),     // binary, 16-bit length, not final
		inspFrame(0x80, 70000, false),   // continuation, 64-bit length
		inspFrame(0xC1, 10, false),      // compressed text (RSV1 on a first frame)
		inspFrame(0x88, 2, false),       // close with a code
		inspFrame(0x88, 0, false),       // empty close
		inspFrame(0x8A, 0, false),       // empty pong
		inspFrame(0x01, 1, false),       // text, not final
		inspFrame(0x0, 0, false),        // empty continuation
		inspFrame(0x80, 1, false),       // final continuation
		inspFrame(0x81, 0xFFFF, false),  // 16-bit maximum
		inspFrame(0x82, 0x10000, false), // 64-bit minimum
	)
	msb := []byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4}
	cases := []struct {
		name   string
		stream []byte
		passed int   // bytes let through
		err    error // the violation, or nil
	}{
		{"valid stream", valid, len(valid), nil},
		{"RSV1 on ping", inspJoin(valid, inspFrame(0xC9, 1, false)), len(valid), errRSV1Control},
		{"RSV1 on close", inspJoin(valid, inspFrame(0xC8, 2, false)), len(valid), errRSV1Control},
		{"RSV1 on reserved control opcode", inspJoin(inspFrame(0xCB, 0, false)), 0, errRSV1Control},
		{"RSV1 on continuation", inspJoin(inspFrame(0x41, 4, false), inspFrame(0xC0, 4, false)), 10, errRSV1Continuation},
		{"close with 1-byte payload", inspJoin(valid, inspFrame(0x88, 1, false)), len(valid), errCloseOneByte},
		{"unmasked close with 1-byte payload", inspFrame(0x88, 1, true), 0, errCloseOneByte},
		{"length MSB set", inspJoin(valid, msb), len(valid), errLengthMSB},
		{"RSV2", inspJoin(valid, inspFrame(0xA1, 3, false)), len(valid), errRSV23},
		{"RSV3", inspJoin(valid, inspFrame(0x91, 3, false)), len(valid), errRSV23},
		{"reserved data opcode", inspJoin(valid, inspFrame(0x83, 1, false)), len(valid), errReservedOpcode},
		{"reserved control opcode", inspJoin(valid, inspFrame(0x8B, 1, false)), len(valid), errReservedOpcode},
		{"fragmented ping", inspJoin(valid, inspFrame(0x09, 1, false)), len(valid), errControlFragment},
		{"ping of 126 bytes", inspJoin(valid, inspFrame(0x89, 126, false)), len(valid), errControlLength},
		{"new message inside a fragmented one", inspJoin(valid, inspFrame(0x01, 3, false), inspFrame(0x81, 3, false)), len(valid) + 9, errNewInsideMessage},
		{"continuation with no message", inspJoin(valid, inspFrame(0x80, 3, false)), len(valid), errLoneContinuation},
		{"unmasked text", inspJoin(valid, inspFrame(0x81, 3, true)), len(valid), errUnmasked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, chunk := range []int{len(tc.stream), 1, 2, 3, 7, 13, 4096} {
				passed, err := inspFeed(tc.stream, chunk)
				if !errors.Is(err, tc.err) {
					t.Fatalf("reads of %d: error %v, want %v", chunk, err, tc.err)
				}
				// In small reads, the bytes of the offending header read
				// before the violation shows (at most its first two) have
				// been let through.
				if passed < tc.passed || passed > tc.passed+2 || tc.err == nil && passed != tc.passed {
					t.Fatalf("reads of %d: %d bytes let through, want %d", chunk, passed, tc.passed)
				}
			}
		})
	}
}

func FuzzInspector(f *testing.F) {
	f.Add(inspJoin(inspFrame(0x81, 5, false), inspFrame(0x89, 0, false)), uint(3))
	f.Add(inspJoin(inspFrame(0x41, 4, false), inspFrame(0xC0, 4, false)), uint(7))
	f.Add([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 5}, uint(1))
	f.Fuzz(func(t *testing.T, stream []byte, split uint) {
		whole, errWhole := inspFeed(stream, max(len(stream), 1))
		// The verdict must not depend on how the stream is cut into reads.
		k := int(split%64) + 1
		passed, err := inspFeed(stream, k)
		if err != errWhole {
			t.Fatalf("reads of %d: %v; one read: %v", k, err, errWhole)
		}
		if err == nil && (passed != len(stream) || whole != len(stream)) {
			t.Fatalf("valid stream of %d bytes: %d and %d let through", len(stream), passed, whole)
		}
		// Reads that end inside the offending header let its first bytes
		// through before the violation shows.
		if passed < whole || passed > whole+2 {
			t.Fatalf("reads of %d let %d through, one read %d, stream %d", k, passed, whole, len(stream))
		}
	})
}

// TestInspectorClosesSession sends the frames gorilla accepts but RFC 6455
// and RFC 7692 forbid, through the hub, and checks the close code.
func TestInspectorClosesSession(t *testing.T) {
	h, err := New(Config{Compression: Compression{Enabled: true}, CloseTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan int, 8)
	h.OnClose(func(_ *Session, code int, _ string) { ended <- code })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, AcceptOptions{})
	}))
	defer srv.Close()
	defer h.Shutdown(t.Context())
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	cases := []struct {
		name  string
		frame []byte
	}{
		{"RSV1 on ping", inspFrame(0xC9, 0, false)},
		{"RSV1 on continuation", inspJoin(inspFrame(0x41, 1, false), inspFrame(0xC0, 1, false))},
		{"close with 1-byte payload", inspFrame(0x88, 1, false)},
		{"length MSB set", []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := websocket.Dialer{EnableCompression: true}
			c, _, err := d.Dial(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.UnderlyingConn().Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			_, _, err = c.ReadMessage()
			if !websocket.IsCloseError(err, CloseProtocolError) {
				t.Fatalf("read %v, want close 1002", err)
			}
			if code := <-ended; code != CloseProtocolError {
				t.Fatalf("OnClose got %d, want 1002", code)
			}
		})
	}
}

// maskedClose returns a masked close frame with code and reason.
func maskedClose(code int, reason string, key [4]byte) []byte {
	payload := append([]byte{byte(code >> 8), byte(code)}, reason...)
	f := []byte{0x88, 0x80 | byte(len(payload))}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// TestInspectorPassesCode1014As1011: whatever the read boundaries, a close
// code 1014 reaches gorilla as 1011 and is remembered; other codes, and the
// rest of the stream, pass unchanged.
func TestInspectorPassesCode1014As1011(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for _, code := range []int{1014, 1011, 1000, 1015, 4014} {
		want := maskedClose(code, "bye", key)
		if code == 1014 {
			want = maskedClose(1011, "bye", key)
		}
		for chunk := 1; chunk <= 20; chunk++ {
			stream := append(inspFrame(0x81, 5, false), maskedClose(code, "bye", key)...)
			var fi frameInspector
			for off := 0; off < len(stream); off += chunk {
				p := stream[off:min(off+chunk, len(stream))]
				if n, err := fi.scan(p); n != len(p) || err != nil {
					t.Fatalf("code %d, chunk %d: scan = %d, %v", code, chunk, n, err)
				}
			}
			if got := stream[len(stream)-len(want):]; !bytes.Equal(got, want) {
				t.Fatalf("code %d, chunk %d: passed % x, want % x", code, chunk, got, want)
			}
			if fi.saw1014 != (code == 1014) {
				t.Fatalf("code %d, chunk %d: saw1014 = %v", code, chunk, fi.saw1014)
			}
		}
	}
}

// TestCloseCode1014: a peer's close 1014 (Bad Gateway) is accepted, echoed
// and reported; reserved codes are still refused with 1002.
func TestCloseCode1014(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	for _, tc := range []struct {
		code, echo int
	}{{1014, 1014}, {1015, CloseProtocolError}, {1004, CloseProtocolError}, {2999, CloseProtocolError}} {
		rc, _, s := th.rawDialSession(t, "")
		rc.c.SetWriteDeadline(time.Now().Add(waitFor))
		if _, err := rc.c.Write(maskedClose(tc.code, "upstream", [4]byte{1, 2, 3, 4})); err != nil {
			t.Fatal(err)
		}
		if code, err := rc.readClose(); err != nil || code != tc.echo {
			t.Fatalf("close %d: the server answered %d, %v; want %d", tc.code, code, err, tc.echo)
		}
		rc.c.Close()
		ev := th.awaitEnd(t, s)
		if tc.code == 1014 && (ev.code != 1014 || ev.reason != "upstream") {
			t.Fatalf("OnClose %+v, want 1014 upstream", ev)
		}
		if tc.code != 1014 && ev.code != CloseProtocolError {
			t.Fatalf("close %d: OnClose %+v", tc.code, ev)
		}
	}
}

// TestInspectorDeflatedQueueBounded: the queue of compressed-message flags
// stays as small as what is read ahead of the reader, even when a message
// header is split across reads every time, so that one flag is still
// unpopped at every note.
func TestInspectorDeflatedQueueBounded(t *testing.T) {
	fi := frameInspector{compress: true}
	frame := inspFrame(0x80|rsv1Bit|opText, 3, false)
	// Every read ends two bytes into the next frame's header, which is
	// then noted before the reader pops the message before it.
	chunk := append(append([]byte(nil), frame[2:]...), frame[:2]...)
	if _, err := fi.scan(append(append([]byte(nil), frame...), frame[:2]...)); err != nil {
		t.Fatal(err)
	}
	most := 0
	for i := range 100_000 {
		if !fi.nextDeflated() {
			t.Fatalf("message %d read as not compressed", i)
		}
		if _, err := fi.scan(append([]byte(nil), chunk...)); err != nil {
			t.Fatal(err)
		}
		most = max(most, cap(fi.deflated))
	}
	if most > 8 {
		t.Fatalf("the queue grew to %d flags for at most 2 pending", most)
	}
}
