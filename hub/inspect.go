package hub

import "encoding/binary"

// frameInspector follows the frame boundaries of the bytes a client sends
// and fails the connection on a frame header that breaks the protocol. It
// sees every byte flushConn.Read returns, before gorilla does, but looks
// only at frame headers (and at a close frame's code, see codeByte):
// payloads are skipped by counting, never copied.
//
// It refuses, with close 1002, every header-level violation, so that every
// violation fails the connection the same way: the frames before the bad
// one are handled, their replies go out, and then the close frame (gorilla
// would write its close at once, ahead of them). That covers the ones
// gorilla would refuse too (reserved bits and opcodes, fragmented or long
// control frames, broken fragmentation, unmasked frames) and the ones
// gorilla/websocket v1.5.3 lets through:
//   - RSV1 on a control frame or a continuation frame (RFC 7692 section 6.1:
//     only the first frame of a compressed message carries it; gorilla
//     accepts both once compression is negotiated);
//   - a close frame whose payload is one byte long (RFC 6455 section 5.5.1:
//     the body is empty or starts with a two-byte code; gorilla reads it as
//     "no status" and answers with an empty close);
//   - a 64-bit payload length with its most significant bit set (RFC 6455
//     section 5.2; gorilla reports it as a read-limit error).
//
// The inspector is used by the session's reader goroutine only.
type frameInspector struct {
	remaining uint64 // payload bytes of the current frame still to pass
	length    uint64 // payload length being assembled from the header
	have      uint8  // header bytes seen of the current frame
	lenEnd    uint8  // header offset where the length ends: 2, 4 or 10
	need      uint8  // header length: lenEnd, plus 4 if masked
	isClose   bool   // the current frame is a close frame
	first     byte   // the current frame's first header byte
	inMessage bool   // a fragmented data message is in progress
	compress  bool   // permessage-deflate was negotiated: RSV1 may start a message
	err       error  // the violation found, returned by every later Read

	// A close frame's status code, read as it passes (see codeByte).
	mask     [4]byte // the current frame's masking key
	codeLeft uint8   // bytes of a close frame's code still to pass
	codeHigh byte    // its first byte, unmasked
	saw1014  bool    // a close code 1014 was passed to gorilla as 1011

	// With permessage-deflate, RSV1 is cleared on the first frame of a
	// compressed message before gorilla reads it (gorilla is told nothing
	// of compression, deflate.go), and the message is noted here: one flag
	// per data message passed, oldest first, popped by the reader.
	deflated []bool
	popped   int
}

// noteMessage records whether the data message starting now is compressed.
// The flags the reader has popped are dropped once they are half of the
// queue, so that it holds only the messages read ahead of gorilla (what one
// read buffer holds) however long the connection streams: a header split
// across reads can leave one flag unpopped at every note.
func (fi *frameInspector) noteMessage(deflated bool) {
	if fi.popped > 0 && 2*fi.popped >= len(fi.deflated) {
		n := copy(fi.deflated, fi.deflated[fi.popped:])
		fi.deflated, fi.popped = fi.deflated[:n], 0
	}
	fi.deflated = append(fi.deflated, deflated)
}

// nextDeflated reports whether the next data message gorilla returns is
// compressed.
func (fi *frameInspector) nextDeflated() bool {
	if fi.popped == len(fi.deflated) {
		return false // not reached: every message passed was noted
	}
	fi.popped++
	return fi.deflated[fi.popped-1]
}

// clearRSV1 clears RSV1 on the first byte of a data frame at p[i] (one that
// starts a message: checkHeader refuses RSV1 on continuation frames).
func (fi *frameInspector) clearRSV1(p []byte, i int) {
	if fi.compress {
		p[i] &^= rsv1Bit
	}
}

// frameViolation is the error flushConn.Read returns when the inspector
// finds a violation; the reader closes the session with CloseProtocolError
// and the reason.
type frameViolation struct{ reason string }

func (e *frameViolation) Error() string { return "hub: protocol violation: " + e.reason }

// The violations, allocated once: they carry no per-connection state.
var (
	errRSV1Control      = &frameViolation{"RSV1 set on a control frame"}
	errRSV1Continuation = &frameViolation{"RSV1 set on a continuation frame"}
	errRSV1NoDeflate    = &frameViolation{"RSV1 set without permessage-deflate"}
	errRSV23            = &frameViolation{"RSV2 or RSV3 set"}
	errReservedOpcode   = &frameViolation{"reserved opcode"}
	errControlFragment  = &frameViolation{"fragmented control frame"}
	errControlLength    = &frameViolation{"control frame longer than 125 bytes"}
	errNewInsideMessage = &frameViolation{"data frame inside a fragmented message"}
	errLoneContinuation = &frameViolation{"continuation frame with no message to continue"}
	errUnmasked         = &frameViolation{"unmasked client frame"}
	errCloseOneByte     = &frameViolation{"close frame with a 1-byte payload"}
	errLengthMSB        = &frameViolation{"payload length has its most significant bit set"}
)

const (
	rsv1Bit  = 0x40
	maskBit  = 0x80
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
	opCtlBit = 0x8 // opcodes 8-15 are control frames
)

// scan inspects p, the next bytes of the stream. It returns how many bytes
// of p may be passed on: all of them, or, on a violation, those before the
// offending frame, with the violation.
func (fi *frameInspector) scan(p []byte) (int, error) {
	if fi.err != nil {
		return 0, fi.err
	}
	i := 0
	start := 0 // where the current frame's header began in p (0 if earlier)
	for i < len(p) {
		for fi.codeLeft > 0 && fi.remaining > 0 && i < len(p) {
			fi.codeByte(p, i)
			fi.remaining--
			i++
		}
		if i == len(p) {
			break
		}
		if fi.remaining > 0 {
			left := uint64(len(p) - i)
			if left <= fi.remaining {
				fi.remaining -= left
				return len(p), nil
			}
			i += int(fi.remaining)
			fi.remaining = 0
			continue
		}
		if fi.have == 0 && len(p)-i >= maxHeader {
			// Fast path: the whole header is in p.
			if err := fi.checkHeader(p[i], p[i+1]); err != nil {
				return fi.fail(i, err)
			}
			fi.clearRSV1(p, i)
			n, length, err := headerAt(p[i:])
			if err != nil {
				return fi.fail(i, err)
			}
			if p[i]&0xF == opClose {
				fi.mask = [4]byte{}
				if p[i+1]&maskBit != 0 {
					copy(fi.mask[:], p[i+n-4:i+n])
				}
				fi.watchCode(length)
			}
			i += n
			fi.remaining = length
			continue
		}
		// A header split across reads: one byte at a time.
		b := p[i]
		switch fi.have {
		case 0:
			start = i
			fi.first = b
			fi.isClose = b&0xF == opClose
			fi.mask = [4]byte{}
			if op := b & 0xF; op == opText || op == opBinary {
				// Cleared before its header is checked (that needs the next
				// byte, maybe in a later read): a bad header fails the
				// connection whatever gorilla makes of this byte.
				fi.clearRSV1(p, i)
			}
		case 1:
			if err := fi.checkHeader(fi.first, b); err != nil {
				return fi.fail(start, err)
			}
			n := b &^ maskBit
			fi.length = 0
			switch n {
			case 126:
				fi.lenEnd = 4
			case 127:
				fi.lenEnd = 10
			default:
				fi.lenEnd = 2
				fi.length = uint64(n)
			}
			fi.need = fi.lenEnd
			if b&maskBit != 0 {
				fi.need += 4
			}
		default:
			if fi.have < fi.lenEnd { // an extended length byte
				if fi.have == 2 && fi.lenEnd == 10 && b&0x80 != 0 {
					return fi.fail(start, errLengthMSB)
				}
				fi.length = fi.length<<8 | uint64(b)
			} else {
				fi.mask[fi.have-fi.lenEnd] = b
			}
		}
		fi.have++
		i++
		if fi.have >= 2 && fi.have == fi.need {
			fi.remaining = fi.length
			fi.have = 0
			if fi.isClose {
				fi.watchCode(fi.length)
			}
		}
	}
	return len(p), nil
}

// Close code 1014 (Bad Gateway) is valid on the wire (IANA registry, after
// RFC 6455), but gorilla v1.5.3's table of codes it accepts from a peer stops
// at 1013 and it fails the connection with 1002. The inspector therefore
// watches the code of every close frame as it passes, and passes 1014 on as
// 1011, which differs only in its second byte, so that it can be rewritten
// even when the code's two bytes arrive in different reads; the session maps
// it back (onPeerClose). Every other code reaches gorilla unchanged, and
// gorilla refuses the reserved and invalid ones.
const (
	codeBadGateway      = 1014
	codeBadGatewayProxy = 1011 // what gorilla sees instead
)

// watchCode starts watching the status code of a close frame with a
// payload of length bytes.
func (fi *frameInspector) watchCode(length uint64) {
	fi.codeLeft = uint8(min(length, 2))
	if length < 2 {
		fi.codeLeft = 0
	}
}

// codeByte reads the close code byte at p[i], rewriting a 1014.
func (fi *frameInspector) codeByte(p []byte, i int) {
	pos := 2 - fi.codeLeft
	b := p[i] ^ fi.mask[pos]
	fi.codeLeft--
	if pos == 0 {
		fi.codeHigh = b
		return
	}
	if uint16(fi.codeHigh)<<8|uint16(b) == codeBadGateway {
		p[i] = byte(codeBadGatewayProxy&0xFF) ^ fi.mask[pos]
		fi.saw1014 = true
	}
}

// maxHeader is the longest frame header: 2 bytes, a 64-bit length and a
// masking key.
const maxHeader = 14

// headerAt checks the whole frame header at the start of p (at least
// maxHeader bytes) and returns its length and the payload length.
func headerAt(p []byte) (n int, length uint64, err error) {
	switch l7 := p[1] &^ maskBit; l7 {
	case 126:
		n, length = 4, uint64(binary.BigEndian.Uint16(p[2:]))
	case 127:
		n, length = 10, binary.BigEndian.Uint64(p[2:])
		if length>>63 != 0 {
			return 0, 0, errLengthMSB
		}
	default:
		n, length = 2, uint64(l7)
	}
	if p[1]&maskBit != 0 {
		n += 4
	}
	return n, length, nil
}

// checkHeader applies the protocol's header rules to a frame's first two
// bytes, following the fragmentation state of the stream (RFC 6455 sections
// 5.2, 5.4, 5.5; RFC 7692 section 6.1).
func (fi *frameInspector) checkHeader(b0, b1 byte) error {
	op := b0 & 0xF
	fin := b0&0x80 != 0
	control := op&opCtlBit != 0
	switch {
	case b0&0x30 != 0:
		return errRSV23
	case b0&rsv1Bit != 0 && control:
		return errRSV1Control
	case b0&rsv1Bit != 0 && op == opCont:
		return errRSV1Continuation
	case b0&rsv1Bit != 0 && !fi.compress:
		return errRSV1NoDeflate
	}
	switch {
	case control:
		if op > opPong {
			return errReservedOpcode
		}
		if !fin {
			return errControlFragment
		}
		if l7 := b1 &^ maskBit; l7 > 125 {
			return errControlLength
		} else if op == opClose && l7 == 1 {
			return errCloseOneByte
		}
	case op == opCont:
		if !fi.inMessage {
			return errLoneContinuation
		}
		fi.inMessage = !fin
	case op == opText || op == opBinary:
		if fi.inMessage {
			return errNewInsideMessage
		}
		fi.inMessage = !fin
	default:
		return errReservedOpcode
	}
	if b1&maskBit == 0 {
		return errUnmasked
	}
	if fi.compress && !control && op != opCont {
		fi.noteMessage(b0&rsv1Bit != 0)
	}
	return nil
}

func (fi *frameInspector) fail(at int, err error) (int, error) {
	fi.err = err
	return at, err
}
