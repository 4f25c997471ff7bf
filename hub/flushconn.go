package hub

import (
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// flushConn sits between gorilla/websocket and the hijacked network
// connection. While the session's writer drains its queue it collects every
// frame in one buffer and writes them with a single system call; at other
// times (the handshake response, pongs and close replies written by the
// reader) writes go straight through. Each Write carries exactly one whole
// frame, so frames from the two goroutines never interleave. Once a close
// frame has gone out, no further frame is written (RFC 6455 5.5.1).
type flushConn struct {
	net.Conn
	writeTimeout time.Duration
	in           frameInspector // used by Read, on the reader goroutine only
	peekErr      error          // a socket error a peek took, for the next Read (idle.go)

	mu       sync.Mutex
	buf      *[]byte // pooled, non-nil while batching
	deadline time.Time
	sealed   bool  // a close frame has been written
	err      error // sticky write error
}

const (
	flushAt    = 64 << 10 // flush a batch once it holds this much
	directFrom = 32 << 10 // payloads this large skip the batch buffer
)

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func isCloseFrame(p []byte) bool { return len(p) > 0 && p[0] == 0x80|websocket.CloseMessage }

// Read reads from the network and passes the bytes through the frame
// inspector (inspect.go), which stops them at a protocol violation gorilla
// would accept.
func (c *flushConn) Read(p []byte) (int, error) {
	if err := c.in.err; err != nil {
		return 0, err
	}
	if err := c.peekErr; err != nil {
		c.peekErr = nil
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	n, err := c.Conn.Read(p)
	if k, verr := c.in.scan(p[:n]); verr != nil {
		return k, verr
	}
	return n, err
}

// SetWriteDeadline records the deadline gorilla wants for its next write.
func (c *flushConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// Write writes one frame (or, once, the handshake response).
func (c *flushConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return 0, err
	}
	d := c.deadline // gorilla sets a deadline before each write it makes
	c.deadline = time.Time{}
	if c.buf != nil && len(p) < directFrom {
		if len(*c.buf)+len(p) > flushAt {
			if err := c.flushLocked(); err != nil {
				return 0, err
			}
		}
		*c.buf = append(*c.buf, p...)
	} else if err := c.flushLocked(); err != nil {
		return 0, err
	} else if err := c.writeLocked(d, p, nil); err != nil {
		return 0, err
	}
	if isCloseFrame(p) {
		c.sealed = true
	}
	return len(p), nil
}

// writeData frames one data message, in fragments of at most maxFrame
// payload bytes when maxFrame is positive (RFC 6455 section 5.4), with RSV1
// on the first frame when the payload is deflated (RFC 7692 section 6). It
// is only called by the session's writer, between begin and end.
func (c *flushConn) writeData(opcode int, payload []byte, maxFrame int, deflated bool) error {
	if deflated {
		opcode |= rsv1Bit // appendFrameHeader writes the first byte as given
	}
	_, err := c.writeFragments(opcode, payload, maxFrame, true)
	return err
}

// writeFragments writes payload as the next frames of a message, starting
// with opcode, each of at most maxFrame bytes when maxFrame is positive,
// the last one final if fin is set; it returns the opcode of the frame
// after them (continuation). A message written in several calls (a
// stream, stream.go) passes the opcode on.
func (c *flushConn) writeFragments(opcode int, payload []byte, maxFrame int, fin bool) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usableLocked(); err != nil {
		return opcode, err
	}
	for {
		part, last := payload, true
		if maxFrame > 0 && len(payload) > maxFrame {
			part, last = payload[:maxFrame], false
		}
		if err := c.writeFrameLocked(opcode, fin && last, part); err != nil {
			return opcode, err
		}
		opcode = opCont
		if last {
			return opcode, nil
		}
		payload = payload[len(part):]
	}
}

// writeFrameLocked writes one frame: into the batch buffer, or, for a large
// payload, straight to the network after what is buffered.
func (c *flushConn) writeFrameLocked(opcode int, fin bool, payload []byte) error {
	if len(payload) >= directFrom {
		if err := c.flushLocked(); err != nil {
			return err
		}
		var hdr [10]byte
		return c.writeLocked(time.Time{}, appendFrameHeader(hdr[:0], opcode, fin, len(payload)), payload)
	}
	if len(*c.buf)+len(payload)+10 > flushAt {
		if err := c.flushLocked(); err != nil {
			return err
		}
	}
	b := appendFrameHeader(*c.buf, opcode, fin, len(payload))
	*c.buf = append(b, payload...)
	return nil
}

// closeSent reports whether a close frame has been written.
func (c *flushConn) closeSent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sealed && c.err == nil
}

func (c *flushConn) usableLocked() error {
	if c.err != nil {
		return c.err
	}
	if c.sealed {
		return websocket.ErrCloseSent
	}
	return nil
}

// begin starts collecting frames.
func (c *flushConn) begin() {
	c.mu.Lock()
	if c.buf == nil {
		c.buf = batchPool.Get().(*[]byte)
	}
	c.mu.Unlock()
}

// end writes what was collected since begin and stops collecting.
func (c *flushConn) end() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.flushLocked()
	if c.buf != nil {
		if cap(*c.buf) <= 2*flushAt {
			*c.buf = (*c.buf)[:0]
			batchPool.Put(c.buf)
		}
		c.buf = nil
	}
	return err
}

// flushLocked writes the batch buffer, if any.
func (c *flushConn) flushLocked() error {
	if c.buf == nil || len(*c.buf) == 0 {
		return c.err
	}
	err := c.writeLocked(time.Time{}, *c.buf, nil)
	*c.buf = (*c.buf)[:0]
	return err
}

// writeLocked writes p and then q to the network before deadline d (zero
// means WriteTimeout from now).
func (c *flushConn) writeLocked(d time.Time, p, q []byte) error {
	if c.err != nil {
		return c.err
	}
	if d.IsZero() {
		d = time.Now().Add(c.writeTimeout)
	}
	c.Conn.SetWriteDeadline(d)
	var err error
	if len(q) == 0 {
		_, err = c.Conn.Write(p)
	} else {
		bufs := net.Buffers{p, q}
		_, err = bufs.WriteTo(c.Conn)
	}
	if err != nil {
		c.err = err
	}
	return err
}
