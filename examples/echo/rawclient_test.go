package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// This file is a WebSocket client that speaks hand-built frames over raw
// TCP, so the conformance tests can send what no well-behaved client library
// would: reserved bits and opcodes, unmasked frames, bad lengths, broken
// fragmentation, invalid UTF-8 and close payloads.

// failBound bounds every wait for the server; it is a failure bound, never
// an expected duration. On the raw connection it bounds a wait without
// progress (no byte read, or no chunk written), not a whole transfer, so a
// 16 MiB message on a loaded machine is not cut while it is moving, and a
// server that stops answering still fails the test.
const failBound = 10 * time.Second

// writeChunk is the most the raw client writes under one write deadline.
const writeChunk = 64 << 10

// progressReader renews the connection's read deadline before every read,
// so failBound bounds the time between bytes.
type progressReader struct{ c net.Conn }

func (p progressReader) Read(b []byte) (int, error) {
	p.c.SetReadDeadline(time.Now().Add(failBound))
	return p.c.Read(b)
}

// Opcodes (RFC 6455 section 5.2).
const (
	opCont   byte = 0x0
	opText   byte = 0x1
	opBinary byte = 0x2
	opClose  byte = 0x8
	opPing   byte = 0x9
	opPong   byte = 0xA
)

// RSV bits as they sit in a frame's first byte.
const (
	rsv1 byte = 0x40
	rsv2 byte = 0x20
	rsv3 byte = 0x10
)

// frame is one WebSocket frame as the raw client sends or reads it.
type frame struct {
	fin      bool
	rsv      byte // any of rsv1|rsv2|rsv3
	op       byte
	payload  []byte
	unmasked bool   // send without a masking key (a client must mask)
	length   uint64 // if non-zero, the length written in the header instead of len(payload)
	len64    bool   // encode the length in 64 bits whatever its size
}

// encode returns the frame's bytes, masked unless f.unmasked.
func (f frame) encode() []byte {
	n := uint64(len(f.payload))
	if f.length != 0 {
		n = f.length
	}
	b0 := f.op | f.rsv
	if f.fin {
		b0 |= 0x80
	}
	var mask byte
	if !f.unmasked {
		mask = 0x80
	}
	out := make([]byte, 0, 14+len(f.payload))
	out = append(out, b0)
	switch {
	case f.len64 || n > 0xFFFF:
		out = binary.BigEndian.AppendUint64(append(out, mask|127), n)
	case n > 125:
		out = binary.BigEndian.AppendUint16(append(out, mask|126), uint16(n))
	default:
		out = append(out, mask|byte(n))
	}
	if f.unmasked {
		return append(out, f.payload...)
	}
	var key [4]byte
	rand.Read(key[:])
	out = append(out, key[:]...)
	start := len(out)
	out = append(out, f.payload...)
	maskBytes(out[start:], key)
	return out
}

// maskBytes masks p in place with key (RFC 6455 section 5.3), a block at a
// time so that 16 MiB frames stay cheap under the race detector.
func maskBytes(p []byte, key [4]byte) {
	var ks [4096]byte
	for i := 0; i < len(ks); i += 4 {
		copy(ks[i:], key[:])
	}
	for len(p) > 0 {
		n := subtle.XORBytes(p, p, ks[:min(len(p), len(ks))])
		p = p[n:]
	}
}

// Frame constructors for the common cases: final, masked, no RSV bits.
func text(s string) frame                        { return frame{fin: true, op: opText, payload: []byte(s)} }
func binaryMsg(b []byte) frame                   { return frame{fin: true, op: opBinary, payload: b} }
func ping(b []byte) frame                        { return frame{fin: true, op: opPing, payload: b} }
func pong(b []byte) frame                        { return frame{fin: true, op: opPong, payload: b} }
func fragment(op byte, fin bool, b []byte) frame { return frame{fin: fin, op: op, payload: b} }

// closeFrame returns a close frame with code and reason; code 0 means an
// empty payload.
func closeFrame(code int, reason string) frame {
	if code == 0 {
		return frame{fin: true, op: opClose}
	}
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return frame{fin: true, op: opClose, payload: append(p, reason...)}
}

// compressed returns a final data frame with RSV1 set and data deflated as
// permessage-deflate requires (RFC 7692 section 7.2.1).
func compressed(op byte, data []byte) frame {
	return frame{fin: true, rsv: rsv1, op: op, payload: deflate(data)}
}

// deflate compresses data into one message's payload: a sync-flushed deflate
// stream without its trailing 00 00 ff ff.
func deflate(data []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(data)
	fw.Flush()
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// inflate reverses deflate.
func inflate(p []byte) ([]byte, error) {
	tail := []byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}
	return io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(tail))))
}

// rawConn is a client connection after a successful handshake.
type rawConn struct {
	t         testing.TB
	c         net.Conn
	br        *bufio.Reader
	deflate   bool // the server accepted permessage-deflate
	sentClose bool // the client has sent a close frame
	resp      *http.Response
}

// handshakeRequest is a valid upgrade request for path, with extra header
// lines appended.
func handshakeRequest(addr, path, key string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path, addr)
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", key)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func newKey() string {
	var k [16]byte
	rand.Read(k[:])
	return base64.StdEncoding.EncodeToString(k[:])
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// roundTrip sends a raw HTTP request and reads the response head. The
// connection is closed when the test ends.
func roundTrip(t testing.TB, addr, request string) (*http.Response, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, failBound)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(failBound))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(progressReader{c})
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the handshake response: %v", err)
	}
	return resp, c, br
}

// dialRaw opens a WebSocket connection to addr+path with extra request
// header lines, checking the 101 response.
func dialRaw(t testing.TB, addr, path string, extra ...string) *rawConn {
	t.Helper()
	key := newKey()
	resp, c, br := roundTrip(t, addr, handshakeRequest(addr, path, key, extra...))
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("handshake: %s %q", resp.Status, body)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != acceptKey(key) {
		t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, acceptKey(key))
	}
	c.SetDeadline(time.Time{})
	ext := resp.Header.Get("Sec-WebSocket-Extensions")
	return &rawConn{t: t, c: c, br: br, resp: resp, deflate: strings.HasPrefix(ext, "permessage-deflate")}
}

// send writes the frames with one write.
func (rc *rawConn) send(frames ...frame) error {
	var b []byte
	for _, f := range frames {
		b = append(b, f.encode()...)
	}
	return rc.write(b)
}

// write writes b in chunks, each under its own deadline.
func (rc *rawConn) write(b []byte) error {
	for len(b) > 0 {
		k := min(writeChunk, len(b))
		rc.c.SetWriteDeadline(time.Now().Add(failBound))
		if _, err := rc.c.Write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

// readFrame reads one frame from the server, checking what RFC 6455 asks of
// a server's frames: unmasked (5.1), minimal length encoding (5.2), control
// frames final and at most 125 bytes (5.5).
func (rc *rawConn) readFrame() (frame, error) {
	var h [2]byte
	if _, err := io.ReadFull(rc.br, h[:]); err != nil {
		return frame{}, err
	}
	f := frame{fin: h[0]&0x80 != 0, rsv: h[0] & 0x70, op: h[0] & 0xF}
	if h[1]&0x80 != 0 {
		return f, errors.New("server frame is masked (RFC 6455 5.1)")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(rc.br, b[:]); err != nil {
			return f, err
		}
		if n = uint64(binary.BigEndian.Uint16(b[:])); n < 126 {
			return f, fmt.Errorf("server used a 16-bit length for %d bytes (RFC 6455 5.2)", n)
		}
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(rc.br, b[:]); err != nil {
			return f, err
		}
		if n = binary.BigEndian.Uint64(b[:]); n <= 0xFFFF {
			return f, fmt.Errorf("server used a 64-bit length for %d bytes (RFC 6455 5.2)", n)
		}
	}
	if n > 64<<20 {
		return f, fmt.Errorf("server frame of %d bytes", n)
	}
	if f.op >= opClose && (!f.fin || n > 125) {
		return f, fmt.Errorf("server control frame op %d fin=%v len %d (RFC 6455 5.5)", f.op, f.fin, n)
	}
	f.payload = make([]byte, n)
	_, err := io.ReadFull(rc.br, f.payload)
	return f, err
}

// readMessage reads the next data message or control frame: a data message
// is reassembled from its fragments and inflated if RSV1 says so.
func (rc *rawConn) readMessage() (op byte, data []byte, wasCompressed bool, err error) {
	f, err := rc.readFrame()
	if err != nil {
		return 0, nil, false, err
	}
	if f.op >= opClose {
		return f.op, f.payload, false, nil
	}
	if f.op == opCont {
		return 0, nil, false, errors.New("server sent a continuation frame first")
	}
	op, data, wasCompressed = f.op, f.payload, f.rsv&rsv1 != 0
	if f.rsv&^rsv1 != 0 || (wasCompressed && !rc.deflate) {
		return 0, nil, false, fmt.Errorf("server frame has RSV bits %#x", f.rsv)
	}
	for !f.fin {
		if f, err = rc.readFrame(); err != nil {
			return 0, nil, false, err
		}
		if f.op != opCont || f.rsv != 0 {
			return 0, nil, false, fmt.Errorf("server sent op %d rsv %#x inside a fragmented message", f.op, f.rsv)
		}
		data = append(data, f.payload...)
	}
	if wasCompressed {
		if data, err = inflate(data); err != nil {
			return 0, nil, false, fmt.Errorf("inflating the server's message: %w", err)
		}
	}
	if op == opText && !utf8.Valid(data) {
		return 0, nil, false, errors.New("server sent a text message that is not UTF-8")
	}
	return op, data, wasCompressed, nil
}

// expectEOF waits for the server to close the TCP connection, discarding
// nothing: any further frame is an error.
func (rc *rawConn) expectEOF() error {
	var b [1]byte
	n, err := rc.br.Read(b[:])
	switch {
	case n > 0:
		return fmt.Errorf("server sent byte %#x after its close frame", b[0])
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), isReset(err):
		return nil
	}
	return fmt.Errorf("server did not close the TCP connection: %w", err)
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout() && strings.Contains(oe.Err.Error(), "reset")
}

// closeCode decodes a close frame's payload: its code (1005 when empty) and
// reason.
func closeCode(p []byte) (int, string, error) {
	switch {
	case len(p) == 0:
		return 1005, "", nil
	case len(p) == 1:
		return 0, "", errors.New("server close frame has a 1-byte payload")
	case !utf8.Valid(p[2:]):
		return 0, "", errors.New("server close reason is not UTF-8")
	}
	return int(binary.BigEndian.Uint16(p)), string(p[2:]), nil
}
