package ratelimit

import (
	"context"
	"net/http"
	"sync"
)

// A WebSocket session outlives the request that opened it: the handler that
// upgrades may return while the connection stays open. The connection
// middlewares therefore record the slots they hold in the request context,
// and a handler that hands the connection to a longer-lived owner calls
// Detach to take those slots with it.

type holdsKey struct{}

// holds are the connection slots taken for one request.
type holds struct {
	mu       sync.Mutex
	releases []func()
	detached bool
}

// withHold records release in the request's holds, creating them (and a
// request carrying them) for the outermost middleware.
func withHold(r *http.Request, release func()) (*http.Request, *holds) {
	hs, _ := r.Context().Value(holdsKey{}).(*holds)
	if hs == nil {
		hs = &holds{}
		r = r.WithContext(context.WithValue(r.Context(), holdsKey{}, hs))
	}
	hs.mu.Lock()
	hs.releases = append(hs.releases, release)
	hs.mu.Unlock()
	return r, hs
}

// releaseUnlessDetached releases one slot when the handler returns, unless
// the slots were detached.
func (hs *holds) releaseUnlessDetached(release func()) {
	hs.mu.Lock()
	detached := hs.detached
	hs.mu.Unlock()
	if !detached {
		release()
	}
}

// Detach takes over the connection slots that Connections and Users hold
// for the request ctx belongs to: they are no longer released when the
// handler returns, but when the returned function is called (once is
// enough; later calls do nothing). Call it when the request's connection
// is handed to something that outlives the handler, such as a WebSocket
// session, and call the function when that ends. Without slots in ctx it
// returns a function that does nothing.
func Detach(ctx context.Context) (release func()) {
	hs, _ := ctx.Value(holdsKey{}).(*holds)
	if hs == nil {
		return func() {}
	}
	hs.mu.Lock()
	hs.detached = true
	releases := hs.releases
	hs.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, f := range releases {
				f()
			}
		})
	}
}
