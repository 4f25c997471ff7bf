package hub

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadEnvelope wraps every error UnmarshalBinary returns.
var ErrBadEnvelope = errors.New("hub: malformed envelope")

// envelopeVersion is the first byte of an encoded envelope.
const envelopeVersion = 1

// Bounds on what an encoded envelope may claim, so a corrupt or hostile
// message from the broker's network cannot make a node allocate much.
const (
	maxEnvelopeNode   = 64 // Config.NodeID's bound
	maxEnvelopeTarget = 2 * maxNameLen
	maxEnvelopeExcept = 1 << 16 // session IDs in Except
)

// MarshalBinary encodes the envelope for a network broker: a version byte,
// the kind and message type, then the node, target, except list and data,
// each preceded by its length as a uvarint. Brokers for Redis, NATS or
// anything else send these bytes and decode them with UnmarshalBinary.
func (e *Envelope) MarshalBinary() ([]byte, error) {
	n := 3 + 4*binary.MaxVarintLen64 + len(e.Node) + len(e.Target) + len(e.Data)
	for _, id := range e.Except {
		n += binary.MaxVarintLen64 + len(id)
	}
	b := make([]byte, 0, n)
	b = append(b, envelopeVersion, byte(e.Kind), byte(e.Type))
	b = appendString(b, e.Node)
	b = appendString(b, e.Target)
	b = binary.AppendUvarint(b, uint64(len(e.Except)))
	for _, id := range e.Except {
		b = appendString(b, id)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Data)))
	return append(b, e.Data...), nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// UnmarshalBinary decodes an envelope encoded by MarshalBinary. It checks
// every length against what is left and against the hub's bounds, and
// refuses unknown versions, kinds and message types. Data aliases b.
func (e *Envelope) UnmarshalBinary(b []byte) error {
	d := envelopeDecoder{b: b}
	if v := d.byte(); v != envelopeVersion && d.err == nil {
		return fmt.Errorf("%w: version %d", ErrBadEnvelope, v)
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
	switch {
	case d.err != nil:
		return d.err
	case len(d.b) != 0:
		return fmt.Errorf("%w: %d trailing bytes", ErrBadEnvelope, len(d.b))
	case kind < ToAll || kind > ToSession:
		return fmt.Errorf("%w: kind %d", ErrBadEnvelope, kind)
	case !validType(typ):
		return fmt.Errorf("%w: message type %d", ErrBadEnvelope, typ)
	}
	if len(except) == 0 {
		except = nil
	}
	*e = Envelope{Node: node, Kind: kind, Target: target, Except: except, Type: typ, Data: data}
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
