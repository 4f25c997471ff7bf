package forwarded

import (
	"net/netip"
	"strings"
)

// ParseNode reads the address of an RFC 7239 for= or by= node: IPv4
// ("192.0.2.1") or a bracketed IPv6 address ("[2001:db8::1]"), each with
// an optional port that is 1 to 5 digits or obfuscated ("_p1"). It reports
// false for "unknown", obfuscated identifiers ("_hidden"), unbracketed
// IPv6, IPv6 with a zone and anything else that is not an address. The
// address is normalised (see Normalize).
func ParseNode(v string) (netip.Addr, bool) {
	var (
		addr netip.Addr
		err  error
		port string
		has  bool
	)
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		addr, err = netip.ParseAddr(v[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return netip.Addr{}, false
		}
		if rest := v[end+1:]; rest != "" {
			if rest[0] != ':' {
				return netip.Addr{}, false
			}
			port, has = rest[1:], true
		}
	} else {
		var host string
		host, port, has = strings.Cut(v, ":")
		if addr, err = netip.ParseAddr(host); err != nil || !addr.Is4() {
			return netip.Addr{}, false
		}
	}
	if has && !validNodePort(port) {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}

// validNodePort reports whether s is an RFC 7239 node-port: 1*5DIGIT, or
// "_" 1*(ALPHA / DIGIT / "." / "_" / "-").
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
			if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
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

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// ParseAddr reads one element of an X-Forwarded-For list (or an X-Real-IP
// value), which has no standard grammar: an IPv4 or IPv6 address, with or
// without a port ("192.0.2.1:80", "[2001:db8::1]:443"), or a bracketed IPv6
// address; surrounding spaces and tabs are ignored. Anything else
// ("unknown", a host name, an empty element) is not an address. The
// address is normalised (see Normalize).
func ParseAddr(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " \t")
	// Pick the one parser that can succeed for this shape, so that a good
	// element costs no error value (and no allocation).
	switch {
	case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return Normalize(a), true
		}
	case strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1:
		// "[v6]:port" or "v4:port": one colon is never an address alone.
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return Normalize(ap.Addr()), true
		}
	default:
		if a, err := netip.ParseAddr(s); err == nil {
			return Normalize(a), true
		}
	}
	return netip.Addr{}, false
}

// ParseRemoteAddr parses http.Request.RemoteAddr: "ip:port", or a bare IP
// as some test tools and wrappers set it. The address is normalised.
func ParseRemoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return Normalize(ap.Addr()), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return Normalize(a), true
	}
	return netip.Addr{}, false
}

// Normalize folds an IPv4-mapped IPv6 address to IPv4 and drops the IPv6
// zone, so one host has one form and cannot alias a trusted address.
func Normalize(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}
