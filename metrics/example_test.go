package metrics_test

import (
	"testing"

	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/metrics"
	"github.com/wsgate/wsgate/middleware"
)

// refusalsOf adapts the middleware's counters to Options.Refusals. The
// metrics package does not import middleware; this adapter lives with the
// program that uses both.
func refusalsOf(ws *middleware.Handler) func() map[string]uint64 {
	return func() map[string]uint64 {
		r := ws.Refusals()
		return map[string]uint64{
			metrics.ReasonHandshake: r.Handshake,
			metrics.ReasonAuth:      r.Auth,
			metrics.ReasonOrigin:    r.Origin,
			metrics.ReasonRate:      r.Rate,
			metrics.ReasonLimits:    r.Capacity,
			metrics.ReasonOther:     r.Other,
		}
	}
}

func Example() {
	h, err := hub.New(hub.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	ws, err := middleware.New(h, middleware.Config{})
	if err != nil {
		log.Fatal(err)
	}
	c, err := metrics.New(h, metrics.Options{
		ConstLabels: prometheus.Labels{"endpoint": "chat"},
		Refusals:    refusalsOf(ws),
	})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	// A plain GET on the WebSocket route is refused with 400.
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/ws", nil))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "wsgate_refusals_total{") && !strings.HasSuffix(line, " 0") ||
			strings.HasPrefix(line, "wsgate_sessions_") {
			fmt.Println(line)
		}
	}
	// Output:
	// wsgate_refusals_total{endpoint="chat",reason="handshake"} 1
	// wsgate_sessions_active{endpoint="chat"} 0
	// wsgate_sessions_total{endpoint="chat"} 0
}

// TestReasonsMatchMiddleware keeps the reason labels and the middleware's
// ByReason keys the same set, so the one-line adapter above stays right.
func TestReasonsMatchMiddleware(t *testing.T) {
	want := []string{metrics.ReasonHandshake, metrics.ReasonAuth, metrics.ReasonOrigin,
		metrics.ReasonRate, metrics.ReasonLimits, metrics.ReasonOther}
	got := middleware.Refusals{}.ByReason()
	if len(got) != len(want) {
		t.Fatalf("ByReason has %d keys, want %d", len(got), len(want))
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("ByReason lacks %q", k)
		}
	}
}
