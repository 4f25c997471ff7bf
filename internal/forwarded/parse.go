package forwarded

import "strings"

// Bounds on one request's Forwarded header lines. A header past either
// bound fails as a whole (fail closed), like a syntax error. Thirty-two
// proxies is far more than any real chain; the byte bound leaves room for
// that many elements with long host= values.
const (
	// MaxElements is how many forwarded-elements (one per proxy hop) the
	// Forwarded lines of one request may hold.
	MaxElements = 32
	// MaxBytes is how many bytes the Forwarded lines of one request may
	// hold in total.
	MaxBytes = 8 << 10
)

// An Element is one hop of a Forwarded header with the parameters wsgate
// reads, unquoted; an absent parameter is "". Extension parameters are
// syntax-checked and dropped.
type Element struct {
	For   string // the node the proxy received the request from
	By    string // the proxy's own node
	Host  string // the Host the proxy received
	Proto string // the scheme the proxy received
}

// Parse parses the Forwarded header lines of a request (RFC 7239 section
// 4), as http.Header.Values("Forwarded") returns them: comma-separated
// elements of semicolon-separated name=value pairs, names case-insensitive,
// values tokens or quoted-strings. Each line is parsed on its own, so a
// quoted-string cannot span two lines. Empty elements and empty pairs are
// skipped; optional whitespace is accepted around "," and ";".
//
// The input is untrusted and there is one error rule: a syntax error, a
// known parameter repeated within an element, more than MaxElements
// elements or more than MaxBytes bytes fails the whole header, and Parse
// returns no elements. Errors wrap ErrSyntax, or are ErrTooMany or
// ErrTooLong.
func Parse(lines []string) ([]Element, error) {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	if n > MaxBytes {
		return nil, ErrTooLong
	}
	var out []Element
	for _, line := range lines {
		var err error
		if out, err = parseLine(line, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func parseLine(s string, out []Element) ([]Element, error) {
	var (
		el    Element
		seen  uint8 // a bit per known parameter, to refuse repeats
		pairs int
	)
	flush := func() error {
		if pairs > 0 {
			if len(out) == MaxElements {
				return ErrTooMany
			}
			out = append(out, el)
		}
		el, seen, pairs = Element{}, 0, 0
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
			return nil, errName
		}
		name := s[start:i]
		if i == len(s) || s[i] != '=' {
			return nil, errEquals
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
				return nil, errValue
			}
			value = s[start:i]
		}
		var bit uint8
		var dst *string
		switch {
		case strings.EqualFold(name, "for"):
			bit, dst = 1, &el.For
		case strings.EqualFold(name, "by"):
			bit, dst = 2, &el.By
		case strings.EqualFold(name, "host"):
			bit, dst = 4, &el.Host
		case strings.EqualFold(name, "proto"):
			bit, dst = 8, &el.Proto
		}
		if dst != nil {
			if seen&bit != 0 {
				return nil, errRepeated
			}
			seen |= bit
			*dst = value
		}
		pairs++
		i = skipOWS(s, i)
		if i < len(s) && s[i] != ';' && s[i] != ',' {
			return nil, errSep
		}
	}
}

// readQuoted reads the quoted-string starting at s[i] == '"' and returns
// its unescaped content and the index after the closing quote.
func readQuoted(s string, i int) (string, int, error) {
	start := i + 1
	plain := true // no escapes so far: the content is a substring of s
	var b strings.Builder
	for i++; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			if plain {
				return s[start:i], i + 1, nil
			}
			return b.String(), i + 1, nil
		case c == '\\':
			i++
			if i == len(s) || !isQuotedPairChar(s[i]) {
				return "", 0, errQuoted
			}
			if plain {
				plain = false
				b.WriteString(s[start : i-1])
			}
			b.WriteByte(s[i])
		case isQdtext(c):
			if !plain {
				b.WriteByte(c)
			}
		default:
			return "", 0, errQuoted
		}
	}
	return "", 0, errQuoted
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
