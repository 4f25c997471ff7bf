// Package forwarded is wsgate's one reader of the headers a reverse proxy
// uses to say whom it forwarded a request for: RFC 7239 Forwarded and the
// de facto X-Forwarded-For. It also holds the one definition of a set of
// trusted proxy networks ([Prefixes]) and of the right-to-left walk that
// skips trusted hops. Packages origin and ratelimit both use it, so a
// request is read the same way by the origin check and by the per-IP
// limits, and a user states which proxies are trusted once.
//
// The input is untrusted and every rule fails closed:
//
//   - Forwarded is parsed by its grammar (elements separated by ",",
//     pairs by ";", values a token or a quoted-string). Any syntax error,
//     more than [MaxElements] elements or more than [MaxBytes] bytes fails
//     the whole header: no element of it is used.
//   - A for= node is an address only when it is IPv4 or a bracketed IPv6
//     address without a zone, optionally with a port; "unknown" and
//     obfuscated nodes ("_hidden") are not addresses.
//   - The walk starts at the TCP peer. It reads nothing unless the peer is
//     trusted, moves left only while the hop it reached is trusted, and
//     stops at the last trusted hop when a hop is not an address, so a
//     client cannot choose the result by sending something unparsable.
//   - IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) and prefixes fold to
//     IPv4, and zones are dropped, so one host cannot alias another.
package forwarded
