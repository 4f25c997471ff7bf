package ratelimit_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wsgate/wsgate/ratelimit"
)

// TestDetachKeepsSlotsPastTheHandler checks the hand-over used for WebSocket
// sessions: slots taken by Connections and Users stay taken after the
// handler returns, until the detached release runs.
func TestDetachKeepsSlotsPastTheHandler(t *testing.T) {
	l, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{Max: 1, PerUser: 1})
	if err != nil {
		t.Fatal(err)
	}
	var release func()
	h := ratelimit.Connections(l)(ratelimit.Users(l, func(*http.Request) string { return "ada" })(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			release = ratelimit.Detach(r.Context())
		})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := l.Active(); got != 1 {
		t.Fatalf("after a detached handler returned, %d connections active; want 1", got)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("second connection while the first is held: %d, want 503", rec.Code)
	}
	release()
	release() // idempotent
	if got := l.Active(); got != 0 {
		t.Fatalf("after release, %d connections active; want 0", got)
	}
	if ips, users := l.Tracked(); ips != 0 || users != 0 {
		t.Fatalf("after release, %d IPs and %d users tracked; want none", ips, users)
	}
}

func TestDetachWithoutSlots(t *testing.T) {
	ratelimit.Detach(httptest.NewRequest("GET", "/", nil).Context())() // must not panic
}

// TestNotDetachedReleasesOnReturn is the ordinary HTTP case.
func TestNotDetachedReleasesOnReturn(t *testing.T) {
	l, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{Max: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := ratelimit.Connections(l)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for i := 0; i < 3; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
}
