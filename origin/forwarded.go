package origin

import (
	"errors"
	"net/netip"
	"strings"
)

// maxForwardedElements bounds how many forwarded-elements (one per proxy
// hop) are read from the Forwarded header lines of one request.
const maxForwardedElements = 32

// A forwardedElement is one hop of an RFC 7239 Forwarded header, with the
// parameters this package reads. Values are unquoted; absent ones are "".
// Extension parameters are syntax-checked and dropped.
type forwardedElement struct {
	forNode string
	by      string
	host    string
	proto   string
}

var (
	errFwdTooMany  = errors.New("too many elements")
	errFwdName     = errors.New("expected a parameter name")
	errFwdEquals   = errors.New(`expected "=" after the parameter name`)
	errFwdValue    = errors.New("expected a token or quoted-string value")
	errFwdQuoted   = errors.New("invalid quoted-string")
	errFwdSep      = errors.New(`expected ";" or "," after a value`)
	errFwdRepeated = errors.New("parameter repeated within one element")
)

// parseForwarded parses the Forwarded header lines of a request (RFC 7239
// section 4): comma-separated elements of semicolon-separated name=value
// pairs, values being tokens or quoted-strings. Each line is parsed on its
// own, so a quoted-string cannot span two lines. Empty elements and empty
// pairs are skipped; optional whitespace is accepted around "," and ";". The
// input is untrusted: any syntax error fails the whole header.
func parseForwarded(lines []string) ([]forwardedElement, error) {
	var out []forwardedElement
	for _, line := range lines {
		var err error
		if out, err = parseForwardedLine(line, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func parseForwardedLine(s string, out []forwardedElement) ([]forwardedElement, error) {
	var (
		el    forwardedElement
		seen  uint8 // bit per known parameter, to refuse repeats
		pairs int
	)
	flush := func() error {
		if pairs > 0 {
			if len(out) == maxForwardedElements {
				return errFwdTooMany
			}
			out = append(out, el)
		}
		el, seen, pairs = forwardedElement{}, 0, 0
		return nil
	}
	i := 0
	for {
		i = skipOWS(s, i)
		if i == len(s) {
			return out, flush()
		}
		switch s[i] {
		case ',':
			if err := flush(); err != nil {
				return nil, err
			}
			i++
			continue
		case ';':
			i++
			continue
		}
		start := i
		for i < len(s) && isTchar(s[i]) {
			i++
		}
		if i == start {
			return nil, errFwdName
		}
		name := strings.ToLower(s[start:i])
		if i == len(s) || s[i] != '=' {
			return nil, errFwdEquals
		}
		i++
		var value string
		if i < len(s) && s[i] == '"' {
			var err error
			if value, i, err = readQuoted(s, i); err != nil {
				return nil, err
			}
		} else {
			start = i
			for i < len(s) && isTchar(s[i]) {
				i++
			}
			if i == start {
				return nil, errFwdValue
			}
			value = s[start:i]
		}
		var bit uint8
		var dst *string
		switch name {
		case "for":
			bit, dst = 1, &el.forNode
		case "by":
			bit, dst = 2, &el.by
		case "host":
			bit, dst = 4, &el.host
		case "proto":
			bit, dst = 8, &el.proto
		}
		if dst != nil {
			if seen&bit != 0 {
				return nil, errFwdRepeated
			}
			seen |= bit
			*dst = value
		}
		pairs++
		i = skipOWS(s, i)
		if i < len(s) && s[i] != ';' && s[i] != ',' {
			return nil, errFwdSep
		}
	}
}

// readQuoted reads the quoted-string starting at s[i] == '"' and returns its
// unescaped content and the index after the closing quote.
func readQuoted(s string, i int) (string, int, error) {
	var b strings.Builder
	for i++; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), i + 1, nil
		case c == '\\':
			i++
			if i == len(s) || !isQuotedPairChar(s[i]) {
				return "", 0, errFwdQuoted
			}
			b.WriteByte(s[i])
		case isQdtext(c):
			b.WriteByte(c)
		default:
			return "", 0, errFwdQuoted
		}
	}
	return "", 0, errFwdQuoted
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isTchar reports whether c is an RFC 9110 token character.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isQdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
func isQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x5b) ||
		(0x5d <= c && c <= 0x7e) || c >= 0x80
}

// isQuotedPairChar: HTAB / SP / VCHAR / obs-text.
func isQuotedPairChar(c byte) bool {
	return c == '\t' || (0x20 <= c && c <= 0x7e) || c >= 0x80
}

// parseNode reads the IP address of a for= or by= node ("192.0.2.1",
// "192.0.2.1:8080", "[2001:db8::1]:8080"). It reports false for "unknown",
// obfuscated identifiers ("_hidden") and anything else that is not an
// address. IPv4-mapped IPv6 addresses are unmapped.
func parseNode(v string) (netip.Addr, bool) {
	var host string
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if rest := v[end+1:]; rest != "" && rest[0] != ':' {
			return netip.Addr{}, false
		}
		host = v[1:end]
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return netip.Addr{}, false
		}
		return addr.Unmap(), true
	}
	host = v
	if i := strings.IndexByte(v, ':'); i >= 0 {
		host = v[:i]
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !addr.Is4() {
		return netip.Addr{}, false
	}
	return addr, true
}
