package ratelimit

import (
	"net/netip"
	"strings"
)

// maxForwardedHops is how many of the rightmost Forwarded elements are
// kept for the right-to-left walk. A chain with more elements than this,
// all trusted, ends the walk at the last good hop (fail closed) rather
// than costing memory proportional to the header size.
const maxForwardedHops = 64

// walkForwarded walks RFC 7239 Forwarded elements right to left, reading
// each element's for= node. Elements are split left to right (quoted
// strings may hold commas), keeping only the rightmost maxForwardedHops in
// a fixed ring, so parsing never allocates in proportion to the header.
func (r *IPResolver) walkForwarded(last netip.Addr, values []string) netip.Addr {
	var ring [maxForwardedHops]string
	n := 0
	for _, v := range values {
		for i := 0; ; {
			elem, next := nextForwardedElement(v, i)
			ring[n%maxForwardedHops] = elem
			n++
			if next < 0 {
				break
			}
			i = next
		}
	}
	for k := 0; k < min(n, maxForwardedHops); k++ {
		ip, ok := parseForwardedElement(ring[(n-1-k)%maxForwardedHops])
		if !ok {
			return last
		}
		if !r.isTrusted(ip) {
			return ip
		}
		last = ip
	}
	return last
}

// nextForwardedElement returns the element of v starting at i, up to the
// next comma outside a quoted string, and the index after that comma, or
// -1 when the element ends v. An unterminated quoted string runs to the
// end of v and fails to parse later.
func nextForwardedElement(v string, i int) (string, int) {
	inQuote := false
	for j := i; j < len(v); j++ {
		switch c := v[j]; {
		case inQuote && c == '\\':
			j++ // skip the escaped byte
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == ',':
			return v[i:j], j + 1
		}
	}
	return v[i:], -1
}

// parseForwardedElement parses "pair;pair;..." and returns the address of
// its for= node. Missing, repeated or unparsable for= makes the element
// malformed, and so do "unknown" and obfuscated ("_x") nodes: they name a
// hop that cannot be identified.
func parseForwardedElement(elem string) (netip.Addr, bool) {
	var node string
	found := false
	for i := 0; i <= len(elem); {
		j, inQuote := i, false
	scan:
		for ; j < len(elem); j++ {
			switch c := elem[j]; {
			case inQuote && c == '\\':
				j++
			case c == '"':
				inQuote = !inQuote
			case !inQuote && c == ';':
				break scan
			}
		}
		if inQuote || j > len(elem) {
			return netip.Addr{}, false
		}
		if pair := strings.Trim(elem[i:j], " \t"); pair != "" {
			name, raw, ok := strings.Cut(pair, "=")
			if !ok || !isToken(name) {
				return netip.Addr{}, false
			}
			value, ok := unquote(raw)
			if !ok {
				return netip.Addr{}, false
			}
			if strings.EqualFold(name, "for") {
				if found {
					return netip.Addr{}, false
				}
				node, found = value, true
			}
		}
		i = j + 1
	}
	if !found {
		return netip.Addr{}, false
	}
	return parseForwardedNode(node)
}

// parseForwardedNode parses an RFC 7239 node: IPv4 or "[IPv6]", with an
// optional ":port" (digits or an obfuscated "_port").
func parseForwardedNode(s string) (netip.Addr, bool) {
	var (
		ip   netip.Addr
		err  error
		port string
		has  bool
	)
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if ip, err = netip.ParseAddr(s[1:end]); err != nil || !ip.Is6() {
			return netip.Addr{}, false
		}
		rest := s[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return netip.Addr{}, false
			}
			port, has = rest[1:], true
		}
	} else {
		var host string
		host, port, has = strings.Cut(s, ":")
		if ip, err = netip.ParseAddr(host); err != nil || !ip.Is4() {
			return netip.Addr{}, false
		}
	}
	if has && !validNodePort(port) {
		return netip.Addr{}, false
	}
	return normalize(ip), true
}

// validNodePort reports whether s is 1*5DIGIT or "_" 1*(ALPHA/DIGIT/"."/"_"/"-").
func validNodePort(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '_' {
		if len(s) == 1 {
			return false
		}
		for i := 1; i < len(s); i++ {
			c := s[i]
			if !(isAlnum(c) || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return true
	}
	if len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unquote returns a token value as is, or the content of a quoted string
// with its backslash escapes resolved.
func unquote(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	if v[0] != '"' {
		return v, isLenientToken(v)
	}
	if len(v) < 2 || v[len(v)-1] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if !strings.ContainsAny(inner, "\\\"") {
		return inner, true
	}
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch c {
		case '"':
			return "", false // an unescaped quote before the end
		case '\\':
			i++
			if i == len(inner) {
				return "", false // the closing quote was escaped
			}
			c = inner[i]
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// isLenientToken accepts unquoted values that RFC 7239 wants quoted but
// that proxies commonly send bare, such as for=192.0.2.1:8080: anything
// without whitespace, quotes or separators. The node parser still decides
// whether the value is an address.
func isLenientToken(s string) bool {
	return !strings.ContainsAny(s, " \t\",;")
}

// isToken reports whether s is a non-empty RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
