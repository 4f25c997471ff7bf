package auth

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/http"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// maxJWKSBytes bounds a JWKS response body.
const maxJWKSBytes = 1 << 20

// jwks is a remote JWK Set, fetched and refreshed by keyfunc/jwkset.
type jwks struct {
	kf     keyfunc.Keyfunc
	cancel context.CancelFunc // ends the refresh goroutine
	client *http.Client       // owned client, nil if the user gave one
}

// newJWKS fetches s.JWKSURL once (failing if that fails) and starts the
// background refresh goroutine, which runs until close.
func newJWKS(s *settings) (*jwks, error) {
	j := &jwks{}
	client := s.JWKSClient
	if client == nil {
		base := http.DefaultTransport.(*http.Transport).Clone()
		j.client = &http.Client{Transport: base}
		client = j.client
	}
	limited := *client
	limited.Transport = limitTransport{base: client.Transport}

	ctx, cancel := context.WithCancel(context.Background())
	j.cancel = cancel
	noErrFirst := false
	logger := s.Logger
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{s.JWKSURL}, keyfunc.Override{
		Client:                    &limited,
		HTTPTimeout:               s.jwksTimeout,
		NoErrorReturnFirstHTTPReq: &noErrFirst,
		// A refresh on an unknown kid waits for the limiter at most this
		// long; when the next permit is further away, Wait fails at once,
		// so rate-limited requests are refused without blocking.
		RateLimitWaitMax: s.jwksTimeout,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				logger.WarnContext(ctx, "auth: JWKS refresh failed", "url", u, "error", err)
			}
		},
		RefreshInterval:   s.jwksRefresh,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(s.jwksMin), 1),
	})
	if err != nil {
		j.close()
		return nil, configErr("JWKSURL: first fetch failed: %v", err)
	}
	j.kf = kf
	return j, nil
}

// close stops the refresh goroutine and releases the owned client's idle
// connections.
func (j *jwks) close() {
	j.cancel()
	if j.client != nil {
		j.client.CloseIdleConnections()
	}
}

// lookup returns the verification keys for a token with the given kid and
// alg: the one key named kid, or when kid is "" every key of the set. A
// kid missing from the cached set triggers a rate-limited refresh inside
// jwkset. Keys whose JWK metadata rules out alg are dropped.
func (j *jwks) lookup(ctx context.Context, kid, alg string) ([]jwt.VerificationKey, *Error) {
	store := j.kf.Storage()
	if kid != "" {
		jwk, err := store.KeyRead(ctx, kid)
		if err != nil {
			return nil, invalid(descUnknownKID, nil)
		}
		key, ok := usableJWK(jwk, alg)
		if !ok {
			return nil, invalid(descKeyMismatch, nil)
		}
		return []jwt.VerificationKey{key}, nil
	}
	all, err := store.KeyReadAll(ctx)
	if err != nil {
		return nil, invalid(descUnverifiable, nil)
	}
	keys := make([]jwt.VerificationKey, 0, len(all))
	for _, jwk := range all {
		if key, ok := usableJWK(jwk, alg); ok {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, invalid(descNoKey, nil)
	}
	return keys, nil
}

// usableJWK returns the public key of jwk if its metadata allows verifying
// a signature made with alg and its type fits alg.
func usableJWK(jwk jwkset.JWK, alg string) (any, bool) {
	m := jwk.Marshal()
	if m.ALG != "" && string(m.ALG) != alg {
		return nil, false
	}
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, false
	}
	if len(m.KEYOPS) > 0 {
		verify := false
		for _, op := range m.KEYOPS {
			verify = verify || op == jwkset.KeyOpsVerify
		}
		if !verify {
			return nil, false
		}
	}
	key := jwk.Key()
	if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = pk.Public()
	}
	fam, err := keyFamily(key)
	if err != nil || !keyFits(alg, fam, key) {
		return nil, false
	}
	return key, true
}

// limitTransport refuses response bodies larger than maxJWKSBytes.
type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxJWKSBytes}
	return resp, nil
}

var errJWKSTooLarge = fmt.Errorf(
	"JWKS response larger than %d bytes", maxJWKSBytes)

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, errJWKSTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, errJWKSTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
