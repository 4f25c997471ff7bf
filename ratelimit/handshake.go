package ratelimit

import (
	"container/list"
	"math"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateConfig configures a [HandshakeLimiter]. The zero value limits nothing.
type RateConfig struct {
	// Rate is how many handshakes per second one IP may sustain. Zero
	// means no limit; rate.Inf is accepted too.
	Rate rate.Limit
	// Burst is how many handshakes one IP may make at once. It must be
	// positive when Rate is set (and finite).
	Burst int
	// MaxKeys bounds how many IPs have a bucket. When the table is full the
	// least recently seen IP is forgotten; if it returns it starts with a
	// full bucket, as any new address would, so a flood of addresses gains
	// nothing it did not have already. Zero means DefaultMaxKeys (100000).
	MaxKeys int
	// IdleTTL forgets a bucket unused this long. It is raised to the time
	// an empty bucket takes to refill (Burst/Rate), so forgetting a bucket
	// never hands out tokens early. Zero means DefaultIdleTTL (10m).
	IdleTTL time.Duration
	// IPv6Prefix is the prefix length an IPv6 client is keyed under: every
	// address in one /IPv6Prefix network shares one bucket (and one of
	// MaxKeys), so a client holding a /64 cannot get a fresh burst from
	// each address. IPv4 clients are keyed per address. Zero means
	// DefaultIPv6Prefix (64); 128 keys each IPv6 address on its own. It
	// must be 0 to 128.
	IPv6Prefix int
	// Resolver finds the client IP in [Handshakes]. Nil means the address
	// stored by [RealIP] if it ran, else the socket address. Requests whose
	// address cannot be parsed (a Unix socket listener) share one bucket.
	Resolver *IPResolver
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// HandshakeLimiter is a token bucket per client IP, for the rate of new
// connections. Idle buckets are evicted lazily (on the next Allow, in
// order of last use), so it needs no goroutine. Safe for concurrent use.
type HandshakeLimiter struct {
	cfg RateConfig
	ttl time.Duration // effective idle TTL

	mu   sync.Mutex
	keys map[netip.Addr]*list.Element // by ipKey, of *ipBucket
	lru  list.List                    // front: most recently used
}

type ipBucket struct {
	ip   netip.Addr
	lim  *rate.Limiter
	last time.Time
}

// NewHandshakeLimiter validates cfg, applies its defaults and returns a
// limiter.
func NewHandshakeLimiter(cfg RateConfig) (*HandshakeLimiter, error) {
	if err := validateRate("RateConfig.Rate", cfg.Rate, "RateConfig.Burst", cfg.Burst); err != nil {
		return nil, err
	}
	if cfg.MaxKeys < 0 {
		return nil, configError("RateConfig.MaxKeys", "must not be negative, got %d", cfg.MaxKeys)
	}
	if cfg.IdleTTL < 0 {
		return nil, configError("RateConfig.IdleTTL", "must not be negative, got %v", cfg.IdleTTL)
	}
	bits, err := ipv6Bits("RateConfig.IPv6Prefix", cfg.IPv6Prefix)
	if err != nil {
		return nil, err
	}
	cfg.IPv6Prefix = bits
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.IdleTTL == 0 {
		cfg.IdleTTL = DefaultIdleTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &HandshakeLimiter{cfg: cfg, ttl: cfg.IdleTTL, keys: make(map[netip.Addr]*list.Element)}
	if limited(cfg.Rate) {
		l.ttl = max(l.ttl, seconds(float64(cfg.Burst)/float64(cfg.Rate)))
	}
	return l, nil
}

// validateRate checks a rate and its burst: neither negative, and a
// positive burst whenever the rate is finite and positive.
func validateRate(rateField string, r rate.Limit, burstField string, burst int) error {
	if r < 0 || math.IsNaN(float64(r)) {
		return configError(rateField, "must not be negative, got %v", r)
	}
	if burst < 0 {
		return configError(burstField, "must not be negative, got %d", burst)
	}
	if limited(r) && burst == 0 {
		return configError(burstField, "must be positive when %s is set", rateField)
	}
	return nil
}

// seconds converts s seconds to a Duration, rounding up and saturating
// instead of overflowing.
func seconds(s float64) time.Duration {
	ns := math.Ceil(s * float64(time.Second))
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// limited reports whether r is a real limit (zero and rate.Inf are not).
func limited(r rate.Limit) bool { return r > 0 && r != rate.Inf }

// Allow takes a token from the bucket of ip's key (the address for IPv4,
// its RateConfig.IPv6Prefix network for IPv6). When none is left it
// returns false and how long until one will be.
func (l *HandshakeLimiter) Allow(ip netip.Addr) (ok bool, retryAfter time.Duration) {
	if !limited(l.cfg.Rate) {
		return true, 0
	}
	ip = ipKey(ip, l.cfg.IPv6Prefix)
	now := l.cfg.Now()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictIdle(now)
	var b *ipBucket
	if e, found := l.keys[ip]; found {
		b = e.Value.(*ipBucket)
		l.lru.MoveToFront(e)
	} else {
		if len(l.keys) >= l.cfg.MaxKeys {
			oldest := l.lru.Back()
			delete(l.keys, oldest.Value.(*ipBucket).ip)
			l.lru.Remove(oldest)
		}
		b = &ipBucket{ip: ip, lim: rate.NewLimiter(l.cfg.Rate, l.cfg.Burst)}
		l.keys[ip] = l.lru.PushFront(b)
	}
	b.last = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.lim.TokensAt(now)
	return false, max(seconds(missing/float64(l.cfg.Rate)), time.Nanosecond)
}

// evictIdle drops buckets unused for the idle TTL, oldest first. l.mu is
// held. Each bucket is dropped once, so the cost is amortised over Allow.
func (l *HandshakeLimiter) evictIdle(now time.Time) {
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		b := e.Value.(*ipBucket)
		if now.Sub(b.last) < l.ttl {
			return
		}
		delete(l.keys, b.ip)
		l.lru.Remove(e)
	}
}

// Len returns how many IPs have a bucket; it never exceeds MaxKeys.
func (l *HandshakeLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// Handshakes returns a middleware that spends one token of the client
// IP's bucket per request. A refused request gets 429 Too Many Requests, a
// Retry-After header (whole seconds, rounded up) and a one-line reason.
func Handshakes(l *HandshakeLimiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ok, retry := l.Allow(requestIP(l.cfg.Resolver, r)); !ok {
				refuse(w, http.StatusTooManyRequests, &LimitError{Scope: ScopeHandshake, RetryAfter: retry, err: ErrRateLimited})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
