package forwarded

import (
	"fmt"
	"net/netip"
	"strings"
)

// Prefixes is a set of trusted proxy networks. The zero value trusts
// nothing. It is immutable once built and safe for concurrent use.
type Prefixes struct {
	list []netip.Prefix // masked, IPv4-mapped ones unmapped
}

// A PrefixError reports an invalid entry given to NewPrefixes. It wraps
// ErrPrefix; callers name the entry in their own terms with Index.
type PrefixError struct {
	Index  int    // position of the entry in the slice given to NewPrefixes
	Reason string // what is wrong, such as "invalid prefix"
}

func (e *PrefixError) Error() string {
	return fmt.Sprintf("%v: [%d] %s", ErrPrefix, e.Index, e.Reason)
}

// Unwrap returns ErrPrefix.
func (e *PrefixError) Unwrap() error { return ErrPrefix }

// NewPrefixes validates ps and returns the set. An invalid prefix (the
// zero netip.Prefix, or bits out of range) or one with an IPv6 zone is a
// *PrefixError naming its index. Prefixes are masked, and an IPv4-mapped
// IPv6 prefix such as ::ffff:10.0.0.0/104 is stored as its IPv4 form
// (10.0.0.0/8), since addresses are unmapped before they are compared.
func NewPrefixes(ps []netip.Prefix) (Prefixes, error) {
	if len(ps) == 0 {
		return Prefixes{}, nil
	}
	list := make([]netip.Prefix, 0, len(ps))
	for i, p := range ps {
		if !p.IsValid() {
			return Prefixes{}, &PrefixError{Index: i, Reason: "invalid prefix (the zero netip.Prefix, or bits out of range)"}
		}
		// netip refuses zones in prefixes today; the check keeps this set
		// correct should a Prefix ever carry one.
		if p.Addr().Zone() != "" {
			return Prefixes{}, &PrefixError{Index: i, Reason: "must not have an IPv6 zone"}
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		list = append(list, p.Masked())
	}
	return Prefixes{list: list}, nil
}

// Len returns the number of prefixes in the set.
func (s Prefixes) Len() int { return len(s.list) }

// Contains reports whether a, normalised, lies in one of the prefixes.
func (s Prefixes) Contains(a netip.Addr) bool {
	a = Normalize(a)
	for _, p := range s.list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// WalkForwarded walks Forwarded elements (as Parse returns them) from the
// right, starting at the TCP peer, and returns the client and how many of
// the rightmost elements were written by trusted proxies.
//
// The rightmost element was added by the peer; its for= names the hop
// before it. While that hop is a trusted address the walk moves one
// element left. It stops at the first address that is not trusted (the
// client), or, failing closed, at the last trusted hop when a for= is not
// an address ("unknown", obfuscated, missing). When every hop is trusted
// the leftmost is the client. An untrusted peer is the client itself and
// vouches for no element (vouched is 0).
//
// els[len(els)-vouched:] are the elements a trusted proxy wrote, whose
// host= and proto= may be believed.
func (s Prefixes) WalkForwarded(peer netip.Addr, els []Element) (client netip.Addr, vouched int) {
	client = Normalize(peer)
	if !s.Contains(client) {
		return client, 0
	}
	for i := len(els) - 1; i >= 0; i-- {
		vouched++
		a, ok := ParseNode(els[i].For)
		if !ok {
			return client, vouched
		}
		client = a
		if !s.Contains(a) {
			return client, vouched
		}
	}
	return client, vouched
}

// WalkXFF walks X-Forwarded-For header lines (as
// http.Header.Values("X-Forwarded-For") returns them) from the last element
// of the last line to the first of the first, starting at the TCP peer,
// and returns the client by the rules of WalkForwarded: headers of an
// untrusted peer are ignored, trusted hops are skipped, and an element
// that is not an address (see ParseAddr; an empty element too) stops the
// walk at the last trusted hop. Elements left of the client are never
// read, so the walk costs nothing for spoofed entries and never
// allocates.
func (s Prefixes) WalkXFF(peer netip.Addr, lines []string) netip.Addr {
	last := Normalize(peer)
	if !s.Contains(last) {
		return last
	}
	for i := len(lines) - 1; i >= 0; i-- {
		v := lines[i]
		for {
			j := strings.LastIndexByte(v, ',')
			a, ok := ParseAddr(v[j+1:])
			if !ok {
				return last
			}
			if !s.Contains(a) {
				return a
			}
			last = a
			if j < 0 {
				break
			}
			v = v[:j]
		}
	}
	return last
}
