package origin

import (
	"errors"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// hostProfile maps a host name to its canonical ASCII form the way browsers
// do (UTS #46 non-transitional mapping: case folding, width folding,
// punycode). Like browsers it allows '_' and labels such as "r3---sn-x"
// (StrictDomainName and CheckHyphens off). It is never modified.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
)

var (
	errUserinfo  = errors.New("userinfo not allowed")
	errPath      = errors.New("path not allowed")
	errQuery     = errors.New("query not allowed")
	errFragment  = errors.New("fragment not allowed")
	errBadChar   = errors.New("invalid character")
	errEmptyHost = errors.New("empty host")
	errBadIPv6   = errors.New("invalid IPv6 literal")
	errBadIPv4   = errors.New("invalid IPv4 address")
	errBadPort   = errors.New("invalid port")
	errBadIDN    = errors.New("invalid international domain name")
	errBadLabel  = errors.New("empty label in host")
)

// parseAuthority parses "host[:port]" as found in an origin, a Host header or
// a Forwarded host= value. It returns the canonical host (see origin.host),
// the port as written (validated, "" when absent) and whether the host is an
// IP literal.
func parseAuthority(a string) (host, port string, ip bool, err error) {
	if len(a) > maxOriginLen {
		return "", "", false, errTooLong
	}
	// Name the structural tricks first, so the error says what was wrong.
	for i := 0; i < len(a); i++ {
		switch c := a[i]; {
		case c == '@':
			return "", "", false, errUserinfo
		case c == '/' || c == '\\':
			return "", "", false, errPath
		case c == '?':
			return "", "", false, errQuery
		case c == '#':
			return "", "", false, errFragment
		case c <= ' ' || c == 0x7f:
			return "", "", false, errBadChar
		}
	}
	if a == "" {
		return "", "", false, errEmptyHost
	}
	if a[0] == '[' {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", "", false, errBadIPv6
		}
		addr, perr := netip.ParseAddr(a[1:end])
		if perr != nil || !addr.Is6() || addr.Zone() != "" {
			return "", "", false, errBadIPv6
		}
		rest := a[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", false, errBadIPv6
			}
			if port, err = parsePort(rest[1:]); err != nil {
				return "", "", false, err
			}
		}
		return "[" + addr.String() + "]", port, true, nil
	}
	name := a
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		name = a[:i]
		if port, err = parsePort(a[i+1:]); err != nil {
			return "", "", false, err
		}
	}
	host, ip, err = canonicalName(name)
	if err != nil {
		return "", "", false, err
	}
	return host, port, ip, nil
}

// parsePort accepts a decimal port 1-65535 without leading zeros.
func parsePort(p string) (string, error) {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return "", errBadPort
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return "", errBadPort
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return "", errBadPort
	}
	return p, nil
}

// canonicalName returns the canonical form of a registered name or IPv4
// address: lower-case ASCII with international labels in punycode, so that
// "bücher.example", "BÜCHER.example" and "xn--bcher-kva.example" are equal.
func canonicalName(h string) (string, bool, error) {
	if h == "" {
		return "", false, errEmptyHost
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 0x80:
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_':
		default:
			return "", false, errBadChar
		}
	}
	if !utf8.ValidString(h) {
		return "", false, errBadChar
	}
	a, err := hostProfile.ToASCII(h)
	if err != nil {
		return "", false, errBadIDN
	}
	// Mapping can produce characters that were not in the input (U+FF0F
	// maps to '/', U+2100 to "a/c"): check the result, not only the input.
	for i := 0; i < len(a); i++ {
		c := a[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_':
		default:
			return "", false, errBadChar
		}
	}
	// One trailing dot is kept: "example.com." is a different origin from
	// "example.com" for a browser too.
	trimmed := strings.TrimSuffix(a, ".")
	if trimmed == "" {
		return "", false, errEmptyHost
	}
	last := trimmed
	for {
		i := strings.IndexByte(last, '.')
		if i < 0 {
			break
		}
		if i == 0 {
			return "", false, errBadLabel
		}
		last = last[i+1:]
	}
	if last == "" {
		return "", false, errBadLabel
	}
	if endsInNumber(last) {
		// Browsers read such a host as an IPv4 address and send it in
		// dotted-decimal form; accept only that form.
		addr, err := netip.ParseAddr(trimmed)
		if err != nil || !addr.Is4() {
			return "", false, errBadIPv4
		}
		return addr.String(), true, nil
	}
	return a, false, nil
}

// endsInNumber reports whether a host's last label makes a browser parse it
// as an IPv4 address (WHATWG URL "ends in a number"): all digits, or "0x"
// followed by hex digits.
func endsInNumber(label string) bool {
	if strings.HasPrefix(label, "0x") {
		for i := 2; i < len(label); i++ {
			c := label[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(label); i++ {
		if label[i] < '0' || label[i] > '9' {
			return false
		}
	}
	return true
}
