package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/wsgate/wsgate/hub"
)

// Headers each stored message carries: its position, its room's policy
// size (for Read's trimming) and the message type.
const (
	hdrEpoch  = "Wsgate-Epoch"
	hdrOffset = "Wsgate-Offset"
	hdrSize   = "Wsgate-Size"
	hdrType   = "Wsgate-Type"
)

// stored is one history message as the server returned it.
type stored struct {
	seq   uint64 // stream sequence
	epoch string
	off   uint64
	size  uint64 // the room's policy size when it was appended
	typ   hub.MessageType
	data  []byte
}

// statusHdr is where nats.go puts the status of a reply without payload.
const statusHdr = "Status"

// errNotFound is a direct get that found no message.
var errNotFound = errors.New("natsstore: no message")

// getRequest is the JetStream direct-get request (JSApiMsgGetRequest).
type getRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
	Batch   int    `json:"batch,omitempty"`
}

// parseStored reads a direct-get reply. A status reply is errNotFound
// (404) or an error; a message without our headers is an error (something
// else published on the room's subject).
func parseStored(m *nats.Msg) (stored, error) {
	if st := m.Header.Get(statusHdr); st != "" {
		if st == "404" {
			return stored{}, errNotFound
		}
		return stored{}, fmt.Errorf("%w: direct get: %s %s", ErrServer, st, m.Header.Get("Description"))
	}
	var s stored
	var err error
	if s.seq, err = strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64); err != nil {
		return stored{}, fmt.Errorf("%w: direct get reply without a sequence", ErrServer)
	}
	s.epoch = m.Header.Get(hdrEpoch)
	s.off, err = strconv.ParseUint(m.Header.Get(hdrOffset), 10, 64)
	if err != nil || s.epoch == "" || s.off == 0 {
		return stored{}, fmt.Errorf("%w: message %d on %s is not a history message", ErrServer, s.seq, m.Header.Get("Nats-Subject"))
	}
	s.size, _ = strconv.ParseUint(m.Header.Get(hdrSize), 10, 64)
	s.typ = hub.TextMessage
	if m.Header.Get(hdrType) == "b" {
		s.typ = hub.BinaryMessage
	}
	s.data = m.Data
	return s, nil
}

// request is one round trip to the server. No responders (the stream
// does not exist, or JetStream is off) is errNoStream.
func (st *Store) request(ctx context.Context, subj string, body []byte) (*nats.Msg, error) {
	m, err := st.nc.RequestWithContext(ctx, subj, body)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, errNoStream
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrServer, err)
	}
	return m, nil
}

var errNoStream = errors.New("natsstore: no stream")

// last returns the newest message of a room's subject; errNotFound when
// it has none, errNoStream when the stream is gone.
func (st *Store) last(ctx context.Context, subj string) (stored, error) {
	m, err := st.request(ctx, st.directGet+"."+subj, nil)
	if err != nil {
		return stored{}, err
	}
	return parseStored(m)
}

// next returns the first message of subj at or after stream sequence seq.
func (st *Store) next(ctx context.Context, subj string, seq uint64) (stored, error) {
	body, _ := json.Marshal(getRequest{Seq: seq, NextFor: subj})
	m, err := st.request(ctx, st.directGet, body)
	if err != nil {
		return stored{}, err
	}
	return parseStored(m)
}

// batch returns up to n messages of subj from stream sequence seq on, in
// one request (the server streams them, then an end-of-batch status).
func (st *Store) batch(ctx context.Context, subj string, seq uint64, n int) ([]stored, error) {
	if n == 1 {
		s, err := st.next(ctx, subj, seq)
		if err != nil {
			return nil, err
		}
		return []stored{s}, nil
	}
	body, _ := json.Marshal(getRequest{Seq: seq, NextFor: subj, Batch: n})
	inbox := st.nc.NewInbox()
	sub, err := st.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrServer, err)
	}
	defer sub.Unsubscribe()
	if err := st.nc.PublishRequest(st.directGet, inbox, body); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrServer, err)
	}
	out := make([]stored, 0, n)
	for len(out) < n {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: reading a batch: %w", ErrServer, err)
		}
		if m.Header.Get(statusHdr) == "204" { // end of batch
			break
		}
		s, err := parseStored(m)
		if errors.Is(err, errNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
