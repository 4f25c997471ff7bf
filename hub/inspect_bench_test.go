package hub

import (
	"fmt"
	"io"
	"net"
	"testing"
)

// inspStreamConn is a net.Conn whose reads replay a stream of client frames
// forever, as a socket full of frames would.
type inspStreamConn struct {
	net.Conn
	stream []byte
	off    int
}

func (c *inspStreamConn) Read(p []byte) (int, error) {
	n := copy(p, c.stream[c.off:])
	c.off += n
	if c.off == len(c.stream) {
		c.off = 0
	}
	return n, nil
}

// BenchmarkInspectRead measures the frame inspector's cost: reading 256 KiB
// of masked client frames through flushConn.Read (inspected) against
// reading the same stream straight from the connection (raw), in the 4 KiB
// reads gorilla's bufio.Reader makes with ReadBufferSize 4096.
//
//	go test -run='^$' -bench=InspectRead -benchmem ./hub/
func BenchmarkInspectRead(b *testing.B) {
	for _, size := range []int{16, 125, 1024, 64 << 10} {
		// At least 256 KiB of frames, so a replay cycle spans many reads.
		var stream []byte
		for len(stream) < 256<<10 {
			stream = append(stream, inspFrame(0x82, size, false)...)
		}
		for _, mode := range []string{"raw", "inspected"} {
			b.Run(fmt.Sprintf("frame=%dB/%s", size, mode), func(b *testing.B) {
				src := &inspStreamConn{stream: stream}
				var r io.Reader = src
				if mode == "inspected" {
					r = &flushConn{Conn: src}
				}
				buf := make([]byte, 4096)
				b.SetBytes(int64(len(stream)))
				b.ReportAllocs()
				for b.Loop() { // one op: the whole stream
					for done := 0; done < len(stream); {
						n, err := r.Read(buf)
						if err != nil {
							b.Fatal(err)
						}
						done += n
					}
				}
			})
		}
	}
}
