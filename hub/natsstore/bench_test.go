package natsstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
	"github.com/wsgate/wsgate/hub/natsstore"
)

// Members of the benchmark room on each of the two nodes.
const benchMembersPerNode = 10

// BenchmarkSendToRoom measures SendToRoom of a 64-byte message on one of
// two nodes (each with its own natsbroker, both on one embedded JetStream
// server) to a room with benchMembersPerNode loopback clients on each
// node, with history off and on (this store) in the same run. Reported:
// deliveries/s (messages read by all clients over the elapsed time) and
// the 50th and 99th percentile of one SendToRoom call. The publisher stays
// at most 100 messages ahead of the slowest client, so nothing is dropped.
func BenchmarkSendToRoom(b *testing.B) {
	ts := startServer(b)
	for _, tc := range []struct {
		name    string
		history bool
	}{{"history-off", false}, {"history-on", true}} {
		b.Run(tc.name, func(b *testing.B) {
			room := "bench-" + tc.name
			var hubs []*hub.Hub
			var wg sync.WaitGroup
			var conns []*websocket.Conn
			var srvs []*httptest.Server
			counts := make([]atomic.Int64, 2*benchMembersPerNode)
			for n, node := range []string{"pub", "sub"} {
				br, err := natsbroker.New(natsbroker.Config{URL: ts.url()})
				if err != nil {
					b.Fatal(err)
				}
				cfg := hub.Config{NodeID: node, Broker: br, PingInterval: -1, MaxQueuedMessages: 4096}
				if tc.history {
					st, err := natsstore.New(natsstore.Config{URL: ts.url(), Storage: benchStorage})
					if err != nil {
						b.Fatal(err)
					}
					cfg.History = hub.HistoryConfig{
						Policy: func(string) hub.HistoryPolicy { return hub.HistoryPolicy{Size: 1000} },
						Store:  st,
					}
				}
				h, err := hub.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				hubs = append(hubs, h)
				joined := make(chan error, benchMembersPerNode)
				h.OnConnect(func(s *hub.Session) { joined <- h.Join(s.ID(), room) })
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.Accept(w, r, hub.AcceptOptions{})
				}))
				srvs = append(srvs, srv)
				for i := range benchMembersPerNode {
					c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
					if err != nil {
						b.Fatal(err)
					}
					if err := <-joined; err != nil {
						b.Fatal(err)
					}
					conns = append(conns, c)
					cnt := &counts[n*benchMembersPerNode+i]
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							if _, _, err := c.ReadMessage(); err != nil {
								return
							}
							cnt.Add(1)
						}
					}()
				}
			}
			defer func() {
				for _, h := range hubs {
					ctx, cancel := context.WithTimeout(context.Background(), wait)
					h.Shutdown(ctx)
					cancel()
				}
				for _, c := range conns {
					c.Close()
				}
				wg.Wait()
				for _, s := range srvs {
					s.Close()
				}
			}()
			slowest := func() int64 {
				m := counts[0].Load()
				for i := range counts {
					m = min(m, counts[i].Load())
				}
				return m
			}
			msg := hub.Text(strings.Repeat("m", 64))
			lat := make([]time.Duration, 0, b.N)
			deadline := time.Now().Add(time.Minute)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				for int64(i) > slowest()+100 {
					if time.Now().After(deadline) {
						b.Fatalf("clients stopped reading at %d of %d", slowest(), i)
					}
					time.Sleep(20 * time.Microsecond) // a bounded poll on the clients' progress
				}
				t0 := time.Now()
				if _, err := hubs[0].SendToRoom(room, msg); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			for slowest() < int64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("clients read %d of %d", slowest(), b.N)
				}
				time.Sleep(20 * time.Microsecond)
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N*len(counts))/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// benchStorage is the stream's storage in the benchmarks: the default.
var benchStorage = jetstream.FileStorage

// BenchmarkJetStreamPublish is the baseline of the history-on case: one
// plain JetStream publish (a request to the stream and its ack) of a
// 64-byte message, on the same kind of embedded server, with the
// percentiles of one call.
func BenchmarkJetStreamPublish(b *testing.B) {
	ts := startServer(b)
	st := newStore(b, ts, natsstore.Config{Storage: benchStorage}) // creates the stream
	_ = st
	nc, err := nats.Connect(ts.url())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := []byte(strings.Repeat("m", 64))
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := js.Publish(ctx, "wsgate.history.raw", data); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkAppend measures Append alone from one store: one goroutine,
// and four goroutines appending to one room (each conflict costs a reread
// and a retry) or each to its own room.
func BenchmarkAppend(b *testing.B) {
	ts := startServer(b)
	st := newStore(b, ts, natsstore.Config{Storage: benchStorage})
	msg := hub.Text(strings.Repeat("m", 64))
	p := hub.HistoryPolicy{Size: 1000}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Append(context.Background(), "serial", msg, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		same bool
	}{{"4-goroutines-one-room", true}, {"4-goroutines-own-rooms", false}} {
		b.Run(tc.name, func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(max(1, 4/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				room := tc.name
				if !tc.same {
					room += strconv.FormatInt(n.Add(1), 10)
				}
				for pb.Next() {
					if _, err := st.Append(context.Background(), room, msg, p); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
