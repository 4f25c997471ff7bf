package hub

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// run is the session's reader: it attaches the session, reads until the
// connection ends, then detaches it. It is the only goroutine that reads.
func (s *Session) run(onClose func(*Session)) {
	h := s.hub
	defer h.sessions.Done()
	h.attach(s)
	s.startKeepAlive()
	if h.callConnect(s) {
		s.readLoop()
	} else {
		s.wait()
	}
	s.end()
	h.detach(s)
	if err := s.failed(); err != nil {
		h.callError(s, err)
	}
	h.callClose(s)
	if onClose != nil {
		h.guard(s, func() { onClose(s) })
	}
	close(s.done)
}

// wait reads (and discards) until the connection ends, for a session that
// is already closing.
func (s *Session) wait() {
	for {
		if _, _, err := s.conn.NextReader(); err != nil {
			s.readEnded(err)
			return
		}
	}
}

func (s *Session) readLoop() {
	for {
		if err := s.awaitReadable(); err != nil {
			s.readEnded(err)
			return
		}
		typ, r, err := s.conn.NextReader()
		if err != nil {
			s.readEnded(err)
			return
		}
		limit := s.cfg().MaxBinaryMessage
		if typ == websocket.TextMessage {
			limit = s.cfg().MaxTextMessage
		}
		data, err := readMessage(r, limit)
		if err != nil {
			if errors.Is(err, errTooBig) {
				s.failWith(CloseTooBig, fmt.Sprintf("message exceeds %d bytes", limit), ErrMessageTooBig)
				s.wait()
				return
			}
			if isInflateError(err) {
				s.failWith(CloseInvalidPayload, "invalid compressed data", fmt.Errorf("%w: %w", ErrInvalidData, err))
				s.wait()
				return
			}
			s.readEnded(err)
			return
		}
		now := time.Now().UnixNano()
		s.lastActivity.Store(now)
		s.msgsIn.Add(1)
		s.bytesIn.Add(uint64(len(data)))
		s.hub.stats.msgsIn.Add(1)
		s.hub.stats.bytesIn.Add(uint64(len(data)))
		if typ == websocket.TextMessage && !utf8.Valid(data) {
			s.failWith(CloseInvalidPayload, "invalid UTF-8 in text message", fmt.Errorf("%w: invalid UTF-8 in a text message", ErrInvalidData))
			s.wait()
			return
		}
		if s.limiter != nil {
			paused := time.Now()
			ok, err := s.limiter.Allow(s.ctx)
			s.excusePause(time.Since(paused))
			if err != nil {
				s.closeWith(ClosePolicy, err.Error(), false)
				s.wait()
				return
			}
			if !ok {
				continue
			}
		}
		if !s.hub.callMessage(s, Message{Type: MessageType(typ), Data: data}) {
			s.wait()
			return
		}
	}
}

var errTooBig = errors.New("hub: message too big")

// readMessage reads one message, refusing it as soon as it passes limit
// (negative: no limit) so that an oversized or inflating message is never
// buffered beyond the limit.
func readMessage(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if limit < 0 {
		_, err := buf.ReadFrom(r)
		return buf.Bytes(), err
	}
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errTooBig
	}
	return buf.Bytes(), nil
}

// isInflateError reports whether err comes from inflating a compressed
// message that is not a valid deflate stream: corrupt, or cut short (flate
// reports a stream that ends early as a bare io.ErrUnexpectedEOF; a dropped
// connection reaches the reader as a *websocket.CloseError).
func isInflateError(err error) bool {
	var ce flate.CorruptInputError
	return errors.As(err, &ce) || err == io.ErrUnexpectedEOF
}
