// Package origin defends WebSocket endpoints against cross-site WebSocket
// hijacking (CSWSH).
//
// A WebSocket handshake is an ordinary GET request that a browser sends with
// the user's cookies, whichever page opened the socket. Browsers do not apply
// CORS to WebSockets; the only signal of the page's site is the Origin header,
// which a browser always sets on a WebSocket handshake and which page scripts
// cannot change. A server that authenticates sockets with cookies must
// therefore refuse handshakes whose Origin it does not trust, or any site the
// user visits can open an authenticated socket in the user's name.
//
// A Checker built by New from a Policy decides. By default (the zero Policy)
// only same-origin requests are allowed: the Origin's scheme, host and port
// must equal the request's own, taken from r.Host and r.TLS (or, from a
// configured trusted proxy, from Forwarded / X-Forwarded-Host /
// X-Forwarded-Proto). Policy.AllowedOrigins adds exact origins and
// "*.example.com" wildcards. A literal "null" Origin is refused unless
// Policy.AllowNull is set; a request without any Origin header (a non-browser
// client) is allowed unless Policy.RefuseMissing is set.
//
// Comparison is done on a canonical form: scheme and host in lower case,
// international host names in their ASCII (punycode) form, default ports
// (http/ws 80, https/wss 443) filled in, ws treated as http and wss as https.
// Origins carrying userinfo, a path, a query or a fragment are malformed and
// refused.
//
// Use Checker.Check in your own handler, or Checker.Middleware (or the chi
// style Middleware(c)) in front of the route that upgrades; refused requests
// get 403 Forbidden with a short plain-text reason.
package origin
