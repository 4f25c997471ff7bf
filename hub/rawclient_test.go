package hub

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// rawClient speaks WebSocket over a plain TCP connection with hand-built
// frames, so a test can behave as no client library would: keep writing an
// oversized message without reading, or read only when it is done writing.
type rawClient struct {
	c  net.Conn
	br *bufio.Reader
}

// rawDialSession opens a raw WebSocket connection, with extra header lines
// ("Name: value\r\n" each), and returns it with the 101 response and its
// server-side session, once OnConnect has run for it.
func (th *testHub) rawDialSession(t testing.TB, extra string) (*rawClient, *http.Response, *Session) {
	t.Helper()
	id := "raw-" + strconv.FormatUint(th.dialSeq.Add(1), 10)
	ch := make(chan *Session, 1)
	th.waiters.Store(id, ch)
	defer th.waiters.Delete(id)
	c, err := net.DialTimeout("tcp", th.srv.Listener.Addr().String(), waitFor)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(waitFor))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s: %s\r\n%s\r\n",
		th.srv.Listener.Addr(), dialHeader, id, extra)
	rc := &rawClient{c: c, br: bufio.NewReader(c)}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	c.SetDeadline(time.Time{})
	select {
	case s := <-ch:
		return rc, resp, s
	case <-time.After(waitFor):
		t.Fatalf("raw dial %s: OnConnect never ran", id)
	}
	return nil, nil, nil
}

// header returns a masked frame header (mask key zero, so the payload goes
// as is) for a frame of n bytes.
func rawHeader(fin bool, op byte, n int) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	h := []byte{b0}
	switch {
	case n <= 125:
		h = append(h, 0x80|byte(n))
	case n <= 0xFFFF:
		h = binary.BigEndian.AppendUint16(append(h, 0x80|126), uint16(n))
	default:
		h = binary.BigEndian.AppendUint64(append(h, 0x80|127), uint64(n))
	}
	return append(h, 0, 0, 0, 0)
}

// writeFrame writes one frame.
func (rc *rawClient) writeFrame(fin bool, op byte, payload []byte) error {
	rc.c.SetWriteDeadline(time.Now().Add(waitFor))
	_, err := rc.c.Write(append(rawHeader(fin, op, len(payload)), payload...))
	return err
}

// writeFlood writes a frame header announcing n payload bytes, then the
// payload in chunks, without reading: a client busy sending a large
// message. It returns the first write error.
func (rc *rawClient) writeFlood(op byte, n int) error {
	rc.c.SetWriteDeadline(time.Now().Add(waitFor))
	if _, err := rc.c.Write(rawHeader(true, op, n)); err != nil {
		return err
	}
	chunk := make([]byte, 16<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := rc.c.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// readClose reads frames until a close frame and returns its code (1005
// for an empty one), or the error that ended the connection first.
func (rc *rawClient) readClose() (int, error) {
	for {
		b0, payload, err := rc.readFrame()
		if err != nil {
			return 0, err
		}
		if b0&0x0F == 0x8 {
			if len(payload) < 2 {
				return CloseNoStatus, nil
			}
			return int(binary.BigEndian.Uint16(payload)), nil
		}
	}
}

// readFrame reads one frame and returns its first byte and payload.
func (rc *rawClient) readFrame() (byte, []byte, error) {
	rc.c.SetReadDeadline(time.Now().Add(waitFor))
	var h [2]byte
	if _, err := io.ReadFull(rc.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(rc.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(rc.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	payload := make([]byte, n)
	_, err := io.ReadFull(rc.br, payload)
	return h[0], payload, err
}
