// Package auth authenticates WebSocket upgrade requests with JWTs.
//
// A Verifier finds the token in the request (Config.Sources, tried in
// order), verifies it with github.com/golang-jwt/jwt/v5 against an explicit
// algorithm allow-list and configured keys (an HMAC secret, public keys by
// kid, and/or a JWK Set URL fetched and refreshed with
// github.com/MicahParks/keyfunc/v3), and Middleware puts the result in the
// request context:
//
//	v, err := auth.New(auth.Config{
//		Algorithms: []string{"RS256"},
//		JWKSURL:    "https://issuer.example/.well-known/jwks.json",
//		Issuer:     "https://issuer.example/",
//		Audience:   "chat",
//	})
//	if err != nil { ... }
//	defer v.Close()
//	http.Handle("/ws", v.Middleware(upgradeHandler))
//
// # Where the token comes from
//
//   - FromHeader: `Authorization: Bearer <token>`, for non-browser clients.
//   - FromProtocol: an entry "base64url.bearer.authorization.<base64url(token)>"
//     in Sec-WebSocket-Protocol, for browsers (see below).
//   - FromCookie: the cookie Config.CookieName (pair it with an origin
//     check: cookies are sent cross-site by WebSocket handshakes unless
//     SameSite says otherwise).
//   - FromQuery: the query parameter Config.QueryParam, only when listed
//     explicitly. This package never logs a token, but access logs record
//     URLs, so a query token ends up on disk.
//
// Browsers cannot set headers on a WebSocket handshake, but they can offer
// subprotocols:
//
//	new WebSocket(url, ["chat.v1", "base64url.bearer.authorization." + b64url(token)])
//
// where b64url is unpadded base64url. The page must also offer a real
// subprotocol that the server selects: Middleware strips the token entry, so
// the server never selects (and echoes) it, and a browser fails a handshake
// whose response selects no subprotocol when it offered some.
//
// The first source carrying a token wins; a source carrying a malformed or
// ambiguous token (two Authorization headers, two token entries, two
// cookies of the name) is refused, not skipped.
//
// # Decisions
//
//   - Algorithms is required; "none" is refused by New even if listed. A
//     token's alg must be allowed and match its key's type (HS* only with
//     HMACSecret, RS*/PS* only with RSA keys, ES* only with ECDSA keys of
//     the matching curve, EdDSA only with Ed25519), so an RSA public key can
//     never be used as an HMAC secret.
//   - HMACSecret must be at least as long as the hash output of the largest
//     HS* algorithm listed (32/48/64 bytes, RFC 7518 §3.2). RSA keys below
//     2048 bits are refused.
//   - Key selection: HS* tokens use HMACSecret and ignore kid. Others use
//     Keys[kid], then the JWK Set; a kid found in neither is refused
//     ("unknown key id") after at most one rate-limited JWKS refresh. A
//     token without kid uses Keys[""], else every JWKS key that fits alg.
//   - exp is required unless Config.AllowNoExpiry; nbf and iat are checked
//     (a token issued in the future is refused), all with Config.Leeway.
//   - Claims default to jwt.MapClaims; Config.NewClaims selects a struct.
//   - A missing token is answered `401` with `WWW-Authenticate: Bearer` and
//     no error code (RFC 6750 §3.1); an invalid one with
//     `Bearer error="invalid_token", error_description="..."`, where the
//     description is a fixed phrase that never contains the token.
//   - A Token never prints its raw form (fmt and slog redact it); Raw
//     returns it for deliberate forwarding.
//
// # Lifetime
//
// With JWKSURL set, New fetches the set once (and fails if it cannot) and
// starts one refresh goroutine; Close ends it. Without JWKSURL, Close is a
// no-op.
package auth
