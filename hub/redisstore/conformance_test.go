package redisstore

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/storetest"
	"github.com/wsgate/wsgate/internal/redistest"
)

// TestConformance runs the shared store suite against a real
// redis-server, one per case; Reset restarts it without persistence, as a
// crash would, and every client of the cluster is a separate connection
// pool, as separate nodes have.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Cluster {
		srv := redistest.Start(t)
		return storetest.Cluster{
			Store: func(t *testing.T) hub.Store { return newStore(t, newClient(t, srv), "") },
			Reset: func(t *testing.T) { srv.Restart() },
		}
	})
}

// TestConformanceCluster runs the suite through a redis.ClusterClient on a
// real (one-node) Redis Cluster: the scripts touch two keys, which must
// share a hash slot. Each case gets its own prefix on one cluster.
func TestConformanceCluster(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Options{Cluster: true})
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}})
	t.Cleanup(func() { client.Close() })
	var seq atomic.Int64
	storetest.Run(t, func(t *testing.T) storetest.Cluster {
		prefix := fmt.Sprintf("c%d", seq.Add(1))
		return storetest.Cluster{
			Store: func(t *testing.T) hub.Store { return newStore(t, client, prefix) },
			Reset: func(t *testing.T) { srv.Restart() },
		}
	})
}
