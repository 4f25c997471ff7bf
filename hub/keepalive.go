package hub

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
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

// KeepAlive is a session's keep-alive settings (see Config.PingInterval,
// PongTimeout and IdleTimeout). As an override (AcceptOptions,
// Session.SetKeepAlive) a zero field keeps the hub's value and a negative
// one disables; as returned by Session.KeepAlive, zero means disabled.
type KeepAlive struct {
	PingInterval, PongTimeout, IdleTimeout time.Duration
}

// keepAliveFor applies the overrides in k to the hub's settings.
func (h *Hub) keepAliveFor(k KeepAlive) keepAlive {
	ka := keepAlive{
		ping: pick(k.PingInterval, h.cfg.PingInterval),
		pong: pick(k.PongTimeout, h.cfg.PongTimeout),
		idle: pick(k.IdleTimeout, h.cfg.IdleTimeout),
	}
	if ka.ping == 0 {
		ka.pong = 0
	}
	return ka
}

// KeepAlive returns the session's keep-alive settings in effect; a zero
// field is disabled.
func (s *Session) KeepAlive() KeepAlive {
	s.mu.Lock()
	defer s.mu.Unlock()
	return KeepAlive{PingInterval: s.ka.ping, PongTimeout: s.ka.pong, IdleTimeout: s.ka.idle}
}

// SetKeepAlive changes the session's keep-alive settings while it runs,
// with the meaning AcceptOptions gives them: a zero field keeps the hub's
// value, a negative one disables. A new PingInterval or IdleTimeout counts
// from now; a pong already awaited is given the new PongTimeout from now
// (or no deadline if pings are disabled). It does nothing once the session
// is closing.
func (s *Session) SetKeepAlive(k KeepAlive) {
	ka := s.hub.keepAliveFor(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return
	}
	s.ka = ka
	s.pingTimer = rearm(s.pingTimer, ka.ping, s.ping)
	s.idleTimer = rearm(s.idleTimer, ka.idle, s.checkIdle)
	if s.pongSince != 0 {
		if ka.pong > 0 {
			s.pongDeadline = time.Now().Add(ka.pong)
		} else {
			s.pongSince, s.pongDeadline = 0, time.Time{}
			s.pongAwaited.Store(false)
		}
		s.fc.Conn.SetReadDeadline(s.pongDeadline)
	}
}

// rearm makes t fire f after d from now, or stops it when d is zero.
func rearm(t *time.Timer, d time.Duration, f func()) *time.Timer {
	switch {
	case d == 0:
		if t != nil {
			t.Stop()
		}
		return t
	case t == nil:
		return time.AfterFunc(d, f)
	}
	t.Reset(d)
	return t
}

// maxPingData is the application data a ping can carry after the hub's
// 8-byte timestamp (a control frame holds 125 bytes).
const maxPingData = 125 - 8

// SetPingData sets application data (at most 117 bytes) that every ping of
// the session carries after the hub's 8-byte timestamp; the peer echoes it
// in its pong, and OnPong hands it back. Nil clears it.
func (s *Session) SetPingData(data []byte) error {
	if len(data) > maxPingData {
		return fmt.Errorf("hub: ping data of %d bytes: at most %d fit beside the timestamp", len(data), maxPingData)
	}
	s.mu.Lock()
	s.pingData = slices.Clone(data)
	s.mu.Unlock()
	return nil
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
	if s.state != stateOpen || s.ka.ping == 0 { // closing, or disabled since the timer fired
		return
	}
	payload := make([]byte, 8, 8+len(s.pingData))
	payload = append(payload, s.pingData...)
	s.pushLocked(&outbound{typ: websocket.PingMessage, data: payload}, 0, false) // control frames do not count against MaxQueuedBytes
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
		s.pongAwaited.Store(true)
		s.pongDeadline = time.Now().Add(s.ka.pong)
		s.fc.Conn.SetReadDeadline(s.pongDeadline)
		s.unparkLocked() // the deadline needs a reader waiting under it
	}
}

// excusePause moves a pending pong deadline back by d, the time the reader
// spent not reading because the InboundLimiter held it or OnMessage ran: a
// pong the peer sent in time may be waiting in the socket meanwhile, so
// that time is not the peer's to account for.
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

// onPing answers a ping with its payload, wherever the reader met it (in
// NextReader, or at idle). As with gorilla's own handler, a write that
// fails because the connection is closing or broken is the writer's to
// notice, not the reader's.
func (s *Session) onPing(data string) error {
	err := s.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(s.cfg().WriteTimeout))
	var ne net.Error
	if err != nil && err != websocket.ErrCloseSent && !errors.As(err, &ne) {
		return err
	}
	return nil
}

// onPong records the round trip and lifts the pong deadline when the pong
// answers a ping sent since the deadline was set (or, with no deadline, the
// latest ping), then tells OnPong. Any other pong (RFC 6455 5.5.3 allows
// unsolicited ones, as an application's heartbeat) goes to OnPong whole,
// with a zero round trip. gorilla calls it on the reader goroutine.
func (s *Session) onPong(data string) error {
	rtt, ours := s.answeredPing(data)
	if cb := s.hub.onPong.Load(); cb != nil {
		app := []byte(data)
		if ours {
			app = app[8:]
		}
		s.hub.guard(s, func() { (*cb)(s, app, rtt) })
	}
	return nil
}

// answeredPing reports whether a pong with payload data answers one of the
// session's pings and with what round trip, and lifts the pong deadline.
func (s *Session) answeredPing(data string) (time.Duration, bool) {
	if len(data) < 8 {
		return 0, false
	}
	sent := int64(binary.BigEndian.Uint64([]byte(data[:8])))
	s.mu.Lock()
	defer s.mu.Unlock()
	last, first := s.lastPing.Load(), s.pongSince
	if first == 0 {
		first = last
	}
	if last == 0 || sent < first || sent > last {
		return 0, false
	}
	rtt := time.Duration(s.hub.monotonic() - sent)
	s.rtt.Store(int64(rtt))
	if s.pongSince != 0 {
		s.pongSince = 0
		s.pongAwaited.Store(false)
		s.fc.Conn.SetReadDeadline(time.Time{})
	}
	return rtt, true
}

// checkIdle closes the session if it received no data message for the idle
// timeout, or re-arms itself for the time left.
func (s *Session) checkIdle() {
	s.mu.Lock()
	idle := s.ka.idle
	s.mu.Unlock()
	if idle == 0 {
		return // disabled since the timer was armed
	}
	left := idle - time.Since(s.LastActivity())
	if left <= 0 {
		s.closeWith(CloseGoingAway, "idle timeout", false)
		return
	}
	s.mu.Lock()
	if s.state == stateOpen && s.ka.idle == idle {
		s.idleTimer.Reset(left)
	}
	s.mu.Unlock()
}
