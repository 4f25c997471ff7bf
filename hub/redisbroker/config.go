package redisbroker

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config configures a Broker. Client is required; every other field's zero
// value means its documented default.
type Config struct {
	// Client is the connection to Redis: a *redis.Client, a
	// *redis.ClusterClient or a Sentinel-backed failover client. The broker
	// takes one connection of it per subscriber (one, or with Sharded on a
	// Cluster one per shard owning a subscribed channel) and uses its pool
	// to publish. The caller owns it: Close does not close it. Required.
	Client redis.UniversalClient
	// Prefix starts every channel and key name, so several applications
	// (or several clusters of one application) can share one Redis. At most
	// 64 bytes, without spaces or control characters. Empty means "wsgate".
	Prefix string
	// Sharded uses sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis 7 or later)
	// for the all, node and room channels, so that a Redis Cluster keeps
	// each channel's traffic on the shard that owns it instead of
	// broadcasting every message to every shard. Topic patterns still use
	// PSUBSCRIBE. Every node of a cluster must agree on it. False means
	// classic pub/sub, which every Redis version has.
	Sharded bool
	// SubscribeAll turns per-room interest off: at Start the node subscribes
	// to every room and topic channel under Prefix (two PSUBSCRIBE globs)
	// and Subscribe and Unsubscribe only change which of them the broker
	// hands to its hub, without a round trip to Redis. The hub still gets
	// only what its sessions need, but Redis sends every node all the
	// traffic (counted in Stats.Filtered): it is the "every node gets
	// everything" baseline of the cluster benchmark, and costs each node
	// the whole cluster's bandwidth. It cannot be combined with Sharded.
	// False means per-room interest: a node receives a room's traffic only
	// while it has a member.
	SubscribeAll bool
	// HealthInterval is how long a subscriber connection may be silent
	// before the broker sends it a PING, and then how long the answer may
	// take before the connection is declared lost (Disconnected). A killed
	// or restarted server is noticed at once, without it; it catches a
	// server that stopped answering. Zero means 5s.
	HealthInterval time.Duration
	// ConnectTimeout bounds Start: connecting and the server's confirmation
	// of the node's own subscriptions. Zero means 10s.
	ConnectTimeout time.Duration
	// MaxBackoff caps the wait between two reconnection attempts, which
	// starts at 50ms and doubles. Zero means 2s.
	MaxBackoff time.Duration
	// Logger receives the broker's diagnostics (lost connections,
	// malformed envelopes). Nil means silent.
	Logger *slog.Logger
}

// Errors the broker returns, wrapped with details.
var (
	// ErrConfig wraps every error New returns for a bad Config.
	ErrConfig = errors.New("redisbroker: bad config")
	// ErrDisconnected is returned by Publish, Subscribe and Unsubscribe
	// while the broker has lost Redis and is reconnecting.
	ErrDisconnected = errors.New("redisbroker: disconnected from redis")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("redisbroker: closed")
	// ErrNotStarted is returned by Publish, Subscribe and Unsubscribe
	// called before Start.
	ErrNotStarted = errors.New("redisbroker: not started")
	// ErrUnroutable wraps the error Publish and Subscribe return for an
	// envelope or channel the broker cannot name: an unknown Kind, or a
	// ToSession target whose session ID has no node part.
	ErrUnroutable = errors.New("redisbroker: cannot route")
)

const (
	defaultPrefix         = "wsgate"
	defaultHealthInterval = 5 * time.Second
	defaultConnectTimeout = 10 * time.Second
	defaultMaxBackoff     = 2 * time.Second
	minBackoff            = 50 * time.Millisecond
	maxPrefix             = 64
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = defaultPrefix
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = defaultHealthInterval
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = defaultConnectTimeout
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = defaultMaxBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate checks a Config whose defaults are set.
func (c Config) validate() error {
	bad := func(field, why string) error {
		return fmt.Errorf("%w: %s %s", ErrConfig, field, why)
	}
	switch {
	case c.Client == nil:
		return bad("Client", "is required")
	case len(c.Prefix) > maxPrefix:
		return bad("Prefix", fmt.Sprintf("must be at most %d bytes", maxPrefix))
	case strings.ContainsFunc(c.Prefix, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\uFFFD' }):
		return bad("Prefix", "has a space, control character or invalid UTF-8")
	case c.SubscribeAll && c.Sharded:
		return bad("SubscribeAll", "cannot be combined with Sharded (Redis has no sharded patterns)")
	case c.HealthInterval < 0:
		return bad("HealthInterval", "must not be negative")
	case c.ConnectTimeout < 0:
		return bad("ConnectTimeout", "must not be negative")
	case c.MaxBackoff < 0:
		return bad("MaxBackoff", "must not be negative")
	}
	return nil
}
