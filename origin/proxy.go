package origin

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/wsgate/wsgate/internal/forwarded"
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
	if peer, ok := forwarded.ParseRemoteAddr(r.RemoteAddr); ok && c.proxies.Contains(peer) {
		fh, fp, err := c.forwardedHostProto(peer, r.Header.Values("Forwarded"))
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

// forwardedHostProto reads the Forwarded lines of a request from a trusted
// peer: the elements the trusted proxies wrote (see
// forwarded.Prefixes.WalkForwarded) are read right to left, and the
// leftmost host= and proto= among them win.
func (c *Checker) forwardedHostProto(peer netip.Addr, lines []string) (host, proto string, err error) {
	if len(lines) == 0 {
		return "", "", nil
	}
	els, err := forwarded.Parse(lines)
	if err != nil {
		return "", "", err
	}
	_, vouched := c.proxies.WalkForwarded(peer, els)
	for i := len(els) - 1; i >= len(els)-vouched; i-- {
		if e := els[i]; e.Host != "" {
			host = e.Host
		}
		if e := els[i]; e.Proto != "" {
			proto = e.Proto
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
