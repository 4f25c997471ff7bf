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
}

// Shutdown stops admitting sessions (Accept returns ErrShuttingDown), queues
// a close frame with CloseGoingAway behind every session's pending messages,
// and waits for the peers to answer. When ctx ends first, the remaining
// connections are closed at once. Shutdown returns once every session has
// ended and the broker is closed, with ctx's error if sessions were forced.
// Later calls wait for the first to finish and return its result.
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
	for _, s := range h.all() {
		s.closeWith(CloseGoingAway, "server shutting down", false)
	}

	all := make(chan struct{})
	go func() {
		h.sessions.Wait()
		close(all)
	}()
	var err error
	select {
	case <-all:
	case <-ctx.Done():
		err = ctx.Err()
		for _, s := range h.all() {
			s.fail()
		}
		<-all // closed connections end their readers promptly
	}
	h.stopCluster(ctx) // the outbox, then the broker
	h.mu.Lock()
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
	if h.closing {
		if forced {
			h.result.Forced++
		} else {
			h.result.Drained++
		}
	}
	h.mu.Unlock()
}
