package natsbroker

import (
	"encoding/binary"
	"fmt"

	"github.com/wsgate/wsgate/hub"
)

// A frame is what travels in a NATS message: a version byte, the
// publishing broker's instance ID (8 bytes), its sequence number (a
// uvarint, increasing in the order the broker wrote its messages to the
// server), then the envelope's MarshalBinary form. The instance and
// sequence let a node that receives one message through several of its
// topic patterns deliver it once.
const frameVersion = 1

func appendFrame(b []byte, instance, seq uint64, wire []byte) []byte {
	b = append(b, frameVersion)
	b = binary.BigEndian.AppendUint64(b, instance)
	b = binary.AppendUvarint(b, seq)
	return append(b, wire...)
}

// decodeFrame decodes a frame; the envelope's Data aliases b.
func decodeFrame(b []byte) (instance, seq uint64, e hub.Envelope, err error) {
	if len(b) < 1+8+1 || b[0] != frameVersion {
		return 0, 0, e, fmt.Errorf("%w: not a natsbroker frame", hub.ErrBadEnvelope)
	}
	instance = binary.BigEndian.Uint64(b[1:9])
	seq, n := binary.Uvarint(b[9:])
	if n <= 0 {
		return 0, 0, e, fmt.Errorf("%w: bad frame sequence", hub.ErrBadEnvelope)
	}
	err = e.UnmarshalBinary(b[9+n:])
	return instance, seq, e, err
}

// dedup remembers the last sequence delivered from each publisher. NATS
// sends a message matching several of a node's patterns once per pattern,
// one copy right after the other (before the publisher's next message), so
// a sequence not above the last one is a copy. It holds at most
// maxPublishers entries; past that it forgets an arbitrary other one,
// which at worst lets one copy through if that publisher's copies were
// still in flight behind thousands of other publishers' messages.
type dedup struct{ last map[uint64]uint64 }

const maxPublishers = 4096

func (d *dedup) fresh(instance, seq uint64) bool {
	if last, ok := d.last[instance]; ok {
		if seq <= last {
			return false
		}
	} else if len(d.last) >= maxPublishers {
		for k := range d.last {
			delete(d.last, k)
			break
		}
	}
	d.last[instance] = seq
	return true
}
