package origin

import (
	"errors"
	"strings"
)

// maxOriginLen bounds the length of an Origin value (or pattern, or host) the
// parser looks at. Real origins are far shorter: a host name has at most 253
// bytes.
const maxOriginLen = 1024

// An origin is the canonical form of a serialized origin (RFC 6454):
// compared field by field, two origins are the same exactly when a browser
// would consider them the same.
type origin struct {
	scheme string // lower case; ws folded to http, wss to https
	host   string // lower-case ASCII name (punycode), dotted IPv4, or "[IPv6]"
	port   string // decimal without leading zeros; the scheme's default filled in
	ip     bool   // host is an IP literal
}

// String returns the canonical serialization, with the port always written
// when it is known ("https://example.com:443").
func (o origin) String() string {
	if o.port == "" {
		return o.scheme + "://" + o.host
	}
	return o.scheme + "://" + o.host + ":" + o.port
}

var (
	errTooLong   = errors.New("too long")
	errNoScheme  = errors.New(`no "scheme://"`)
	errBadScheme = errors.New("invalid scheme")
)

// parseOrigin parses a serialized origin "scheme://host[:port]". It is strict:
// anything a browser would not send (userinfo, a path even "/", a query, a
// fragment, an empty or zero port, a non-canonical IPv4 form) is an error.
func parseOrigin(s string) (origin, error) {
	if len(s) > maxOriginLen {
		return origin{}, errTooLong
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return origin{}, errNoScheme
	}
	scheme, err := parseScheme(s[:i])
	if err != nil {
		return origin{}, err
	}
	host, port, ip, err := parseAuthority(s[i+3:])
	if err != nil {
		return origin{}, err
	}
	return origin{scheme: scheme, host: host, port: withDefaultPort(scheme, port), ip: ip}, nil
}

// parseScheme validates an RFC 3986 scheme, lower-cases it and folds the
// WebSocket schemes onto their HTTP equivalents: a page at https://host opens
// wss://host, and both name the same origin for this package.
func parseScheme(s string) (string, error) {
	if s == "" || len(s) > 32 {
		return "", errBadScheme
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return "", errBadScheme
		}
	}
	s = strings.ToLower(s)
	switch s {
	case "ws":
		return "http", nil
	case "wss":
		return "https", nil
	}
	return s, nil
}

// withDefaultPort returns port, or the scheme's default port when port is
// empty. Schemes other than http and https (after folding) have no default.
func withDefaultPort(scheme, port string) string {
	if port != "" {
		return port
	}
	switch scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}
