package serve

import (
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/redisbroker"
)

// openRedis connects a Redis client for rawURL (redis.ParseURL's form);
// each hub's broker shares it.
func (cl *Cluster) openRedis(rawURL string, logger *slog.Logger) error {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBrokerURL, err)
	}
	client := redis.NewClient(opts)
	cl.closers = append(cl.closers, func() { client.Close() })
	cl.newBroker = func(prefix string) (hub.Broker, func() BrokerReport, error) {
		b, err := redisbroker.New(redisbroker.Config{Client: client, Prefix: prefix, Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		return b, func() BrokerReport {
			s := b.Stats()
			return BrokerReport{ReceivedMsgs: s.Received, ReceivedBytes: s.ReceivedBytes, Stats: s}
		}, nil
	}
	return nil
}
