package hub

import (
	"net/http"
	"strings"
)

// permessage-deflate offers (RFC 7692).
//
// gorilla/websocket accepts the first offer named permessage-deflate and
// ignores its parameters: it would accept offers RFC 7692 section 5 says a
// server must decline (unknown, repeated or invalid parameters) and offers
// asking for a server window smaller than the 32 KiB compress/flate always
// uses. Before the upgrade, sanitizeExtensions rewrites the request's
// Sec-WebSocket-Extensions header to the first offer the hub can honour, or
// removes it, so that gorilla negotiates exactly that offer or nothing (the
// connection then proceeds uncompressed).
//
// An offer is honoured when every parameter is known, appears once and has
// a valid value (RFC 7692 section 7.1):
//
//	server_no_context_takeover    no value; the hub never takes over context
//	client_no_context_takeover    no value; the hub asks for it anyway
//	server_max_window_bits=15     only 15: smaller windows are declined
//	client_max_window_bits[=8-15] any: the hub inflates every window size
//
// The response is always gorilla's "permessage-deflate;
// server_no_context_takeover; client_no_context_takeover" (RFC 7692 allows
// both parameters in any response). It does not repeat
// server_max_window_bits=15, which is the value implied by its absence.

const extensionsHeader = "Sec-Websocket-Extensions"

// deflateOffer is the canonical form an honoured offer is rewritten to.
const deflateOffer = "permessage-deflate"

// sanitizeExtensions returns r, or a shallow copy of r whose
// Sec-WebSocket-Extensions header holds only the offer to accept (or none).
func sanitizeExtensions(r *http.Request) *http.Request {
	vals := r.Header.Values(extensionsHeader)
	if len(vals) == 0 || (len(vals) == 1 && vals[0] == deflateOffer) {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	if acceptableDeflateOffer(vals) {
		r2.Header.Set(extensionsHeader, deflateOffer)
	} else {
		r2.Header.Del(extensionsHeader)
	}
	return r2
}

// acceptableDeflateOffer reports whether the Sec-WebSocket-Extensions
// values hold a permessage-deflate offer the hub can honour. A value that
// is not well formed (RFC 6455 section 9.1) is ignored as a whole, as
// gorilla ignores it.
func acceptableDeflateOffer(vals []string) bool {
	for _, v := range vals {
		found := false
		ok := scanExtensions(v, func(name string, params []extParam) bool {
			found = found || name == deflateOffer && deflateParamsOK(params)
			return true
		})
		if found && ok {
			return true
		}
	}
	return false
}

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

// deflateParamsOK applies RFC 7692 section 7.1 and the hub's abilities to
// the parameters of one permessage-deflate offer.
func deflateParamsOK(params []extParam) bool {
	var seen [4]bool
	for _, p := range params {
		var i int
		switch p.name {
		case "server_no_context_takeover":
			i = 0
			if p.hasValue {
				return false
			}
		case "client_no_context_takeover":
			i = 1
			if p.hasValue {
				return false
			}
		case "server_max_window_bits":
			i = 2
			// We can only compress with a 15-bit window.
			if !p.hasValue || p.value != "15" {
				return false
			}
		case "client_max_window_bits":
			i = 3
			if p.hasValue && !validWindowBits(p.value) {
				return false
			}
		default:
			return false
		}
		if seen[i] {
			return false
		}
		seen[i] = true
	}
	return true
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
