// Package ratelimit protects a WebSocket endpoint before and after the
// upgrade: it finds the real client IP behind trusted proxies, caps live
// connections (globally, per IP and per user), limits the handshake rate per
// IP, and limits the message rate of each session and of the whole process.
//
// # Client IP
//
// An [IPResolver] trusts no header unless the TCP peer (r.RemoteAddr) is
// inside one of the configured trusted prefixes. It then walks
// X-Forwarded-For or Forwarded (RFC 7239) from right to left, skipping
// trusted hops, and returns the first untrusted address. A malformed hop
// stops the walk and the last good hop is used (fail closed): a client can
// never choose its IP by sending garbage. A Forwarded header that breaks
// the RFC 7239 grammar, or holds more than 32 elements or 8 KiB, is not
// read at all. These are the rules the origin package applies too: both
// read the headers with one shared parser. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) fold to IPv4 and IPv6 zones are dropped, so one client
// cannot hold two keys. [RealIP] stores the result in the request context
// and [ClientIP] reads it back. Deployments behind a TCP load balancer can
// use the PROXY protocol instead (see the package examples): r.RemoteAddr
// is then the client itself and no header needs to be trusted.
//
// # Connections and handshakes
//
// [Connections] holds a [ConnLimiter] slot (global and per IP) for as long
// as the wrapped handler runs; a WebSocket handler runs for the whole
// session, so this counts live sessions. [Users] adds a per-user slot after
// authentication. [Handshakes] limits how fast one IP may open connections
// with a token bucket per IP. Refusals are plain HTTP answers written before
// the upgrade:
//
//	too many connections (global, per IP, per user, table full)  503 + Retry-After
//	handshake rate exceeded for the IP                           429 + Retry-After
//
// A per-IP limit counts an IPv4 client per address and an IPv6 client per
// network: by default its /64 (ConnConfig.IPv6Prefix, RateConfig.IPv6Prefix;
// 1 to 128, zero meaning 64). One subscriber usually holds a whole /64, so
// keying IPv6 per address would hand one client 2^64 budgets and let it fill
// the tables below; every address of one network shares one slot count,
// one bucket and one table entry instead.
//
// Every per-key table is bounded by MaxKeys. The connection tables only
// hold keys with live connections (a key leaves the table when its last
// connection ends), so when a table is full of live keys a new key is
// refused with 503. The handshake table forgets buckets idle for IdleTTL
// and, when full, the least recently seen IP, which then starts again with
// a full bucket, exactly as a never-seen address would.
//
// # Messages
//
// A [MessageLimiter] owns a global token bucket shared by the
// [SessionLimiter] of every session. A session reader calls
// [SessionLimiter.Allow] after each inbound message; the [Policy] decides
// what happens to a message over the rate: [Drop] it (counted), [Reject] it
// by closing the session with 1008, or [Delay] the reader until the message
// may pass, so the reader stops reading and TCP pushes back on the client.
//
// Nothing in this package starts a goroutine or keeps package-level state;
// two limiters in one process are independent.
package ratelimit
