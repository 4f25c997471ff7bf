package ratelimit

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/wsgate/wsgate/internal/forwarded"
)

// Header names an [IPResolver] can read.
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderXRealIP       = "X-Real-IP"
	HeaderForwarded     = "Forwarded"
)

// IPResolver finds the client IP of a request behind trusted reverse
// proxies. It is immutable and safe for concurrent use. A nil *IPResolver
// is valid and always answers with the socket address.
type IPResolver struct {
	trusted forwarded.Prefixes
	headers []string // canonical, in order of precedence
}

// NewIPResolver returns a resolver that trusts forwarding headers only on
// requests whose TCP peer lies in one of the trusted prefixes (with no
// prefix, headers are never read and the socket address is the client).
//
// headers lists the headers to read, in order of precedence: the first
// one present on a request decides, the others are ignored. Accepted names
// are "X-Forwarded-For", "X-Real-IP" and "Forwarded" (any case). With no
// headers all three are read in that order.
//
// Name only the headers your proxies set or overwrite: a header a trusted
// proxy passes through unchanged is written by the client. With the
// default, a proxy that appends X-Forwarded-For but forwards a client's
// X-Real-IP untouched is safe (X-Forwarded-For wins), but a proxy that only
// sets X-Real-IP lets a client choose its address through X-Forwarded-For.
//
// IPv4-mapped prefixes (::ffff:10.0.0.0/104) are stored as IPv4 prefixes;
// an invalid prefix or unknown header is an error wrapping [ErrConfig].
func NewIPResolver(trusted []netip.Prefix, headers ...string) (*IPResolver, error) {
	set, err := forwarded.NewPrefixes(trusted)
	if err != nil {
		var pe *forwarded.PrefixError
		if errors.As(err, &pe) {
			return nil, configError("trusted["+strconv.Itoa(pe.Index)+"]", "%s", pe.Reason)
		}
		return nil, fmt.Errorf("%w: trusted: %w", ErrConfig, err)
	}
	r := &IPResolver{trusted: set}
	if len(headers) == 0 {
		headers = []string{HeaderXForwardedFor, HeaderXRealIP, HeaderForwarded}
	}
	for i, h := range headers {
		c := http.CanonicalHeaderKey(strings.TrimSpace(h))
		switch c {
		case http.CanonicalHeaderKey(HeaderXForwardedFor),
			http.CanonicalHeaderKey(HeaderXRealIP),
			http.CanonicalHeaderKey(HeaderForwarded):
		default:
			return nil, configError("headers["+strconv.Itoa(i)+"]", "%q is not one of X-Forwarded-For, X-Real-IP, Forwarded", h)
		}
		for _, seen := range r.headers {
			if seen == c {
				return nil, configError("headers["+strconv.Itoa(i)+"]", "%q is listed twice", h)
			}
		}
		r.headers = append(r.headers, c)
	}
	return r, nil
}

// ClientIP returns the client address of req. It is the socket address
// (r.RemoteAddr) unless that peer is trusted; then the configured header
// chain is walked from right to left, skipping trusted hops, and the first
// untrusted hop is the client. When every hop is trusted the leftmost one is
// returned. A malformed hop ("unknown", an obfuscated Forwarded node, an
// empty list element, garbage) stops the walk and the last good hop, which
// is a trusted proxy, is returned: a client cannot pick its address by
// sending something unparsable. A Forwarded header that breaks the RFC 7239
// grammar (an unquoted for=192.0.2.1:80 too), or holds more than 32
// elements or 8 KiB, is not read at all: the socket address is returned.
// The origin package reads these headers by the same rules.
//
// The result has IPv4-mapped addresses folded to IPv4 and no IPv6 zone. It
// is the zero netip.Addr only if r.RemoteAddr itself cannot be parsed (for
// example on a Unix socket listener).
func (r *IPResolver) ClientIP(req *http.Request) netip.Addr {
	peer, ok := forwarded.ParseRemoteAddr(req.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if r == nil || !r.trusted.Contains(peer) {
		return peer
	}
	for _, h := range r.headers {
		values := req.Header[h]
		if len(values) == 0 {
			continue
		}
		switch h {
		case "X-Forwarded-For":
			return r.trusted.WalkXFF(peer, values)
		case "Forwarded":
			els, err := forwarded.Parse(values)
			if err != nil {
				return peer
			}
			client, _ := r.trusted.WalkForwarded(peer, els)
			return client
		default: // X-Real-Ip
			// A single-hop header set by the proxy in front of us: the last
			// value is the one written closest to us.
			if ip, ok := forwarded.ParseAddr(values[len(values)-1]); ok {
				return ip
			}
			return peer
		}
	}
	return peer
}

// Trusted reports whether ip lies in one of the trusted prefixes.
func (r *IPResolver) Trusted(ip netip.Addr) bool {
	return r != nil && r.trusted.Contains(ip)
}

// normalize folds IPv4-mapped IPv6 to IPv4 and drops the IPv6 zone, so that
// one host has one key and cannot alias a trusted address.
func normalize(ip netip.Addr) netip.Addr { return forwarded.Normalize(ip) }
