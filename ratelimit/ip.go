package ratelimit

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
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
	trusted []netip.Prefix
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
	r := &IPResolver{trusted: make([]netip.Prefix, 0, len(trusted))}
	for i, p := range trusted {
		if !p.IsValid() {
			return nil, configError("trusted["+strconv.Itoa(i)+"]", "is not a valid prefix")
		}
		if p.Addr().Zone() != "" {
			return nil, configError("trusted["+strconv.Itoa(i)+"]", "must not have an IPv6 zone")
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
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
// sending something unparsable.
//
// The result has IPv4-mapped addresses folded to IPv4 and no IPv6 zone. It
// is the zero netip.Addr only if r.RemoteAddr itself cannot be parsed (for
// example on a Unix socket listener).
func (r *IPResolver) ClientIP(req *http.Request) netip.Addr {
	peer, ok := parseRemoteAddr(req.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if r == nil || !r.isTrusted(peer) {
		return peer
	}
	for _, h := range r.headers {
		values := req.Header[h]
		if len(values) == 0 {
			continue
		}
		switch h {
		case "X-Forwarded-For":
			return r.walkXFF(peer, values)
		case "Forwarded":
			return r.walkForwarded(peer, values)
		default: // X-Real-Ip
			// A single-hop header set by the proxy in front of us: the last
			// value is the one written closest to us.
			if ip, ok := parseXFFElement(values[len(values)-1]); ok {
				return ip
			}
			return peer
		}
	}
	return peer
}

// Trusted reports whether ip lies in one of the trusted prefixes.
func (r *IPResolver) Trusted(ip netip.Addr) bool {
	return r != nil && r.isTrusted(normalize(ip))
}

func (r *IPResolver) isTrusted(ip netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// walkXFF walks X-Forwarded-For values from the last element of the last
// header line to the first element of the first line, without allocating.
func (r *IPResolver) walkXFF(last netip.Addr, values []string) netip.Addr {
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for {
			j := strings.LastIndexByte(v, ',')
			ip, ok := parseXFFElement(v[j+1:])
			if !ok {
				return last
			}
			if !r.isTrusted(ip) {
				return ip
			}
			last = ip
			if j < 0 {
				break
			}
			v = v[:j]
		}
	}
	return last
}

// parseXFFElement parses one X-Forwarded-For or X-Real-IP element: an IP,
// optionally with a port ("1.2.3.4:80", "[2001:db8::1]:443") or bracketed.
func parseXFFElement(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " \t")
	if ip, err := netip.ParseAddr(s); err == nil {
		return normalize(ip), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr()), true
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if ip, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && ip.Is6() {
			return normalize(ip), true
		}
	}
	return netip.Addr{}, false
}

// parseRemoteAddr parses http.Request.RemoteAddr ("ip:port", or a bare IP
// as some test tools and wrappers set it).
func parseRemoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr()), true
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return normalize(ip), true
	}
	return netip.Addr{}, false
}

// normalize folds IPv4-mapped IPv6 to IPv4 and drops the IPv6 zone, so that
// one host has one key and cannot alias a trusted address.
func normalize(ip netip.Addr) netip.Addr {
	return ip.Unmap().WithZone("")
}
