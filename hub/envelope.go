package hub

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadEnvelope wraps every error UnmarshalBinary returns.
var ErrBadEnvelope = errors.New("hub: malformed envelope")

// envelopeVersion is the first byte of an encoded envelope. Versions 1 (a
// message only: no op, code, reason or room) and 2 (no history position)
// are still decoded, so that nodes can be upgraded one at a time.
const (
	envelopeVersion   = 3
	envelopeVersionV2 = 2
	envelopeVersionV1 = 1
)

// Bounds on what an encoded envelope may claim, so a corrupt or hostile
// message from the broker's network cannot make a node allocate much.
const (
	maxEnvelopeNode   = 64 // Config.NodeID's bound
	maxEnvelopeTarget = 2 * maxNameLen
	maxEnvelopeExcept = 1 << 16 // session IDs in Except
	maxEnvelopeReason = 123     // a close reason's bound on the wire
)

// MarshalBinary encodes the envelope for a network broker: a version byte,
// the op, kind and message type, then the node, target, except list and
// data, the close code, the close reason, the room, the history epoch and
// offset, each string preceded by its length as a uvarint. Brokers for Redis, NATS or anything else send
// these bytes and decode them with UnmarshalBinary.
func (e *Envelope) MarshalBinary() ([]byte, error) {
	n := 4 + 10*binary.MaxVarintLen64 + len(e.Node) + len(e.Target) + len(e.Data) + len(e.Reason) + len(e.Room) + len(e.Epoch)
	for _, id := range e.Except {
		n += binary.MaxVarintLen64 + len(id)
	}
	b := make([]byte, 0, n)
	b = append(b, envelopeVersion, byte(e.Op), byte(e.Kind), byte(e.Type))
	b = appendString(b, e.Node)
	b = appendString(b, e.Target)
	b = binary.AppendUvarint(b, uint64(len(e.Except)))
	for _, id := range e.Except {
		b = appendString(b, id)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Data)))
	b = append(b, e.Data...)
	b = binary.AppendUvarint(b, uint64(e.Code))
	b = appendString(b, e.Reason)
	b = appendString(b, e.Room)
	b = appendString(b, e.Epoch)
	return binary.AppendUvarint(b, e.Offset), nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// UnmarshalBinary decodes an envelope encoded by MarshalBinary (version 3,
// version 2, which carried no history position, or version 1, which carried
// messages only). It checks every length
// against what is left and against the hub's bounds, and refuses unknown
// versions, ops, kinds and message types, a message type on an op other
// than OpMessage, and a code or reason on an op other than OpClose. Data
// aliases b.
func (e *Envelope) UnmarshalBinary(b []byte) error {
	d := envelopeDecoder{b: b}
	v := d.byte()
	if v != envelopeVersion && v != envelopeVersionV2 && v != envelopeVersionV1 && d.err == nil {
		return fmt.Errorf("%w: version %d", ErrBadEnvelope, v)
	}
	op := OpMessage
	if v >= envelopeVersionV2 {
		op = Op(d.byte())
	}
	kind, typ := Kind(d.byte()), MessageType(d.byte())
	node := d.string(maxEnvelopeNode)
	target := d.string(maxEnvelopeTarget)
	var except []string
	if count := d.uvarint(); d.err == nil {
		if count > maxEnvelopeExcept || count > uint64(len(d.b)) {
			return fmt.Errorf("%w: %d except IDs", ErrBadEnvelope, count)
		}
		except = make([]string, 0, count)
		for range count {
			except = append(except, d.string(maxEnvelopeTarget))
		}
	}
	data := d.bytes(uint64(len(b)))
	var code uint64
	var reason, room, epoch string
	var offset uint64
	if v >= envelopeVersionV2 {
		code = d.uvarint()
		reason = d.string(maxEnvelopeReason)
		room = d.string(maxNameLen)
	}
	if v >= envelopeVersion {
		epoch = d.string(maxEpochLen)
		offset = d.uvarint()
	}
	switch {
	case d.err != nil:
		return d.err
	case len(d.b) != 0:
		return fmt.Errorf("%w: %d trailing bytes", ErrBadEnvelope, len(d.b))
	case op > maxOp:
		return fmt.Errorf("%w: op %d", ErrBadEnvelope, op)
	case kind < ToAll || kind > ToSession:
		return fmt.Errorf("%w: kind %d", ErrBadEnvelope, kind)
	case op == OpMessage && !validType(typ):
		return fmt.Errorf("%w: message type %d", ErrBadEnvelope, typ)
	case op != OpMessage && typ != 0:
		return fmt.Errorf("%w: message type %d on op %d", ErrBadEnvelope, typ, op)
	case op == OpClose && (code > 4999 || !validCloseCode(int(code))):
		return fmt.Errorf("%w: close code %d", ErrBadEnvelope, code)
	case op != OpClose && (code != 0 || reason != ""):
		return fmt.Errorf("%w: close code or reason on op %d", ErrBadEnvelope, op)
	case (op == OpJoin || op == OpLeave) != (room != ""):
		return fmt.Errorf("%w: room %q on op %d", ErrBadEnvelope, room, op)
	case (offset != 0 || epoch != "") && (op != OpMessage || kind != ToRoom || offset == 0):
		return fmt.Errorf("%w: history position %d@%q on op %d kind %d", ErrBadEnvelope, offset, epoch, op, kind)
	}
	if len(except) == 0 {
		except = nil
	}
	*e = Envelope{Node: node, Op: op, Kind: kind, Target: target, Except: except, Type: typ, Data: data,
		Code: int(code), Reason: reason, Room: room, Epoch: epoch, Offset: offset}
	return nil
}

// envelopeDecoder reads fields until the first error, which it keeps.
type envelopeDecoder struct {
	b   []byte
	err error
}

func (d *envelopeDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadEnvelope, what)
	}
}

func (d *envelopeDecoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail("truncated header")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *envelopeDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad length")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *envelopeDecoder) bytes(limit uint64) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > limit || n > uint64(len(d.b)) {
		d.fail("field longer than allowed or than the message")
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *envelopeDecoder) string(limit uint64) string { return string(d.bytes(limit)) }
