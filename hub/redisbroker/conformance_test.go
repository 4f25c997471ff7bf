package redisbroker

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/brokertest"
	"github.com/wsgate/wsgate/internal/redistest"
)

// cluster returns a fresh redis-server as a brokertest cluster; edit, if
// not nil, changes each broker's Config.
func cluster(edit func(*Config)) func(t *testing.T) brokertest.Cluster {
	return func(t *testing.T) brokertest.Cluster {
		srv := redistest.Start(t)
		client := newClient(t, srv)
		return brokertest.Cluster{
			Broker: func(t *testing.T) hub.Broker {
				cfg := Config{Client: client}
				if edit != nil {
					edit(&cfg)
				}
				b, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				return b
			},
			Restart: func(t *testing.T) { srv.Restart() },
		}
	}
}

// TestConformance runs the shared broker suite against a real Redis with
// classic pub/sub.
func TestConformance(t *testing.T) { brokertest.Run(t, cluster(nil)) }

// TestConformanceSharded runs it with sharded pub/sub (SSUBSCRIBE and
// SPUBLISH, which a standalone Redis 7 accepts too).
func TestConformanceSharded(t *testing.T) {
	brokertest.Run(t, cluster(func(c *Config) { c.Sharded = true }))
}

// TestConformanceCluster runs the suite through a redis.ClusterClient on a
// real (one-node) Redis Cluster: slot routing, scripts on hash-tagged keys,
// pub/sub through a cluster client. The cluster is started once (a cluster
// takes seconds to come up); each case gets its own prefix. Sharded pub/sub
// on a cluster has its own test (TestClusterSharded): it spreads a node's
// subscriptions over one connection per shard, so envelopes of different
// channels may arrive in another order than they were published, which the
// contract allows but some of the suite's hub cases do not expect.
func TestConformanceCluster(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Options{Cluster: true})
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	var seq atomic.Int64
	brokertest.Run(t, func(t *testing.T) brokertest.Cluster {
		prefix := fmt.Sprintf("c%d", seq.Add(1))
		return brokertest.Cluster{
			Broker: func(t *testing.T) hub.Broker {
				b, err := New(Config{Client: client, Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				return b
			},
			Restart: func(t *testing.T) { srv.Restart() },
		}
	})
}

// TestClusterSharded: with a ClusterClient and Sharded, rooms, per-node
// and ToAll envelopes travel on sharded channels (one subscriber connection
// per shard), topics on patterns; everything is delivered once, interest
// holds, and after the cluster restarts every connection resubscribes
// (sharded channels one by one: a cluster refuses several slots in one
// SSUBSCRIBE) and delivery resumes.
func TestClusterSharded(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Options{Cluster: true})
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	sharded := func(c *Config) { c.Sharded = true }
	a, b, c := startNode(t, client, "a", sharded), startNode(t, client, "b", sharded), startNode(t, client, "c", sharded)
	rooms := []string{"r1", "r2", "r3", "r4"} // different slots
	for _, r := range rooms {
		b.subscribe(t, hub.ToRoom, r)
	}
	b.subscribe(t, hub.ToTopic, "t.*")
	check := func(round string) {
		t.Helper()
		want := map[string]bool{}
		for _, r := range rooms {
			a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: r, Data: []byte(round + r)})
			want[round+r] = true
		}
		a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "not-b", Data: []byte(round + "not-b")})
		a.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: "t.x", Data: []byte(round + "t.x")})
		a.publish(t, hub.Envelope{Kind: hub.ToSession, Target: "b-1", Data: []byte(round + "b-1")})
		a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte(round + "all")})
		for _, w := range []string{"t.x", "b-1", "all"} {
			want[round+w] = true
		}
		for range len(want) {
			e := b.next(t)
			if !want[string(e.Data)] {
				t.Fatalf("%s: b got unexpected or repeated %q", round, e.Data)
			}
			delete(want, string(e.Data))
		}
		c.awaitData(t, round+"all")
		b.none(t)
		c.none(t)
	}
	check("before ")
	srv.Restart()
	a.awaitEvents(t, "down", "up")
	b.awaitEvents(t, "down", "up")
	check("after ")
}
