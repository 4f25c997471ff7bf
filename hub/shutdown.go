package hub

import (
	"context"
	"net/http"
	"time"
)

// ShutdownResult tells how the sessions open during Shutdown ended.
type ShutdownResult struct {
	// Drained sessions received every queued message and answered the close
	// frame; Forced sessions had their connection closed before that.
	Drained, Forced int
	// Running counts the Forced sessions whose reader had not finished when
	// Shutdown returned: a callback of theirs (OnConnect, OnMessage,
	// OnClose) was still running. Their connections are closed; their
	// OnClose runs when the callback returns.
	Running int
}

// forcedGrace is how long Shutdown waits, once its context has ended and
// it has closed the remaining connections, for their readers to finish.
// A reader whose connection is closed ends at once unless a callback holds
// it.
const forcedGrace = 100 * time.Millisecond

// Shutdown stops admitting sessions (Accept returns ErrShuttingDown), queues
// a close frame with CloseGoingAway behind every session's pending messages,
// and waits for the peers to answer. When ctx ends first, the remaining
// connections are closed at once (with a ctx already done, at once and
// without close frames: the peers see 1006). Shutdown returns once every session has
// ended and the broker is closed, with ctx's error if sessions were forced.
// Later calls wait for the first to finish and return its result.
//
// Shutdown returns when ctx ends (at most forcedGrace, 100ms, later) even
// if a callback blocks: callbacks may then still be running after it
// returns (ShutdownResult.Running counts their sessions), and their
// sessions end when they return.
func (h *Hub) Shutdown(ctx context.Context) (ShutdownResult, error) {
	first := false
	h.shutdownOnce.Do(func() { first = true })
	if !first {
		select {
		case <-h.shutdownDone:
			return h.result, nil
		case <-ctx.Done():
			return ShutdownResult{}, ctx.Err()
		}
	}
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	// A context that had already ended forces at once, without close
	// frames: otherwise the peers' close answers could race the forcing,
	// and a Shutdown given no time would report sessions drained at random.
	forced := ctx.Err() != nil
	if !forced {
		for _, s := range h.all() {
			s.closeWith(CloseGoingAway, "server shutting down", false)
		}
	}

	all := make(chan struct{})
	go func() {
		h.sessions.Wait()
		close(all)
	}()
	var err error
	if !forced {
		select {
		case <-all:
		case <-ctx.Done():
			forced = true
		}
	}
	if forced {
		err = ctx.Err()
		for _, s := range h.all() {
			s.fail()
		}
		grace := time.NewTimer(forcedGrace)
		select {
		case <-all: // closed connections end their readers promptly
		case <-grace.C: // unless a callback holds one
		}
		grace.Stop()
	}
	h.stopCluster(ctx) // the outbox, then the broker
	h.mu.Lock()
	running := len(h.byID)
	h.result.Forced += running
	h.result.Running = running
	h.final = true // sessions that end from now on are not counted again
	res := h.result
	h.mu.Unlock()
	close(h.shutdownDone)
	if res.Forced == 0 {
		err = nil
	}
	return res, err
}

// Done returns a channel closed when Shutdown has finished.
func (h *Hub) Done() <-chan struct{} { return h.shutdownDone }

// RegisterOnShutdown makes srv.Shutdown shut the hub down too, giving the
// sessions up to timeout to drain. http.Server does not track hijacked
// connections, so without this its Shutdown leaves WebSocket sessions open.
// srv.Shutdown does not wait for the hub: wait on Done.
func (h *Hub) RegisterOnShutdown(srv *http.Server, timeout time.Duration) {
	srv.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		h.Shutdown(ctx)
	})
}

// all returns the sessions of this node.
func (h *Hub) all() []*Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*Session, 0, len(h.byID))
	for _, s := range h.byID {
		out = append(out, s)
	}
	return out
}

// tally counts a session that ended during Shutdown.
func (h *Hub) tally(s *Session) {
	s.mu.Lock()
	forced := s.forced
	s.mu.Unlock()
	h.mu.Lock()
	if h.closing && !h.final {
		if forced {
			h.result.Forced++
		} else {
			h.result.Drained++
		}
	}
	h.mu.Unlock()
}
