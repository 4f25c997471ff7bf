package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
)

// TestCountRefusals: a refusal made by a check in front of the handler is
// counted by CountRefusals, and one made by the handler itself is counted
// once although it passes two counting layers.
func TestCountRefusals(t *testing.T) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Shutdown(t.Context()) })
	ws, err := middleware.New(h, middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	oc, err := origin.New(origin.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	chain := ws.CountRefusals(origin.Middleware(oc)(ws))

	foreign := httptest.NewRequest(http.MethodGet, "http://example.com/ws", nil)
	foreign.Header.Set("Origin", "https://evil.example")
	plain := httptest.NewRequest(http.MethodGet, "http://example.com/ws", nil) // not a WebSocket request
	for _, r := range []*http.Request{foreign, plain} {
		chain.ServeHTTP(httptest.NewRecorder(), r)
	}
	got := ws.Refusals()
	if got.Origin != 1 || got.Handshake != 1 {
		t.Fatalf("refusals %+v, want one origin and one handshake", got)
	}
	by := got.ByReason()
	if by["origin"] != 1 || by["handshake"] != 1 || len(by) != 6 {
		t.Fatalf("ByReason %v", by)
	}
}
