// Package middleware turns an HTTP route into a WebSocket endpoint served by
// a hub.
//
// A Handler checks the upgrade request in the order of the data flow: the
// client's IP and handshake rate, the connection limits, the Origin policy,
// the token, then the WebSocket handshake itself (RFC 6455 section 4.2.1)
// and the subprotocol, then the application's Admit hook; only then does it
// upgrade and attach a session to the hub. Each refusal is an HTTP answer
// given before the upgrade:
//
//	400  not a valid WebSocket handshake (reason in the body)
//	401  token missing, invalid or expired (WWW-Authenticate: Bearer ...)
//	403  Origin not allowed, or refused by Admit
//	426  Sec-WebSocket-Version is not 13 (Sec-WebSocket-Version: 13)
//	429  handshake rate exceeded for the client IP (Retry-After)
//	503  too many connections, or the hub is shutting down (Retry-After)
//
// The checks are the origin, auth and ratelimit packages' own middlewares,
// so a router user can also compose them by hand, for example with chi:
//
//	r.With(ratelimit.Connections(lim), origin.Middleware(oc), auth.Middleware(v)).
//		Get("/ws", ws.ServeHTTP)
//
// A Handler mounted that way skips its default same-origin check when an
// origin middleware has already allowed the request, and takes over the
// connection slots held by ratelimit.Connections and ratelimit.Users so
// they stay held for the session's lifetime. (Do not also set
// Config.Connections to the same limiter: each session would then hold
// two slots.)
//
// http.TimeoutHandler cannot wrap a WebSocket route: its ResponseWriter
// cannot be hijacked. Middlewares that wrap the ResponseWriter and expose it
// through Unwrap (chi's Logger and Compress do) are fine.
package middleware
