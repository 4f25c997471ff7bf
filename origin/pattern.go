package origin

import (
	"errors"
	"strings"
)

// A wildcard allows every subdomain of suffix (at any depth, but not suffix
// itself) for one scheme and port.
type wildcard struct {
	scheme string
	suffix string // canonical host, without the "*."
	port   string
}

// match reports whether o is a proper subdomain of w's suffix with the same
// scheme and port. IP literals never match.
func (w wildcard) match(o origin) bool {
	if o.ip || o.scheme != w.scheme || o.port != w.port {
		return false
	}
	// The label boundary matters: "evil-example.com" must not match
	// "*.example.com", and "a.example.com.evil.com" ends with "evil.com".
	// Canonical hosts have no empty labels, so the prefix is a real label.
	return len(o.host) > len(w.suffix)+1 &&
		strings.HasSuffix(o.host, w.suffix) &&
		o.host[len(o.host)-len(w.suffix)-1] == '.'
}

var (
	errPatternStar   = errors.New(`"*" alone is not a pattern: set InsecureAllowAnyOrigin to allow every origin`)
	errPatternNull   = errors.New(`"null" is not a pattern: set AllowNull to allow the null origin`)
	errPatternWild   = errors.New(`"*" is only allowed as the whole leftmost label, as in "https://*.example.com"`)
	errPatternWildIP = errors.New("a wildcard needs a domain name, not an IP address")
	errPatternTLD    = errors.New(`a wildcard over a top-level domain allows too much: use at least two labels after "*."`)
)

// parsePattern parses one entry of Policy.AllowedOrigins: an exact origin
// ("https://app.example.com") or a wildcard ("https://*.example.com:8443").
// Exactly one of the results is meaningful, as told by isWild.
func parsePattern(p string) (exact origin, wild wildcard, isWild bool, err error) {
	switch p {
	case "*":
		return origin{}, wildcard{}, false, errPatternStar
	case "null":
		return origin{}, wildcard{}, false, errPatternNull
	}
	i := strings.Index(p, "://")
	if i < 0 {
		return origin{}, wildcard{}, false, errNoScheme
	}
	scheme, err := parseScheme(p[:i])
	if err != nil {
		return origin{}, wildcard{}, false, err
	}
	rest := p[i+3:]
	if !strings.HasPrefix(rest, "*.") {
		if strings.Contains(rest, "*") {
			return origin{}, wildcard{}, false, errPatternWild
		}
		exact, err = parseOrigin(p)
		return exact, wildcard{}, false, err
	}
	rest = rest[2:]
	if strings.Contains(rest, "*") {
		return origin{}, wildcard{}, false, errPatternWild
	}
	host, port, ip, err := parseAuthority(rest)
	if err != nil {
		return origin{}, wildcard{}, false, err
	}
	if ip {
		return origin{}, wildcard{}, false, errPatternWildIP
	}
	if !strings.Contains(strings.TrimSuffix(host, "."), ".") && host != "localhost" {
		return origin{}, wildcard{}, false, errPatternTLD
	}
	return origin{}, wildcard{scheme: scheme, suffix: host, port: withDefaultPort(scheme, port)}, true, nil
}
