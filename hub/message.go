package hub

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// MessageType is the WebSocket type of a data message.
type MessageType int

// The two data message types of RFC 6455.
const (
	TextMessage   MessageType = websocket.TextMessage
	BinaryMessage MessageType = websocket.BinaryMessage
)

func (t MessageType) String() string {
	switch t {
	case TextMessage:
		return "text"
	case BinaryMessage:
		return "binary"
	}
	return "invalid"
}

// Message is a data message sent or received by a session. The hub does not
// copy Data: once a message is handed to a routing call, do not modify it.
type Message struct {
	Type MessageType
	Data []byte
}

// Text returns a text message holding s.
func Text(s string) Message { return Message{Type: TextMessage, Data: []byte(s)} }

// Binary returns a binary message holding b (not copied).
func Binary(b []byte) Message { return Message{Type: BinaryMessage, Data: b} }

// outbound is one queued item: a data message shared by every session it was
// routed to, or a close frame for one session. The plain form needs no
// encoding beyond a frame header (server frames are not masked, RFC 6455 5.1);
// the compressed form is deflated once, on first use, for every compressing
// session.
type outbound struct {
	typ  int // websocket message type: data, or CloseMessage
	data []byte

	comp atomic.Pointer[compressedForms] // deflated forms, made on first use (deflate.go)

	stream *stream // a message written piece by piece (stream.go); data is nil
}

func newOutbound(m Message) *outbound { return &outbound{typ: int(m.Type), data: m.Data} }

// size is what the item counts against a queue's byte bound.
func (o *outbound) size() int { return len(o.data) }

// appendFrameHeader appends the header of an unmasked frame (server frames
// are not masked), final when fin is set.
func appendFrameHeader(b []byte, opcode int, fin bool, n int) []byte {
	b0 := byte(opcode)
	if fin {
		b0 |= 0x80
	}
	b = append(b, b0)
	switch {
	case n <= 125:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}
