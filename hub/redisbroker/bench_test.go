package redisbroker

import (
	"context"
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

// BenchmarkPublish measures envelopes from one node to another through a
// real redis-server: one Publish per envelope (a round trip each) against
// PublishBatch of 128 (one pipeline), as the hub's outbox hands them over.
// Each iteration is one envelope delivered to the receiving node.
func BenchmarkPublish(b *testing.B) {
	for _, batch := range []int{1, 128} {
		name := "single"
		if batch > 1 {
			name = "batch128"
		}
		b.Run(name, func(b *testing.B) {
			srv := redistest.Start(b)
			client := newClientTB(b, srv)
			a := startNodeTB(b, client, "a")
			r := startNodeTB(b, client, "b")
			if err := r.Subscribe(context.Background(), hub.Channel{Kind: hub.ToRoom, Name: "r"}); err != nil {
				b.Fatal(err)
			}
			data := make([]byte, 64)
			es := make([]hub.Envelope, batch)
			for i := range es {
				es[i] = hub.Envelope{Node: "a", Kind: hub.ToRoom, Target: "r", Type: hub.TextMessage, Data: data}
			}
			ctx := context.Background()
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			sent := 0
			for sent < b.N {
				n := min(batch, b.N-sent)
				var err error
				if batch == 1 {
					err = a.Publish(ctx, es[0])
				} else {
					err = a.PublishBatch(ctx, es[:n])
				}
				if err != nil {
					b.Fatal(err)
				}
				for range n {
					<-r.got
				}
				sent += n
			}
		})
	}
}
