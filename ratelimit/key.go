package ratelimit

import "net/netip"

// DefaultIPv6Prefix is the IPv6 prefix length the per-IP limits key on
// when ConnConfig.IPv6Prefix or RateConfig.IPv6Prefix is zero: /64, the
// smallest network an ISP routes to one customer (RFC 6177), so one
// subscriber cannot multiply its budget by picking addresses from it.
const DefaultIPv6Prefix = 64

// ipv6Bits validates a configured IPv6 prefix length and applies the
// default.
func ipv6Bits(field string, bits int) (int, error) {
	switch {
	case bits == 0:
		return DefaultIPv6Prefix, nil
	case bits < 1 || bits > 128:
		return 0, configError(field, "must be 1 to 128 (0 means %d), got %d", DefaultIPv6Prefix, bits)
	}
	return bits, nil
}

// ipKey is the key a per-IP limit counts ip under: an IPv4 address (mapped
// ones folded) as it is, an IPv6 address masked to its first bits, zone
// dropped. The zero Addr (an unparsable RemoteAddr) stays the zero Addr,
// one shared key.
func ipKey(ip netip.Addr, bits int) netip.Addr {
	ip = normalize(ip)
	if !ip.Is6() || bits >= 128 {
		return ip
	}
	p, err := ip.Prefix(bits)
	if err != nil { // bits is validated; keep the full address if not
		return ip
	}
	return p.Addr()
}
