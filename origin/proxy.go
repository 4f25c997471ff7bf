package origin

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// selfOrigin returns the request's own origin: the origin a page served by
// this request's URL would have. From a trusted proxy it honours Forwarded
// host=/proto= and X-Forwarded-Host/-Proto (see Policy.TrustedProxies).
func (c *Checker) selfOrigin(r *http.Request) (origin, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if c.trustedPeer(r.RemoteAddr) {
		fh, fp, err := c.forwardedHostProto(r.Header.Values("Forwarded"))
		if err != nil {
			return origin{}, fmt.Errorf("trusted proxy's Forwarded header: %w", err)
		}
		if fh == "" {
			if fh, err = singleValue(r.Header, "X-Forwarded-Host"); err != nil {
				return origin{}, err
			}
		}
		if fp == "" {
			if fp, err = singleValue(r.Header, "X-Forwarded-Proto"); err != nil {
				return origin{}, err
			}
		}
		if fh != "" {
			host = fh
		}
		if fp != "" {
			scheme = fp
		}
	}
	s, err := parseScheme(scheme)
	if err != nil {
		return origin{}, fmt.Errorf("scheme %s: %w", quote(scheme), err)
	}
	h, port, ip, err := parseAuthority(host)
	if err != nil {
		return origin{}, fmt.Errorf("host %s: %w", quote(host), err)
	}
	return origin{scheme: s, host: h, port: withDefaultPort(s, port), ip: ip}, nil
}

// trustedPeer reports whether remoteAddr ("ip:port", or a bare ip) is in one
// of the trusted proxy networks.
func (c *Checker) trustedPeer(remoteAddr string) bool {
	if len(c.proxies) == 0 {
		return false
	}
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(remoteAddr); err == nil {
		addr = a
	} else {
		return false
	}
	return c.trustedAddr(addr.WithZone("").Unmap())
}

func (c *Checker) trustedAddr(a netip.Addr) bool {
	for _, p := range c.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedHostProto walks the Forwarded elements from the right (the one
// the trusted peer added) to the left while each element's for= is itself a
// trusted proxy, and returns the leftmost trusted host= and proto= seen.
func (c *Checker) forwardedHostProto(lines []string) (host, proto string, err error) {
	if len(lines) == 0 {
		return "", "", nil
	}
	els, err := parseForwarded(lines)
	if err != nil {
		return "", "", err
	}
	for i := len(els) - 1; i >= 0; i-- {
		e := els[i]
		if e.host != "" {
			host = e.host
		}
		if e.proto != "" {
			proto = e.proto
		}
		addr, ok := parseNode(e.forNode)
		if !ok || !c.trustedAddr(addr) {
			break
		}
	}
	return host, proto, nil
}

var errListValue = errors.New("more than one value")

// singleValue returns the one value of an X-Forwarded-* header, "" when it
// is absent, and an error when it is repeated or holds a list.
func singleValue(h http.Header, name string) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1 || strings.IndexByte(vs[0], ',') >= 0:
		return "", fmt.Errorf("%s header from trusted proxy: %w", name, errListValue)
	}
	v := strings.TrimSpace(vs[0])
	if v == "" {
		return "", fmt.Errorf("%s header from trusted proxy: empty", name)
	}
	return v, nil
}
