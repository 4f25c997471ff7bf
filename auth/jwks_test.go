package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/auth"
)

// jwksServer serves a JWK Set that the test can replace, on 127.0.0.1.
type jwksServer struct {
	url     string
	body    atomic.Pointer[[]byte]
	status  atomic.Int32
	fetches atomic.Int64
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	j := &jwksServer{}
	j.status.Store(http.StatusOK)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(j.status.Load()))
		if b := j.body.Load(); b != nil {
			_, _ = w.Write(*b)
		}
	}))
	j.url = srv.URL + "/jwks.json"
	return j
}

// set publishes the given public keys, by kid, with alg metadata.
func (j *jwksServer) set(t *testing.T, keys map[string]crypto.PublicKey, algs map[string]jwkset.ALG) {
	t.Helper()
	var set jwkset.JWKSMarshal
	for kid, pub := range keys {
		jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{
			Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: algs[kid], USE: jwkset.UseSig},
		})
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	j.body.Store(&b)
}

func jwksConfig(url string) auth.Config {
	return auth.Config{
		Algorithms: []string{"RS256", "ES256"},
		JWKSURL:    url,
		Issuer:     testIssuer,
		Audience:   testAudience,
		Now:        fixedNow,
	}
}

// get sends a plain HTTP request with a bearer token through srv and
// returns the status, the challenge and the body.
func get(t *testing.T, url, tok string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), strings.TrimSpace(string(b))
}

func subjectHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := auth.TokenFromContext(r.Context())
		_, _ = io.WriteString(w, tok.Subject+" "+tok.KeyID)
	})
}

// TestJWKSRotation: a token signed with a key that appears in the JWKS
// after New is accepted on first use (the unknown kid triggers one
// rate-limited refresh, no sleeping), and the rotated-out key is refused
// without another fetch.
func TestJWKSRotation(t *testing.T) {
	k := testKeys()
	js := newJWKSServer(t)
	js.set(t, map[string]crypto.PublicKey{"k1": &k.rsa.PublicKey}, map[string]jwkset.ALG{"k1": jwkset.AlgRS256})

	v := newVerifier(t, jwksConfig(js.url))
	srv := newServer(t, v.Middleware(subjectHandler()))
	tok1 := sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims(nil))
	tok2 := sign(t, jwt.SigningMethodES256, k.ec, "k2", claims(nil))

	steps := []struct {
		name      string
		rotate    bool
		tok       string
		status    int
		challenge string
		body      string
		fetches   int64
	}{
		{name: "old key before rotation", tok: tok1, status: 200, body: "alice k1", fetches: 1},
		{name: "new key after rotation", rotate: true, tok: tok2, status: 200, body: "alice k2", fetches: 2},
		{name: "old key after rotation", tok: tok1, status: 401, challenge: invalidChallenge("unknown key id"), body: "unauthorized: unknown key id", fetches: 2},
		{name: "new key again", tok: tok2, status: 200, body: "alice k2", fetches: 2},
	}
	for _, s := range steps {
		if s.rotate {
			js.set(t, map[string]crypto.PublicKey{"k2": &k.ec.PublicKey}, map[string]jwkset.ALG{"k2": jwkset.AlgES256})
		}
		status, challenge, body := get(t, srv.URL, s.tok)
		if status != s.status || challenge != s.challenge || body != s.body {
			t.Errorf("%s: got %d %q %q, want %d %q %q", s.name, status, challenge, body, s.status, s.challenge, s.body)
		}
		if n := js.fetches.Load(); n != s.fetches {
			t.Errorf("%s: %d JWKS fetches, want %d", s.name, n, s.fetches)
		}
	}
}

// TestJWKSRefusals covers tokens refused by JWKS key metadata and type.
func TestJWKSRefusals(t *testing.T) {
	k := testKeys()
	js := newJWKSServer(t)
	js.set(t, map[string]crypto.PublicKey{
		"rsa":    &k.rsa.PublicKey,
		"ec-any": &k.ec.PublicKey,
	}, map[string]jwkset.ALG{"rsa": jwkset.AlgRS256})
	cfg := jwksConfig(js.url)
	cfg.Algorithms = []string{"RS256", "PS256", "ES256", "ES384"}
	otherEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, cfg)
	srv := newServer(t, v.Middleware(subjectHandler()))

	tests := []struct {
		name      string
		tok       string
		status    int
		challenge string
	}{
		{"no kid tries every fitting key", sign(t, jwt.SigningMethodES256, k.ec, "", claims(nil)), 200, ""},
		{"no kid, no key of the algorithm", sign(t, jwt.SigningMethodES384, k.ec384, "", claims(nil)), 401, invalidChallenge("no key for algorithm")},
		{"no kid, wrong key", sign(t, jwt.SigningMethodES256, otherEC, "", claims(nil)), 401, invalidChallenge("token signature is invalid")},
		{"JWK alg RS256, token PS256", sign(t, jwt.SigningMethodPS256, k.rsa, "rsa", claims(nil)), 401, invalidChallenge("key does not match algorithm")},
		{"ES256 token naming the RSA JWK", sign(t, jwt.SigningMethodES256, k.ec, "rsa", claims(nil)), 401, invalidChallenge("key does not match algorithm")},
		{"HS256 signed with RSA PEM", sign(t, jwt.SigningMethodHS256, publicPEM(t, &k.rsa.PublicKey), "rsa", claims(nil)), 401, invalidChallenge("algorithm not allowed")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, challenge, _ := get(t, srv.URL, tc.tok)
			if status != tc.status || challenge != tc.challenge {
				t.Errorf("got %d %q, want %d %q", status, challenge, tc.status, tc.challenge)
			}
		})
	}
}

func TestJWKSFirstFetchFails(t *testing.T) {
	js := newJWKSServer(t)
	js.status.Store(http.StatusInternalServerError)
	_, err := auth.New(jwksConfig(js.url))
	if !errors.Is(err, auth.ErrConfig) || !strings.Contains(err.Error(), "JWKSURL") {
		t.Fatalf("New = %v, want ErrConfig naming JWKSURL", err)
	}
}

func TestJWKSTooLarge(t *testing.T) {
	js := newJWKSServer(t)
	big := []byte(`{"keys":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`)
	js.body.Store(&big)
	_, err := auth.New(jwksConfig(js.url))
	if !errors.Is(err, auth.ErrConfig) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("New = %v, want ErrConfig about the size", err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	k := testKeys()
	js := newJWKSServer(t)
	js.set(t, map[string]crypto.PublicKey{"k1": &k.rsa.PublicKey}, nil)
	v, err := auth.New(jwksConfig(js.url))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := v.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	// Keys already fetched stay usable after Close.
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims(nil))
	if _, err := v.VerifyToken(context.Background(), tok); err != nil {
		t.Fatalf("VerifyToken after Close: %v", err)
	}
}
