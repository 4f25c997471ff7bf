package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/auth"
)

func TestNewRefusesConfig(t *testing.T) {
	k := testKeys()
	rsaKeys := map[string]crypto.PublicKey{"": &k.rsa.PublicKey}
	small := k.rsaSmall
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs := func(mod func(c *auth.Config)) auth.Config {
		c := auth.Config{Algorithms: []string{"RS256"}, Keys: rsaKeys}
		mod(&c)
		return c
	}
	tests := []struct {
		name  string
		cfg   auth.Config
		field string
	}{
		{"no algorithms", auth.Config{Keys: rsaKeys}, "Algorithms"},
		{"alg none", rs(func(c *auth.Config) { c.Algorithms = []string{"RS256", "none"} }), "Algorithms[1]"},
		{"alg NONE", rs(func(c *auth.Config) { c.Algorithms = []string{"NONE"} }), "Algorithms[0]"},
		{"unknown alg", rs(func(c *auth.Config) { c.Algorithms = []string{"RS257"} }), "Algorithms[0]"},
		{"HS256 without secret", auth.Config{Algorithms: []string{"HS256"}}, "HMACSecret"},
		{"short HMAC secret", auth.Config{Algorithms: []string{"HS256"}, HMACSecret: make([]byte, 31)}, "HMACSecret"},
		{"HS512 secret of 32 bytes", auth.Config{Algorithms: []string{"HS256", "HS512"}, HMACSecret: make([]byte, 32)}, "HMACSecret"},
		{"secret without HS alg", rs(func(c *auth.Config) { c.HMACSecret = make([]byte, 32) }), "HMACSecret"},
		{"RS256 without keys", auth.Config{Algorithms: []string{"RS256"}}, "Keys"},
		{"HMAC secret in Keys", rs(func(c *auth.Config) { c.Keys = map[string]crypto.PublicKey{"a": []byte("secret")} }), `Keys["a"]`},
		{"private key in Keys", rs(func(c *auth.Config) { c.Keys = map[string]crypto.PublicKey{"a": k.rsa} }), `Keys["a"]`},
		{"small RSA key", rs(func(c *auth.Config) { c.Keys = map[string]crypto.PublicKey{"a": &small.PublicKey} }), `Keys["a"]`},
		{"P-224 key", rs(func(c *auth.Config) {
			c.Algorithms = []string{"ES256"}
			c.Keys = map[string]crypto.PublicKey{"a": &p224.PublicKey}
		}), `Keys["a"]`},
		{"key no algorithm can use", rs(func(c *auth.Config) { c.Keys = map[string]crypto.PublicKey{"e": &k.ec.PublicKey} }), `Keys["e"]`},
		{"ES384 only with P-256 key", rs(func(c *auth.Config) {
			c.Algorithms = []string{"ES384"}
			c.Keys = map[string]crypto.PublicKey{"e": &k.ec.PublicKey}
		}), `Keys["e"]`},
		{"unknown source", rs(func(c *auth.Config) { c.Sources = []auth.Source{auth.FromHeader, 9} }), "Sources[1]"},
		{"duplicate source", rs(func(c *auth.Config) { c.Sources = []auth.Source{auth.FromCookie, auth.FromCookie} }), "Sources[1]"},
		{"empty sources", rs(func(c *auth.Config) { c.Sources = []auth.Source{} }), "Sources"},
		{"bad cookie name", rs(func(c *auth.Config) { c.CookieName = "a b" }), "CookieName"},
		{"bad protocol prefix", rs(func(c *auth.Config) { c.ProtocolPrefix = "a,b" }), "ProtocolPrefix"},
		{"bad realm", rs(func(c *auth.Config) { c.Realm = `a"b` }), "Realm"},
		{"negative leeway", rs(func(c *auth.Config) { c.Leeway = -time.Second }), "Leeway"},
		{"JWKS over http", rs(func(c *auth.Config) { c.JWKSURL = "http://issuer.example/jwks" }), "JWKSURL"},
		{"JWKS ftp", rs(func(c *auth.Config) { c.JWKSURL = "ftp://issuer.example/jwks" }), "JWKSURL"},
		{"JWKS without asymmetric alg", auth.Config{Algorithms: []string{"HS256"}, HMACSecret: make([]byte, 32), JWKSURL: "https://issuer.example/jwks"}, "JWKSURL"},
		{"negative JWKS interval", rs(func(c *auth.Config) { c.JWKSRefreshInterval = -1 }), "JWKSRefreshInterval"},
		{"negative JWKS min interval", rs(func(c *auth.Config) { c.JWKSMinRefreshInterval = -1 }), "JWKSMinRefreshInterval"},
		{"negative JWKS timeout", rs(func(c *auth.Config) { c.JWKSTimeout = -1 }), "JWKSTimeout"},
		{"NewClaims returns nil", rs(func(c *auth.Config) { c.NewClaims = func() jwt.Claims { return nil } }), "NewClaims"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, err := auth.New(tc.cfg)
			if err == nil {
				_ = v.Close()
				t.Fatal("New accepted the config")
			}
			if !errors.Is(err, auth.ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.field+":") {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	k := testKeys()
	v, err := auth.New(auth.Config{Algorithms: []string{"HS256"}, HMACSecret: k.hmac, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok := sign(t, jwt.SigningMethodHS256, k.hmac, "", claims(nil))
	for _, tc := range []struct {
		name string
		mod  func(r *testRequest)
		want auth.Source
		err  error
	}{
		{"header is a default source", func(r *testRequest) { r.header("Authorization", "Bearer "+tok) }, auth.FromHeader, nil},
		{"protocol is a default source", func(r *testRequest) { r.header("Sec-WebSocket-Protocol", auth.EncodeProtocolToken("", tok)) }, auth.FromProtocol, nil},
		{"cookie access_token is a default source", func(r *testRequest) { r.header("Cookie", "access_token="+tok) }, auth.FromCookie, nil},
		{"query is not a default source", func(r *testRequest) { r.query("access_token=" + tok) }, 0, auth.ErrMissingToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &testRequest{r: newRequest(t, nil)}
			tc.mod(r)
			got, err := v.Verify(r.r)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Verify error = %v, want %v", err, tc.err)
			}
			if err == nil && got.Source != tc.want {
				t.Errorf("source %v, want %v", got.Source, tc.want)
			}
		})
	}
}

// TestLeeway: with a leeway, a token expired or not yet valid by less than
// the leeway passes.
func TestLeeway(t *testing.T) {
	k := testKeys()
	cfg := mainConfig()
	cfg.Leeway = time.Minute
	v := newVerifier(t, cfg)
	for _, c := range []*jwt.RegisteredClaims{
		claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-30 * time.Second)) }),
		claims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(30 * time.Second)) }),
		claims(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(30 * time.Second)) }),
	} {
		tok := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", c)
		if _, err := v.VerifyToken(t.Context(), tok); err != nil {
			t.Errorf("VerifyToken: %v", err)
		}
	}
}

func TestAllowNoExpiry(t *testing.T) {
	k := testKeys()
	cfg := mainConfig()
	cfg.AllowNoExpiry = true
	v := newVerifier(t, cfg)
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }))
	got, err := v.VerifyToken(t.Context(), tok)
	if err != nil {
		t.Fatalf("VerifyToken: %v", err)
	}
	if !got.ExpiresAt.IsZero() {
		t.Errorf("ExpiresAt = %v, want zero", got.ExpiresAt)
	}
}

type testRequest struct{ r *http.Request }

func (t *testRequest) header(k, v string) { t.r.Header.Add(k, v) }
func (t *testRequest) query(q string)     { t.r.URL.RawQuery = q }
