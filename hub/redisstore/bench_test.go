package redisstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/redisbroker"
	"github.com/wsgate/wsgate/internal/redistest"
)

// benchMembers is how many loopback clients are in the room.
const benchMembers = 100

// BenchmarkSendToRoom measures SendToRoom to a room of 100 loopback
// members on a hub with a redisbroker, in the same run with history off
// (the room has no policy) and on (this Store, Size 1000: one script call
// per message). It reports the publish latency's p99, and deliveries/s:
// messages read by the clients over the time from the first send until
// every message sent was read or dropped. Queues drop their oldest message
// when full (counted in Stats.Dropped), so that a client that falls
// behind does not end the run.
func BenchmarkSendToRoom(b *testing.B) {
	srv := redistest.Start(b)
	client := newClient(b, srv)
	for _, tc := range []struct {
		name string
		size int
	}{{"history-off", 0}, {"history-on", 1000}} {
		b.Run(tc.name, func(b *testing.B) {
			br, err := redisbroker.New(redisbroker.Config{Client: client, Prefix: "bench-" + tc.name})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			st := newStore(b, client, "bench-"+tc.name)
			h, err := hub.New(hub.Config{
				NodeID: "bench", Broker: br, SlowPolicy: hub.DropOldest, PingInterval: -1,
				History: hub.HistoryConfig{
					Policy: func(string) hub.HistoryPolicy { return hub.HistoryPolicy{Size: tc.size} },
					Store:  st,
				},
			})
			if err != nil {
				b.Fatal(err)
			}
			var got atomic.Int64
			stop := benchClients(b, h, &got)
			msg := hub.Text(strings.Repeat("m", 64))
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				t0 := time.Now()
				if _, err := h.SendToRoom("room", msg); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			want := int64(b.N) * benchMembers
			deadline := time.Now().Add(waitFor)
			for got.Load()+int64(h.Stats().Dropped) < want {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d messages read or dropped after %v", got.Load()+int64(h.Stats().Dropped), want, waitFor)
				}
				time.Sleep(100 * time.Microsecond) // a bounded poll on the clients' progress
			}
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(got.Load())/elapsed.Seconds(), "deliveries/s")
			stop()
		})
	}
}

// benchClients dials benchMembers clients into "room" of h, each read by
// its own goroutine counting into got. stop shuts the hub down and ends
// them.
func benchClients(b *testing.B, h *hub.Hub, got *atomic.Int64) (stop func()) {
	joined := make(chan error, benchMembers)
	h.OnConnect(func(s *hub.Session) { joined <- h.Join(s.ID(), "room") })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Accept(w, r, hub.AcceptOptions{})
	}))
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, 0, benchMembers)
	for range benchMembers {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := <-joined; err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		h.Shutdown(ctx)
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
		srv.Close()
	}
}

// BenchmarkAppend measures the store alone: one Append (one script call,
// a round trip to a local redis-server) with a Size policy, and with Size
// and TTL (the expired-head check runs too).
func BenchmarkAppend(b *testing.B) {
	srv := redistest.Start(b)
	client := newClient(b, srv)
	st := newStore(b, client, "")
	msg := hub.Text(strings.Repeat("m", 64))
	for _, tc := range []struct {
		name string
		p    hub.HistoryPolicy
	}{{"size", hub.HistoryPolicy{Size: 1000}}, {"size+ttl", hub.HistoryPolicy{Size: 1000, TTL: time.Minute}}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Append(ctx, tc.name, msg, tc.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
