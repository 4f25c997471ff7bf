package auth_test

import (
	"crypto"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/auth"
)

// TestMiddlewareRefusals dials a real upgrade handler behind Middleware
// with a gorilla client for every way a token can be refused, and checks
// the 401, the exact challenge, the body and that no upgrade happened.
func TestMiddlewareRefusals(t *testing.T) {
	k := testKeys()
	v := newVerifier(t, mainConfig())
	srv := newWSServer(t, v)

	rsaOnly := newVerifier(t, auth.Config{
		Algorithms: []string{"RS256"},
		Keys:       map[string]crypto.PublicKey{"rsa": &k.rsa.PublicKey},
		Now:        fixedNow,
	})
	rsaOnlySrv := newWSServer(t, rsaOnly)

	good := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(nil))
	other := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c *jwt.RegisteredClaims) { c.Subject = "mallory" }))
	// header.payload of one token with the signature of another.
	spliced := good[:strings.LastIndexByte(good, '.')] + other[strings.LastIndexByte(other, '.'):]

	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa", claims(nil))
	rsaPEM := publicPEM(t, &k.rsa.PublicKey)
	confused := sign(t, jwt.SigningMethodHS256, rsaPEM, "rsa", claims(nil))
	confusedNoKID := sign(t, jwt.SigningMethodHS256, rsaPEM, "", claims(nil))

	tests := []struct {
		name      string
		srv       *wsServer
		header    http.Header
		protocols []string
		query     string
		challenge string
	}{
		{name: "missing", challenge: "Bearer"},
		{name: "other scheme is missing", header: http.Header{"Authorization": {"Basic YWxhZGRpbjpvcGVuc2VzYW1l"}}, challenge: "Bearer"},
		{name: "query when not enabled", query: "access_token=" + good, challenge: "Bearer"},
		{name: "malformed", header: bearer("not-a-jwt"), challenge: invalidChallenge("token is malformed")},
		{name: "malformed header", header: http.Header{"Authorization": {"Bearer two words"}}, challenge: invalidChallenge("malformed Authorization header")},
		{name: "empty bearer", header: http.Header{"Authorization": {"Bearer "}}, challenge: invalidChallenge("malformed Authorization header")},
		{name: "two Authorization headers", header: http.Header{"Authorization": {"Bearer " + good, "Bearer " + good}}, challenge: invalidChallenge("multiple Authorization headers")},
		{name: "too large", header: bearer(strings.Repeat("a", 17<<10)), challenge: invalidChallenge("token is too large")},
		{name: "bad signature", header: bearer(spliced), challenge: invalidChallenge("token signature is invalid")},
		{name: "wrong key", header: bearer(sign(t, jwt.SigningMethodRS256, k.rsa2, "rsa", claims(nil))), challenge: invalidChallenge("token signature is invalid")},
		{name: "expired", header: bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c *jwt.RegisteredClaims) {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second))
		}))), challenge: invalidChallenge("token is expired")},
		{name: "not yet valid", header: bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c *jwt.RegisteredClaims) {
			c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute))
		}))), challenge: invalidChallenge("token is not valid yet")},
		{name: "issued in the future", header: bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c *jwt.RegisteredClaims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute))
			c.NotBefore = nil
		}))), challenge: invalidChallenge("token used before issued")},
		{name: "no expiry", header: bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c *jwt.RegisteredClaims) {
			c.ExpiresAt = nil
		}))), challenge: invalidChallenge("token has no expiry")},
		{name: "wrong issuer", header: bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c *jwt.RegisteredClaims) {
			c.Issuer = "https://evil.test/"
		}))), challenge: invalidChallenge("token has wrong issuer")},
		{name: "wrong audience", header: bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c *jwt.RegisteredClaims) {
			c.Audience = jwt.ClaimStrings{"billing"}
		}))), challenge: invalidChallenge("token has wrong audience")},
		{name: "alg none", header: bearer(none), challenge: invalidChallenge("algorithm not allowed")},
		{name: "alg not listed", header: bearer(sign(t, jwt.SigningMethodRS384, k.rsa, "rsa", claims(nil))), challenge: invalidChallenge("algorithm not allowed")},
		{name: "HS256 with RSA public key PEM as secret", header: bearer(confused), challenge: invalidChallenge("token signature is invalid")},
		{name: "HS256 with RSA public key PEM, HS256 not allowed", srv: rsaOnlySrv, header: bearer(confusedNoKID), challenge: invalidChallenge("algorithm not allowed")},
		{name: "unknown kid", header: bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "nope", claims(nil))), challenge: invalidChallenge("unknown key id")},
		{name: "no kid and no default key", header: bearer(sign(t, jwt.SigningMethodRS256, k.rsa, "", claims(nil))), challenge: invalidChallenge("token has no key id")},
		{name: "ES256 token naming the RSA key", header: bearer(sign(t, jwt.SigningMethodES256, k.ec, "rsa", claims(nil))), challenge: invalidChallenge("key does not match algorithm")},
		{name: "two protocol tokens", protocols: []string{"chat.v1", auth.EncodeProtocolToken("", good), auth.EncodeProtocolToken("", good)}, challenge: invalidChallenge("multiple tokens in Sec-WebSocket-Protocol")},
		{name: "protocol token not base64url", protocols: []string{"chat.v1", auth.DefaultProtocolPrefix + "a"}, challenge: invalidChallenge("malformed token in Sec-WebSocket-Protocol")},
		{name: "protocol token empty", protocols: []string{"chat.v1", auth.DefaultProtocolPrefix}, challenge: invalidChallenge("malformed token in Sec-WebSocket-Protocol")},
		{name: "two cookies", header: http.Header{"Cookie": {"access_token=" + good + "; access_token=" + other}}, challenge: invalidChallenge("multiple token cookies")},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := tc.srv
				if s == nil {
					s = srv
				}
				res := dial(t, s, tc.query, tc.protocols, tc.header)
				if !errors.Is(res.err, websocket.ErrBadHandshake) {
					t.Fatalf("dial error = %v, want ErrBadHandshake", res.err)
				}
				if res.status != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401", res.status)
				}
				if res.challenge != tc.challenge {
					t.Errorf("WWW-Authenticate = %q, want %q", res.challenge, tc.challenge)
				}
				desc := "unauthorized"
				if i := strings.Index(tc.challenge, `error_description="`); i >= 0 {
					desc += ": " + strings.TrimSuffix(tc.challenge[i+len(`error_description="`):], `"`)
				}
				if strings.TrimSpace(res.body) != desc {
					t.Errorf("body = %q, want %q", res.body, desc)
				}
				if strings.Contains(res.body, good) || strings.Contains(res.challenge, good) {
					t.Error("response echoes the token")
				}
			})
		}
	})
	if n := srv.upgrades.Load() + rsaOnlySrv.upgrades.Load(); n != 0 {
		t.Errorf("%d upgrades happened behind refused requests", n)
	}
}

// TestMiddlewareAlgorithms verifies a good token of every key family end to
// end through a real WebSocket upgrade.
func TestMiddlewareAlgorithms(t *testing.T) {
	k := testKeys()
	srv := newWSServer(t, newVerifier(t, mainConfig()))
	tests := []struct {
		name   string
		method jwt.SigningMethod
		key    any
		kid    string
	}{
		{"RSA RS256", jwt.SigningMethodRS256, k.rsa, "rsa"},
		{"RSA PS256", jwt.SigningMethodPS256, k.rsa, "rsa"},
		{"ECDSA ES256", jwt.SigningMethodES256, k.ec, "ec"},
		{"Ed25519 EdDSA", jwt.SigningMethodEdDSA, k.ed, "ed"},
		{"HMAC HS256", jwt.SigningMethodHS256, k.hmac, ""},
		{"HMAC HS256 ignores kid", jwt.SigningMethodHS256, k.hmac, "whatever"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := sign(t, tc.method, tc.key, tc.kid, claims(nil))
			res := dial(t, srv, "", []string{"chat.v1"}, bearer(tok))
			if res.err != nil {
				t.Fatalf("dial: %v (status %d, %q)", res.err, res.status, res.challenge)
			}
			want := "sub=alice source=header alg=" + tc.method.Alg() + " proto=chat.v1 query="
			if res.msg != want {
				t.Errorf("handler saw %q, want %q", res.msg, want)
			}
		})
	}
}

// TestMiddlewareSources checks each source, the order, and that the
// handler never sees the protocol token entry or a query token.
func TestMiddlewareSources(t *testing.T) {
	k := testKeys()
	tok := sign(t, jwt.SigningMethodES256, k.ec, "ec", claims(nil))
	bob := sign(t, jwt.SigningMethodES256, k.ec, "ec", claims(func(c *jwt.RegisteredClaims) { c.Subject = "bob" }))

	def := newWSServer(t, newVerifier(t, mainConfig()))
	cfg := mainConfig()
	cfg.Sources = []auth.Source{auth.FromQuery, auth.FromHeader}
	cfg.QueryParam = "t"
	withQuery := newWSServer(t, newVerifier(t, cfg))
	cfg = mainConfig()
	cfg.CookieName = "sess"
	cfg.ProtocolPrefix = "x-token."
	cfg.Sources = []auth.Source{auth.FromCookie, auth.FromProtocol}
	custom := newWSServer(t, newVerifier(t, cfg))

	tests := []struct {
		name      string
		srv       *wsServer
		header    http.Header
		protocols []string
		query     string
		want      string
		selected  string
	}{
		{name: "header", srv: def, header: bearer(tok), protocols: []string{"chat.v1"},
			want: "sub=alice source=header alg=ES256 proto=chat.v1 query=", selected: "chat.v1"},
		{name: "protocol entry", srv: def, protocols: []string{"chat.v1", auth.EncodeProtocolToken("", tok)},
			want: "sub=alice source=protocol alg=ES256 proto=chat.v1 query=", selected: "chat.v1"},
		{name: "protocol entry padded", srv: def, protocols: []string{auth.EncodeProtocolToken("", tok) + "==", "chat.v1"},
			want: "sub=alice source=protocol alg=ES256 proto=chat.v1 query=", selected: "chat.v1"},
		{name: "protocol entry only", srv: def, protocols: []string{auth.EncodeProtocolToken("", tok)},
			want: "sub=alice source=protocol alg=ES256 proto= query=", selected: ""},
		{name: "cookie", srv: def, header: http.Header{"Cookie": {"access_token=" + tok}},
			want: "sub=alice source=cookie alg=ES256 proto= query="},
		{name: "header before protocol", srv: def, header: bearer(bob), protocols: []string{"chat.v1", auth.EncodeProtocolToken("", tok)},
			want: "sub=bob source=header alg=ES256 proto=chat.v1 query=", selected: "chat.v1"},
		{name: "header before cookie", srv: def, header: http.Header{"Authorization": {"Bearer " + bob}, "Cookie": {"access_token=" + tok}},
			want: "sub=bob source=header alg=ES256 proto= query="},
		{name: "query when enabled", srv: withQuery, query: "room=1&t=" + tok + "&x=2",
			want: "sub=alice source=query alg=ES256 proto= query=room=1&x=2"},
		{name: "query before header", srv: withQuery, query: "t=" + bob, header: bearer(tok),
			want: "sub=bob source=query alg=ES256 proto= query="},
		{name: "custom cookie name", srv: custom, header: http.Header{"Cookie": {"sess=" + tok}},
			want: "sub=alice source=cookie alg=ES256 proto= query="},
		{name: "custom protocol prefix", srv: custom, protocols: []string{"x-token." + auth.EncodeProtocolToken("x-token.", tok)[len("x-token."):], "chat.v1"},
			want: "sub=alice source=protocol alg=ES256 proto=chat.v1 query=", selected: "chat.v1"},
		{name: "default prefix still stripped", srv: custom, header: http.Header{"Cookie": {"sess=" + tok}}, protocols: []string{"chat.v1", auth.EncodeProtocolToken("x-token.", "junk")},
			want: "sub=alice source=cookie alg=ES256 proto=chat.v1 query=", selected: "chat.v1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := dial(t, tc.srv, tc.query, tc.protocols, tc.header)
			if res.err != nil {
				t.Fatalf("dial: %v (status %d, %q)", res.err, res.status, res.challenge)
			}
			if res.msg != tc.want {
				t.Errorf("handler saw %q, want %q", res.msg, tc.want)
			}
			if res.selected != tc.selected {
				t.Errorf("selected subprotocol %q, want %q", res.selected, tc.selected)
			}
		})
	}
}

// TestUpgradeSelectsRealSubprotocol is the browser recipe end to end: the
// client offers ["chat.v1", "base64url.bearer.authorization.<tok>"] and the
// server, an Upgrader with Subprotocols ["chat.v1"] behind Middleware,
// selects "chat.v1", never the token entry.
func TestUpgradeSelectsRealSubprotocol(t *testing.T) {
	k := testKeys()
	v := newVerifier(t, mainConfig())
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(nil))

	var seen []string
	done := make(chan struct{})
	up := websocket.Upgrader{Subprotocols: []string{"chat.v1"}}
	srv := newServer(t, v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = websocket.Subprotocols(r)
		conn, err := up.Upgrade(w, r, nil)
		close(done)
		if err != nil {
			return
		}
		_ = conn.Close()
	})))
	d := websocket.Dialer{Subprotocols: []string{"chat.v1", "base64url.bearer.authorization." + b64url(tok)}}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	<-done
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "chat.v1" {
		t.Errorf("response Sec-WebSocket-Protocol = %q, want chat.v1", got)
	}
	if conn.Subprotocol() != "chat.v1" {
		t.Errorf("selected %q, want chat.v1", conn.Subprotocol())
	}
	if len(seen) != 1 || seen[0] != "chat.v1" {
		t.Errorf("upgrader saw offered protocols %q, want [chat.v1]", seen)
	}
}

// TestMiddlewareFunc checks the func(http.Handler) http.Handler form and
// that the original request is not modified.
func TestMiddlewareFunc(t *testing.T) {
	k := testKeys()
	v := newVerifier(t, mainConfig())
	tok := sign(t, jwt.SigningMethodEdDSA, k.ed, "ed", claims(nil))
	entry := auth.EncodeProtocolToken("", tok)
	r := newRequest(t, nil)
	r.Header.Set("Sec-WebSocket-Protocol", "chat.v1, "+entry)
	var got string
	h := auth.Middleware(v)(http.HandlerFunc(func(w http.ResponseWriter, r2 *http.Request) {
		got = r2.Header.Get("Sec-WebSocket-Protocol")
	}))
	rec := serve(h, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if got != "chat.v1" {
		t.Errorf("next saw %q, want chat.v1", got)
	}
	if orig := r.Header.Get("Sec-WebSocket-Protocol"); orig != "chat.v1, "+entry {
		t.Errorf("original request header changed to %q", orig)
	}
}
