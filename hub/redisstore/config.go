package redisstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Config configures a Store. Client is required; every other field's zero
// value means its documented default.
type Config struct {
	// Client is the connection to Redis: a *redis.Client, a
	// *redis.ClusterClient or a Sentinel-backed failover client (Redis 6.2
	// or later). Every Append and Read is one script call on its pool. The
	// caller owns it: Close does not close it. Its retry settings
	// (MaxRetries) apply to the store's calls too. Required.
	Client redis.UniversalClient
	// Prefix starts every key name, so several applications (or several
	// clusters of one application) can share one Redis. At most 64 bytes,
	// without spaces or control characters. Every node of a cluster must
	// use the same. Empty means "wsgate" (the keys then sit beside
	// redisbroker's, which uses other names under the same prefix).
	Prefix string
}

// Errors the store returns, wrapped with details.
var (
	// ErrConfig wraps every error New returns for a bad Config.
	ErrConfig = errors.New("redisstore: bad config")
	// ErrReply wraps the error for an answer from Redis the store cannot
	// read (a key of the room overwritten by something else).
	ErrReply = errors.New("redisstore: unexpected reply")
)

const (
	defaultPrefix = "wsgate"
	maxPrefix     = 64
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = defaultPrefix
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
	}
	return nil
}
