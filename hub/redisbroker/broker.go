package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
)

var (
	_ hub.Broker         = (*Broker)(nil)
	_ hub.BatchPublisher = (*Broker)(nil)
	_ hub.PresenceBroker = (*Broker)(nil)
)

// Broker is a hub.Broker over Redis pub/sub. Give each hub (node) its own
// Broker in hub.Config.Broker; the hub starts and closes it. Its methods
// are safe for concurrent use.
type Broker struct {
	cfg     Config
	client  redis.UniversalClient
	cluster *redis.ClusterClient // non-nil when client is a Redis Cluster
	names   names

	// Set by Start, read-only after.
	node string
	host hub.BrokerHost
	main *subscriber // ToAll, this node, rooms and topics (rooms not when sharded on a cluster)

	ctx    context.Context // cancelled by Close: ends every goroutine
	cancel context.CancelFunc
	wg     sync.WaitGroup

	started   atomic.Bool
	closeOnce sync.Once
	closed    atomic.Bool

	pingSeq atomic.Uint64

	// mu guards topics, rooms and shards.
	mu     sync.RWMutex
	topics map[string]string      // Redis glob → the hub pattern it stands for
	rooms  map[string]struct{}    // Config.SubscribeAll: the rooms the hub subscribed to
	shards map[string]*subscriber // cluster master address → its sharded subscriber

	// notifyMu orders host.Disconnected/Reconnected calls; downSubs counts
	// subscribers that were up and are now reconnecting.
	notifyMu     sync.Mutex
	downSubs     int
	disconnected atomic.Bool

	stats counters
}

// New returns a broker for cfg, to be started by its hub. It validates cfg
// (errors wrap ErrConfig and name the field) and does not connect: Start
// does.
func New(cfg Config) (*Broker, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Broker{
		cfg:    cfg,
		client: cfg.Client,
		names:  newNames(cfg.Prefix),
		topics: make(map[string]string),
		rooms:  make(map[string]struct{}),
		shards: make(map[string]*subscriber),
	}
	b.cluster, _ = cfg.Client.(*redis.ClusterClient)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// Start connects, subscribes to the ToAll channel and to this node's own
// channel, and returns once the server has confirmed both, or with an
// error after Config.ConnectTimeout. The hub calls it once, from hub.New.
func (b *Broker) Start(node string, host hub.BrokerHost) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if node == "" || host == nil {
		return fmt.Errorf("%w: Start needs a node ID and a host", ErrUnroutable)
	}
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("redisbroker: already started")
	}
	b.node, b.host = node, host
	kind := b.channelKind()
	onShards := kind == shardSub && b.cluster != nil
	b.main = newSubscriber(b, func(ctx context.Context) *redis.PubSub { return b.client.Subscribe(ctx) })
	own := []subKey{{kind, b.names.all()}, {kind, b.names.node(node)}}
	if b.cfg.SubscribeAll { // validate rules out Sharded: one connection
		own = append(own, subKey{patternSub, b.names.allRooms()}, subKey{patternSub, b.names.allTopics()})
	}
	if !onShards { // one connection holds every kind
		for _, k := range own {
			b.main.want[k] = struct{}{}
		}
	}
	b.main.start()
	ctx, cancel := context.WithTimeout(b.ctx, b.cfg.ConnectTimeout)
	defer cancel()
	select {
	case <-b.main.ready():
	case <-ctx.Done():
		err := b.main.lastError()
		b.Close()
		if err == nil {
			err = ctx.Err()
		}
		return fmt.Errorf("redisbroker: no connection within %v: %w", b.cfg.ConnectTimeout, err)
	}
	if onShards {
		for _, k := range own {
			if err := b.subscribeKey(ctx, k); err != nil {
				b.Close()
				return err
			}
		}
	}
	return nil
}

// usable says whether the broker may take a call now.
func (b *Broker) usable() error {
	switch {
	case b.closed.Load():
		return ErrClosed
	case !b.started.Load():
		return ErrNotStarted
	case b.disconnected.Load():
		return ErrDisconnected
	}
	return nil
}

// channelKind is the command family of the all, node and room channels.
func (b *Broker) channelKind() subKind {
	if b.cfg.Sharded {
		return shardSub
	}
	return plainSub
}

// route returns the channel an envelope is published on.
func (b *Broker) route(e *hub.Envelope) (name string, kind subKind, err error) {
	kind = b.channelKind()
	switch e.Kind {
	case hub.ToAll:
		return b.names.all(), kind, nil
	case hub.ToRoom:
		return b.names.room(e.Target), kind, nil
	case hub.ToSession:
		node := e.DestNode()
		if node == "" {
			return "", 0, fmt.Errorf("%w: session ID %q names no node", ErrUnroutable, e.Target)
		}
		return b.names.node(node), kind, nil
	case hub.ToTopic:
		return b.names.subject(e.Target), plainSub, nil
	}
	return "", 0, fmt.Errorf("%w: envelope kind %d", ErrUnroutable, e.Kind)
}

// Publish hands e to Redis on its channel and returns once the server
// accepted it. It fails fast with ErrDisconnected while the broker is
// reconnecting.
func (b *Broker) Publish(ctx context.Context, e hub.Envelope) error {
	if err := b.usable(); err != nil {
		return err
	}
	name, kind, err := b.route(&e)
	if err != nil {
		return err
	}
	wire, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	if kind == shardSub {
		err = b.client.SPublish(ctx, name, wire).Err()
	} else {
		err = b.client.Publish(ctx, name, wire).Err()
	}
	if err != nil {
		b.stats.publishErrors.Add(1)
		return fmt.Errorf("redisbroker: publish: %w", err)
	}
	b.stats.published.Add(1)
	return nil
}

// PublishBatch publishes es in one pipeline (one round trip to each server
// involved), in order.
func (b *Broker) PublishBatch(ctx context.Context, es []hub.Envelope) error {
	if err := b.usable(); err != nil {
		return err
	}
	pipe := b.client.Pipeline()
	for i := range es {
		name, kind, err := b.route(&es[i])
		if err != nil {
			return err
		}
		wire, err := es[i].MarshalBinary()
		if err != nil {
			return err
		}
		if kind == shardSub {
			pipe.SPublish(ctx, name, wire)
		} else {
			pipe.Publish(ctx, name, wire)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.stats.publishErrors.Add(uint64(len(es)))
		return fmt.Errorf("redisbroker: publish batch: %w", err)
	}
	b.stats.published.Add(uint64(len(es)))
	return nil
}

// key returns the Redis subscription for a hub channel.
func (b *Broker) key(ch hub.Channel) (subKey, error) {
	switch ch.Kind {
	case hub.ToRoom:
		if ch.Name == "" {
			return subKey{}, fmt.Errorf("%w: empty room name", ErrUnroutable)
		}
		return subKey{b.channelKind(), b.names.room(ch.Name)}, nil
	case hub.ToTopic:
		if !validPattern(ch.Name) {
			return subKey{}, fmt.Errorf("%w: topic pattern %q", ErrUnroutable, ch.Name)
		}
		return subKey{patternSub, b.names.pattern(ch.Name)}, nil
	}
	return subKey{}, fmt.Errorf("%w: channel kind %d", ErrUnroutable, ch.Kind)
}

// validPattern reports whether p is a valid hub topic pattern.
func validPattern(p string) bool {
	// MatchTopic is false for an invalid pattern whatever the subject; a
	// valid pattern matches its own instance with every wildcard replaced.
	inst := strings.ReplaceAll(p, "*", "x")
	inst = strings.ReplaceAll(inst, ">", "x")
	return hub.MatchTopic(p, inst)
}

// Subscribe subscribes the node to a room's channel or a topic pattern and
// returns once Redis has confirmed the subscription.
func (b *Broker) Subscribe(ctx context.Context, ch hub.Channel) error {
	if err := b.usable(); err != nil {
		return err
	}
	key, err := b.key(ch)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if key.kind == patternSub {
		b.topics[key.name] = ch.Name
	} else if b.cfg.SubscribeAll {
		b.rooms[ch.Name] = struct{}{}
	}
	b.mu.Unlock()
	if b.cfg.SubscribeAll {
		return nil // Start subscribed to everything; receive filters
	}
	return b.subscribeKey(ctx, key)
}

// Unsubscribe ends a subscription; envelopes already in flight may still
// arrive.
func (b *Broker) Unsubscribe(ctx context.Context, ch hub.Channel) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if !b.started.Load() {
		return ErrNotStarted
	}
	key, err := b.key(ch)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if key.kind == patternSub {
		delete(b.topics, key.name)
	} else {
		delete(b.rooms, ch.Name)
	}
	b.mu.Unlock()
	if b.cfg.SubscribeAll {
		return nil
	}
	s, err := b.subscriberFor(ctx, key)
	if err != nil {
		return err
	}
	return s.unsubscribe(ctx, key)
}

func (b *Broker) subscribeKey(ctx context.Context, key subKey) error {
	s, err := b.subscriberFor(ctx, key)
	if err != nil {
		return err
	}
	return s.subscribe(ctx, key)
}

// subscriberFor returns the connection that holds key: the main one, or on
// a Redis Cluster with Sharded, the one for the shard that owns the
// channel's slot (started on first use).
func (b *Broker) subscriberFor(ctx context.Context, key subKey) (*subscriber, error) {
	if key.kind != shardSub || b.cluster == nil {
		return b.main, nil
	}
	master, err := b.cluster.MasterForKey(ctx, key.name)
	if err != nil {
		return nil, fmt.Errorf("%w: shard of %s: %v", ErrDisconnected, key.name, err)
	}
	addr := master.Options().Addr
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil, ErrClosed
	}
	s := b.shards[addr]
	if s == nil {
		s = newSubscriber(b, func(ctx context.Context) *redis.PubSub { return b.cluster.SSubscribe(ctx) })
		b.shards[addr] = s
		s.start()
	}
	return s, nil
}

// Close stops every goroutine of the broker and closes its subscriber
// connections; it does not wait for Redis (the connections are closed, not
// drained) and does not close Config.Client. Once it returns the broker
// calls no method of its host. Calling it again does nothing.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		b.cancel()
		b.mu.Lock()
		subs := make([]*subscriber, 0, 1+len(b.shards))
		if b.main != nil {
			subs = append(subs, b.main)
		}
		for _, s := range b.shards {
			subs = append(subs, s)
		}
		b.mu.Unlock()
		for _, s := range subs {
			s.close()
		}
		b.wg.Wait()
	})
	return nil
}

// subDown and subUp keep host.Disconnected and host.Reconnected
// alternating, starting with Disconnected, however many subscriber
// connections go down and up.
func (b *Broker) subDown(err error) {
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	b.downSubs++
	b.stats.disconnects.Add(1)
	if b.downSubs == 1 {
		b.disconnected.Store(true)
		b.cfg.Logger.Warn("redisbroker: lost redis; reconnecting", "node", b.node, "err", err)
		b.host.Disconnected(fmt.Errorf("%w: %v", ErrDisconnected, err))
	}
}

func (b *Broker) subUp() {
	b.notifyMu.Lock()
	defer b.notifyMu.Unlock()
	b.downSubs--
	if b.downSubs == 0 {
		b.disconnected.Store(false)
		b.stats.reconnects.Add(1)
		b.cfg.Logger.Info("redisbroker: reconnected and resubscribed", "node", b.node)
		b.host.Reconnected()
	}
}
