package origin

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/wsgate/wsgate/internal/forwarded"
)

// Policy says which Origins a Checker allows. Its zero value is the safe
// default: same-origin requests only, "null" refused, a missing Origin
// allowed, no proxy trusted.
type Policy struct {
	// AllowedOrigins lists origins allowed in addition to the request's own
	// (same-origin requests are always allowed). An entry is either an exact
	// origin, "https://app.example.com" or "http://localhost:8080", or a
	// wildcard over subdomains, "https://*.example.com" or
	// "https://*.example.com:8443".
	//
	// The scheme must match (ws counts as http, wss as https); hosts compare
	// case-insensitively and Unicode and punycode spellings of a host are
	// equal; a missing port means the scheme's default (http 80, https 443).
	// "*.example.com" matches a.example.com and a.b.example.com but not
	// example.com itself (list it too if wanted), nor evil-example.com.
	// Entries have no path, not even "/". "*" alone is refused (see
	// InsecureAllowAnyOrigin), so is a wildcard over a single label such as
	// "*.com" (except "*.localhost"); public suffixes such as "*.co.uk" are
	// not detected, so do not write them.
	//
	// Empty (the default): only same-origin requests are allowed.
	AllowedOrigins []string

	// AllowNull allows the literal Origin "null", which browsers send from
	// sandboxed iframes, file: pages and some redirects. Any site can
	// produce a "null" Origin, so allowing it allows every site. Default
	// false: refused.
	AllowNull bool

	// RefuseMissing refuses requests that carry no Origin header at all.
	//
	// Default false: a missing Origin is allowed. Browsers always send Origin
	// on a WebSocket handshake, and cross-site WebSocket hijacking needs a
	// browser (it abuses the cookies the browser attaches), so a request
	// without Origin comes from a non-browser client (a Go, CLI or mobile
	// client) that could set any Origin it liked anyway. Refusing it breaks
	// those clients and protects nothing. Set RefuseMissing to make an
	// endpoint browser-only.
	RefuseMissing bool

	// InsecureAllowAnyOrigin disables the check: every request is allowed,
	// whatever its Origin. Any web site the user visits can then open a
	// socket with the user's cookies. Use it only for endpoints that do not
	// authenticate with cookies (or other ambient credentials such as
	// client certificates). Default false.
	InsecureAllowAnyOrigin bool

	// TrustedProxies lists the networks of reverse proxies whose requests
	// may state the public host and scheme for the same-origin comparison,
	// with RFC 7239 Forwarded (host=, proto=) or X-Forwarded-Host and
	// X-Forwarded-Proto. For requests whose RemoteAddr is in none of them,
	// those headers are ignored.
	//
	// A trusted proxy must set these headers itself, replacing any the
	// client sent. Forwarded is read right to left: the nearest element
	// (added by the trusted peer) is used, and elements further left only
	// while their for= address is itself a trusted proxy; the leftmost
	// trusted host= and proto= win. Forwarded host=/proto= take precedence
	// over X-Forwarded-Host/-Proto; those must hold a single value (a list
	// is ambiguous: use Forwarded across several proxies). A malformed
	// header from a trusted proxy (for Forwarded: any RFC 7239 syntax
	// error, such as an unquoted for=192.0.2.1:80, or more than 32
	// elements or 8 KiB) makes the request's own origin unknown, so only
	// AllowedOrigins can allow it. The ratelimit package reads these
	// headers by the same rules; middleware.Config.TrustedProxies sets
	// both at once.
	//
	// IPv4-mapped prefixes (::ffff:10.0.0.0/104) count as their IPv4 form,
	// and so do IPv4-mapped peer addresses.
	//
	// Empty (the default): no proxy is trusted; the request's own origin is
	// r.Host with https when r.TLS is set, http otherwise.
	TrustedProxies []netip.Prefix
}

// A Checker applies a Policy to requests. It is immutable and safe for
// concurrent use. Build it with New.
type Checker struct {
	anyOrigin     bool
	allowNull     bool
	refuseMissing bool
	exact         map[origin]struct{}
	wildcards     []wildcard
	proxies       forwarded.Prefixes
	policy        Policy // a copy of what New was given, for Policy
}

// New validates p and returns a Checker for it. An invalid entry of
// AllowedOrigins or TrustedProxies gives an error that wraps ErrBadPattern
// and names the field, the index and the reason, such as
//
//	origin: bad pattern: AllowedOrigins[1] "https://example.com/": path not allowed
//
// New copies what it needs from p; changing p afterwards has no effect.
func New(p Policy) (*Checker, error) {
	c := &Checker{
		anyOrigin:     p.InsecureAllowAnyOrigin,
		allowNull:     p.AllowNull,
		refuseMissing: p.RefuseMissing,
		exact:         make(map[origin]struct{}, len(p.AllowedOrigins)),
	}
	for i, s := range p.AllowedOrigins {
		exact, wild, isWild, err := parsePattern(s)
		if err != nil {
			return nil, fmt.Errorf("%w: AllowedOrigins[%d] %s: %w", ErrBadPattern, i, quote(s), err)
		}
		if isWild {
			c.wildcards = append(c.wildcards, wild)
		} else {
			c.exact[exact] = struct{}{}
		}
	}
	proxies, err := forwarded.NewPrefixes(p.TrustedProxies)
	if err != nil {
		var pe *forwarded.PrefixError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: TrustedProxies[%d]: %s", ErrBadPattern, pe.Index, pe.Reason)
		}
		return nil, fmt.Errorf("%w: TrustedProxies: %w", ErrBadPattern, err)
	}
	c.proxies = proxies
	c.policy = p
	c.policy.AllowedOrigins = slices.Clone(p.AllowedOrigins)
	c.policy.TrustedProxies = slices.Clone(p.TrustedProxies)
	return c, nil
}

// Policy returns a copy of the policy c was built from, as given to New.
// Change the copy and pass it to New to derive a Checker with, for
// example, other TrustedProxies.
func (c *Checker) Policy() Policy {
	p := c.policy
	p.AllowedOrigins = slices.Clone(p.AllowedOrigins)
	p.TrustedProxies = slices.Clone(p.TrustedProxies)
	return p
}
