package natsbroker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
)

// countHost counts deliveries and says when it has seen want of them.
type countHost struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (h *countHost) Deliver(hub.Envelope) {
	if h.n.Add(1) == h.want {
		close(h.done)
	}
}
func (*countHost) Disconnected(error) {}
func (*countHost) Reconnected()       {}

// benchPublish measures end to end: b.N room envelopes of 64 bytes from one
// node, published batch at a time, until the subscribed node has had all of
// them delivered.
func benchPublish(b *testing.B, batch int) {
	srv := startServer(b).url()
	pub, err := natsbroker.New(natsbroker.Config{URL: srv})
	if err != nil {
		b.Fatal(err)
	}
	if err := pub.Start("pub", &countHost{done: make(chan struct{})}); err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	sub, err := natsbroker.New(natsbroker.Config{URL: srv})
	if err != nil {
		b.Fatal(err)
	}
	h := &countHost{want: int64(b.N), done: make(chan struct{})}
	if err := sub.Start("sub", h); err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sub.Subscribe(ctx, hub.Channel{Kind: hub.ToRoom, Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	es := make([]hub.Envelope, batch)
	for i := range es {
		es[i] = hub.Envelope{Node: "pub", Kind: hub.ToRoom, Target: "bench", Type: hub.BinaryMessage, Data: make([]byte, 64)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for left := b.N; left > 0; left -= batch {
		n := min(left, batch)
		if err := pub.PublishBatch(ctx, es[:n]); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-h.done:
	case <-ctx.Done():
		b.Fatalf("%d of %d delivered", h.n.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	if st := sub.Stats(); st.Dropped != 0 {
		b.Fatalf("dropped %d", st.Dropped)
	}
}

func BenchmarkPublish(b *testing.B)         { benchPublish(b, 1) }
func BenchmarkPublishBatch128(b *testing.B) { benchPublish(b, 128) }
