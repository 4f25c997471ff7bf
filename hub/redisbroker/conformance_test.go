package redisbroker

import (
	"testing"

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
