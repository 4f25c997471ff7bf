package hub

import (
	"encoding/binary"
	"time"

	"github.com/gorilla/websocket"
)

// keepAlive holds a session's effective ping, pong and idle settings; a zero
// duration means disabled.
type keepAlive struct {
	ping, pong, idle time.Duration
}

func pick(override, def time.Duration) time.Duration {
	switch {
	case override < 0:
		return 0
	case override > 0:
		return override
	case def < 0:
		return 0
	}
	return def
}

func (h *Hub) keepAliveFor(o *AcceptOptions) keepAlive {
	ka := keepAlive{
		ping: pick(o.PingInterval, h.cfg.PingInterval),
		pong: pick(o.PongTimeout, h.cfg.PongTimeout),
		idle: pick(o.IdleTimeout, h.cfg.IdleTimeout),
	}
	if ka.ping == 0 {
		ka.pong = 0
	}
	return ka
}

// startKeepAlive arms the ping and idle timers. Timers park no goroutine.
func (s *Session) startKeepAlive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ka.ping > 0 {
		s.pingTimer = time.AfterFunc(s.ka.ping, s.ping)
	}
	if s.ka.idle > 0 {
		s.idleTimer = time.AfterFunc(s.ka.idle, s.checkIdle)
	}
}

// ping queues a ping. Its payload, the hub's monotonic clock, is filled in
// by the writer when the ping goes out (stampPing), so neither the round
// trip nor the pong deadline counts the time the ping waited behind queued
// messages.
func (s *Session) ping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return
	}
	s.pushLocked(&outbound{typ: websocket.PingMessage, data: make([]byte, 8)}, 0, false) // control frames do not count against MaxQueuedBytes
	s.pingTimer.Reset(s.ka.ping)
}

// stampPing writes the send time into a ping about to be written and gives
// the peer PongTimeout to answer. While a ping is unanswered, later pings do
// not push the deadline back: otherwise, with PongTimeout >= PingInterval,
// a silent peer would never time out. It runs on the writer.
func (s *Session) stampPing(payload []byte) {
	now := s.hub.monotonic()
	binary.BigEndian.PutUint64(payload, uint64(now))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastPing.Store(now)
	if s.ka.pong > 0 && s.pongSince == 0 {
		s.pongSince = now
		s.pongDeadline = time.Now().Add(s.ka.pong)
		s.fc.Conn.SetReadDeadline(s.pongDeadline)
	}
}

// excusePause moves a pending pong deadline back by d, the time the reader
// spent not reading because the InboundLimiter held it: a pong the peer
// sent in time may be waiting in the socket behind the messages the
// limiter is pacing, so that time is not the peer's to account for.
func (s *Session) excusePause(d time.Duration) {
	if d < time.Millisecond {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pongSince != 0 {
		s.pongDeadline = s.pongDeadline.Add(d)
		s.fc.Conn.SetReadDeadline(s.pongDeadline)
	}
}

// onPong records the round trip and lifts the pong deadline when the pong
// answers a ping sent since the deadline was set (or, with no deadline, the
// latest ping).
func (s *Session) onPong(data string) error {
	if len(data) != 8 {
		return nil // an unsolicited pong (RFC 6455 5.5.3): ignore it
	}
	sent := int64(binary.BigEndian.Uint64([]byte(data)))
	s.mu.Lock()
	defer s.mu.Unlock()
	last, first := s.lastPing.Load(), s.pongSince
	if first == 0 {
		first = last
	}
	if last == 0 || sent < first || sent > last {
		return nil
	}
	s.rtt.Store(s.hub.monotonic() - sent)
	if s.pongSince == 0 {
		return nil
	}
	s.pongSince = 0
	return s.fc.Conn.SetReadDeadline(time.Time{})
}

// checkIdle closes the session if it received no data message for the idle
// timeout, or re-arms itself for the time left.
func (s *Session) checkIdle() {
	left := s.ka.idle - time.Since(s.LastActivity())
	if left <= 0 {
		s.closeWith(CloseGoingAway, "idle timeout", false)
		return
	}
	s.mu.Lock()
	if s.state == stateOpen {
		s.idleTimer.Reset(left)
	}
	s.mu.Unlock()
}
