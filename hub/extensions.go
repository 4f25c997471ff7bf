package hub

import "strings"

// Sec-WebSocket-Extensions parsing (RFC 6455 section 9.1), for the
// permessage-deflate negotiation in deflate.go.

const extensionsHeader = "Sec-Websocket-Extensions"

// extParam is one extension parameter; hasValue distinguishes "p" from
// `p=""`.
type extParam struct {
	name, value string
	hasValue    bool
}

// maxExtParams bounds the parameters of one offer that scanExtensions
// collects; an offer with more is malformed for our purposes.
const maxExtParams = 8

// scanExtensions parses one Sec-WebSocket-Extensions value:
//
//	extension-list  = 1#extension
//	extension       = token *( OWS ";" OWS extension-param )
//	extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
//
// calling yield for each extension in order until it returns false. It
// reports whether the part of the value it read is well formed. Empty list
// elements are allowed (RFC 9110 section 5.6.1).
func scanExtensions(v string, yield func(name string, params []extParam) bool) bool {
	var buf [maxExtParams]extParam
	s := v
	for {
		s = skipOWS(s)
		if s == "" {
			return true
		}
		if s[0] == ',' {
			s = s[1:]
			continue
		}
		name, rest := cutToken(s)
		if name == "" {
			return false
		}
		s = skipOWS(rest)
		params := buf[:0]
		for s != "" && s[0] == ';' {
			s = skipOWS(s[1:])
			var p extParam
			if p.name, s = cutToken(s); p.name == "" {
				return false
			}
			s = skipOWS(s)
			if s != "" && s[0] == '=' {
				s = skipOWS(s[1:])
				p.hasValue = true
				var ok bool
				if p.value, s, ok = cutValue(s); !ok {
					return false
				}
				s = skipOWS(s)
			}
			if len(params) == maxExtParams {
				return false
			}
			params = append(params, p)
		}
		if s != "" && s[0] != ',' {
			return false
		}
		if !yield(name, params) {
			return true
		}
	}
}

// validWindowBits reports whether s is a decimal 8 to 15 without leading
// zeros (RFC 7692 section 7.1.2).
func validWindowBits(s string) bool {
	switch {
	case len(s) == 1:
		return s[0] == '8' || s[0] == '9'
	case len(s) == 2:
		return s[0] == '1' && s[1] >= '0' && s[1] <= '5'
	}
	return false
}

func skipOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// cutToken splits s after its leading HTTP token (RFC 9110 section 5.6.2).
func cutToken(s string) (tok, rest string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) < 0
}

// cutValue splits s after a parameter value, a token or a quoted-string
// whose unescaped content is a token (RFC 6455 section 9.1).
func cutValue(s string) (val, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		val, rest = cutToken(s)
		return val, rest, val != ""
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			val = b.String()
			if t, _ := cutToken(val); t != val || val == "" {
				return "", "", false
			}
			return val, s[i+1:], true
		case c == '\\' && i+1 < len(s):
			i++
			c = s[i]
		}
		if !isTokenChar(c) {
			return "", "", false
		}
		b.WriteByte(c)
	}
	return "", "", false // no closing quote
}
