package ratelimit

import (
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Defaults applied to zero ConnConfig and RateConfig fields.
const (
	DefaultRetryAfter = 5 * time.Second
	DefaultMaxKeys    = 100_000
	DefaultIdleTTL    = 10 * time.Minute
)

// ConnConfig configures a [ConnLimiter]. The zero value limits nothing.
type ConnConfig struct {
	// Max is the number of live connections the whole limiter admits.
	// Zero means no global limit.
	Max int
	// PerIP is the number of live connections one client IP may hold.
	// Zero means no per-IP limit.
	PerIP int
	// PerUser is the number of live connections one user may hold.
	// Zero means no per-user limit.
	PerUser int
	// RetryAfter is what refusals advise in Retry-After (rounded up to
	// whole seconds). Zero means DefaultRetryAfter (5s).
	RetryAfter time.Duration
	// MaxKeys bounds how many distinct IPs, and separately how many
	// distinct users, are tracked. Only keys with live connections are
	// tracked (a key is dropped when its last connection ends), so a full
	// table is never trimmed: a new key is refused with 503 until a
	// tracked key's connections end. Zero means DefaultMaxKeys (100000).
	MaxKeys int
	// IPv6Prefix is the prefix length an IPv6 client is counted under for
	// PerIP and MaxKeys: every address in one /IPv6Prefix network shares
	// one budget, since a single client commonly holds a whole /64 and
	// could otherwise open PerIP connections from each of 2^64 addresses.
	// IPv4 clients are counted per address. Zero means DefaultIPv6Prefix
	// (64); 128 counts each IPv6 address on its own. It must be 0 to 128.
	IPv6Prefix int
	// Resolver finds the client IP in [Connections]. Nil means the address
	// stored by [RealIP] if it ran, else the socket address. Requests whose
	// address cannot be parsed (a Unix socket listener) share one key.
	Resolver *IPResolver
}

// ConnLimiter counts live connections globally, per IP and per user. It is
// safe for concurrent use; its lock is never held while calling out.
type ConnLimiter struct {
	cfg ConnConfig

	mu     sync.Mutex
	active int
	ips    map[netip.Addr]int // by ipKey; nil when PerIP is 0; entries > 0
	users  map[string]int     // nil when PerUser is 0; entries > 0
}

// NewConnLimiter validates cfg, applies its defaults and returns a limiter.
func NewConnLimiter(cfg ConnConfig) (*ConnLimiter, error) {
	for _, f := range []struct {
		name string
		v    int
	}{{"ConnConfig.Max", cfg.Max}, {"ConnConfig.PerIP", cfg.PerIP}, {"ConnConfig.PerUser", cfg.PerUser}, {"ConnConfig.MaxKeys", cfg.MaxKeys}} {
		if f.v < 0 {
			return nil, configError(f.name, "must not be negative, got %d", f.v)
		}
	}
	if cfg.RetryAfter < 0 {
		return nil, configError("ConnConfig.RetryAfter", "must not be negative, got %v", cfg.RetryAfter)
	}
	bits, err := ipv6Bits("ConnConfig.IPv6Prefix", cfg.IPv6Prefix)
	if err != nil {
		return nil, err
	}
	cfg.IPv6Prefix = bits
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.MaxKeys == 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	l := &ConnLimiter{cfg: cfg}
	if cfg.PerIP > 0 {
		l.ips = make(map[netip.Addr]int)
	}
	if cfg.PerUser > 0 {
		l.users = make(map[string]int)
	}
	return l, nil
}

// Acquire takes a global, a per-IP and (unless user is "") a per-user
// slot, all or nothing. The per-IP slot is counted under ip's key: the
// address for IPv4, its ConnConfig.IPv6Prefix network for IPv6. The returned release gives them back; it is
// idempotent and safe to call from any goroutine, so `defer release()` is
// enough on every path. A refusal is a [*LimitError] wrapping
// [ErrTooManyConnections] whose Scope says which limit was hit.
func (l *ConnLimiter) Acquire(ip netip.Addr, user string) (release func(), err error) {
	return l.acquire(true, true, ipKey(ip, l.cfg.IPv6Prefix), user)
}

// AcquireUser takes only a per-user slot, for a caller that already holds
// the global and per-IP slots (as [Users] does after [Connections]). With
// user "" or PerUser zero it always succeeds.
func (l *ConnLimiter) AcquireUser(user string) (release func(), err error) {
	return l.acquire(false, false, netip.Addr{}, user)
}

func (l *ConnLimiter) acquire(global, perIP bool, ip netip.Addr, user string) (func(), error) {
	perIP = perIP && l.ips != nil
	perUser := user != "" && l.users != nil

	l.mu.Lock()
	if err := l.check(global, perIP, ip, perUser, user); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	if global {
		l.active++
	}
	if perIP {
		l.ips[ip]++
	}
	if perUser {
		l.users[user]++
	}
	l.mu.Unlock()

	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if global {
				l.active--
			}
			if perIP {
				if n := l.ips[ip] - 1; n > 0 {
					l.ips[ip] = n
				} else {
					delete(l.ips, ip)
				}
			}
			if perUser {
				if n := l.users[user] - 1; n > 0 {
					l.users[user] = n
				} else {
					delete(l.users, user)
				}
			}
		})
	}, nil
}

// check reports the first limit the acquisition would break. l.mu is held.
func (l *ConnLimiter) check(global, perIP bool, ip netip.Addr, perUser bool, user string) error {
	if global && l.cfg.Max > 0 && l.active >= l.cfg.Max {
		return l.refusal(ScopeGlobal, l.cfg.Max)
	}
	if perIP {
		n, ok := l.ips[ip]
		if n >= l.cfg.PerIP {
			return l.refusal(ScopePerIP, l.cfg.PerIP)
		}
		if !ok && len(l.ips) >= l.cfg.MaxKeys {
			return l.refusal(ScopeIPTable, l.cfg.MaxKeys)
		}
	}
	if perUser {
		n, ok := l.users[user]
		if n >= l.cfg.PerUser {
			return l.refusal(ScopePerUser, l.cfg.PerUser)
		}
		if !ok && len(l.users) >= l.cfg.MaxKeys {
			return l.refusal(ScopeUserTable, l.cfg.MaxKeys)
		}
	}
	return nil
}

func (l *ConnLimiter) refusal(scope Scope, limit int) error {
	return &LimitError{Scope: scope, Max: limit, RetryAfter: l.cfg.RetryAfter, err: ErrTooManyConnections}
}

// Active returns the number of global slots held: live connections
// admitted by [Connections] or [ConnLimiter.Acquire].
func (l *ConnLimiter) Active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active
}

// Tracked returns how many distinct IPs and users currently hold slots;
// each is at most ConnConfig.MaxKeys.
func (l *ConnLimiter) Tracked() (ips, users int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ips), len(l.users)
}

// Connections returns a middleware that holds a global and a per-IP slot
// of l while next runs, and gives them back when next returns or panics.
// A WebSocket handler returns when its session ends, so the slots count
// live sessions. A refused request gets 503 Service Unavailable, a
// Retry-After header and a one-line reason naming the limit.
func Connections(l *ConnLimiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			release, err := l.Acquire(requestIP(l.cfg.Resolver, r), "")
			if err != nil {
				refuse(w, http.StatusServiceUnavailable, err)
				return
			}
			r, hs := withHold(r, release)
			defer hs.releaseUnlessDetached(release)
			next.ServeHTTP(w, r)
		})
	}
}

// Users returns a middleware that holds a per-user slot of l while next
// runs. Place it after authentication; user extracts the authenticated
// user from the request ("" means anonymous: no per-user limit). Refusals
// are answered like [Connections]'. Users panics if user is nil.
func Users(l *ConnLimiter, user func(*http.Request) string) func(http.Handler) http.Handler {
	if user == nil {
		panic("ratelimit: Users needs a user function")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			release, err := l.AcquireUser(user(r))
			if err != nil {
				refuse(w, http.StatusServiceUnavailable, err)
				return
			}
			r, hs := withHold(r, release)
			defer hs.releaseUnlessDetached(release)
			next.ServeHTTP(w, r)
		})
	}
}
