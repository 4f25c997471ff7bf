package hub

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Member is one session in a room's presence (Hub.Presence): who it is,
// where it is and what the application said about it.
type Member struct {
	SessionID string
	Node      string // the node that holds the session
	// Info is what the application set with Session.SetPresenceInfo (a user
	// ID, a display name, JSON...), at most MaxPresenceInfo bytes.
	Info []byte
	// Since is when the session joined the room, on its node's clock,
	// truncated to the millisecond.
	Since time.Time
}

// MaxPresenceInfo bounds Member.Info, so that a room's presence stays small
// enough to list.
const MaxPresenceInfo = 1024

// memberVersion is the first byte of an encoded Member.
const memberVersion = 1

// MarshalBinary encodes the member: a version byte, the session ID, node
// and info, each preceded by its length as a uvarint, and Since in Unix
// milliseconds as a uvarint. Brokers store these bytes and decode them with
// UnmarshalBinary; presence events carry them in Envelope.Data.
func (m *Member) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen64+len(m.SessionID)+len(m.Node)+len(m.Info))
	b = append(b, memberVersion)
	b = appendString(b, m.SessionID)
	b = appendString(b, m.Node)
	b = binary.AppendUvarint(b, uint64(len(m.Info)))
	b = append(b, m.Info...)
	var ms uint64
	if !m.Since.IsZero() && m.Since.UnixMilli() > 0 {
		ms = uint64(m.Since.UnixMilli())
	}
	return binary.AppendUvarint(b, ms), nil
}

// UnmarshalBinary decodes a member encoded by MarshalBinary, checking every
// length against its bound; errors wrap ErrBadEnvelope. Info aliases b.
func (m *Member) UnmarshalBinary(b []byte) error {
	d := envelopeDecoder{b: b}
	if v := d.byte(); v != memberVersion && d.err == nil {
		return fmt.Errorf("%w: member version %d", ErrBadEnvelope, v)
	}
	id := d.string(maxEnvelopeTarget)
	node := d.string(maxEnvelopeNode)
	info := d.bytes(MaxPresenceInfo)
	ms := d.uvarint()
	switch {
	case d.err != nil:
		return d.err
	case len(d.b) != 0:
		return fmt.Errorf("%w: %d trailing bytes after member", ErrBadEnvelope, len(d.b))
	case id == "":
		return fmt.Errorf("%w: member without session ID", ErrBadEnvelope)
	case ms > 1<<53:
		return fmt.Errorf("%w: member since %d", ErrBadEnvelope, ms)
	}
	if len(info) == 0 {
		info = nil
	}
	var since time.Time
	if ms > 0 {
		since = time.UnixMilli(int64(ms))
	}
	*m = Member{SessionID: id, Node: node, Info: info, Since: since}
	return nil
}
