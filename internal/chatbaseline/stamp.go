package chatbaseline

import (
	"strconv"
	"time"
)

// The benchmarks' timed messages are text: one kind byte, the time in Unix
// nanoseconds in decimal, a space, then padding up to the message size. The
// chat baseline joins queued messages with newlines, so a receiver splits a
// message into lines and reads one stamp per line.

// StampKindEcho marks a request that the server sends back, StampKindPaced
// a message broadcast at a fixed rate.
const (
	StampKindEcho  byte = 'e'
	StampKindPaced byte = 'p'
)

// AppendStamp appends a stamped message of kind, time t and size bytes
// (more if the stamp itself is longer) to dst.
func AppendStamp(dst []byte, kind byte, t time.Time, size int) []byte {
	start := len(dst)
	dst = append(dst, kind)
	dst = strconv.AppendInt(dst, t.UnixNano(), 10)
	dst = append(dst, ' ')
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

// ParseStamp reads the kind and the time in Unix nanoseconds at the start of
// one line of a message; ok is false if the line carries no stamp.
func ParseStamp(line []byte) (kind byte, unixNano int64, ok bool) {
	if len(line) < 2 {
		return 0, 0, false
	}
	end := 1
	for end < len(line) && line[end] >= '0' && line[end] <= '9' {
		end++
	}
	if end == 1 || end > 20 {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(string(line[1:end]), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return line[0], n, true
}
