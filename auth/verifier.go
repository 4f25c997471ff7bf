package auth

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// Verifier extracts and verifies tokens. It is safe for concurrent use.
// When Config.JWKSURL is set it owns a refresh goroutine: call Close when
// done with it.
type Verifier struct {
	sources        []Source
	cookieName     string
	queryParam     string
	protocolPrefix string
	realm          string

	parser     *jwt.Parser
	allowed    map[string]bool
	hmacSecret []byte
	keys       map[string]crypto.PublicKey
	jwks       *jwks // nil without JWKSURL
	newClaims  func() jwt.Claims

	closeOnce sync.Once
}

// New validates cfg and returns a Verifier. Errors wrap ErrConfig and name
// the offending field. With Config.JWKSURL set, New fetches the key set
// once and fails if it cannot.
//
// Verification always requires a signature by an allowed algorithm with a
// key of the matching type, exp (unless AllowNoExpiry), and checks nbf and
// iat (a token issued in the future is refused), each with Config.Leeway;
// iss and aud are checked when Issuer and Audience are set.
func New(cfg Config) (*Verifier, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(s.algs),
		jwt.WithLeeway(s.Leeway),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	}
	if !s.AllowNoExpiry {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if s.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(s.Now))
	}
	if s.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(s.Issuer))
	}
	if s.Audience != "" {
		opts = append(opts, jwt.WithAudience(s.Audience))
	}
	v := &Verifier{
		sources:        s.Sources,
		cookieName:     s.CookieName,
		queryParam:     s.QueryParam,
		protocolPrefix: s.ProtocolPrefix,
		realm:          s.Realm,
		parser:         jwt.NewParser(opts...),
		allowed:        s.allowed,
		hmacSecret:     s.HMACSecret,
		keys:           s.Keys,
		newClaims:      s.NewClaims,
	}
	if s.JWKSURL != "" {
		if v.jwks, err = newJWKS(s); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Close stops the JWKS background refresh (if any) and releases idle
// connections of the Verifier's own HTTP client. Keys already fetched stay
// usable. Close is idempotent and always returns nil.
func (v *Verifier) Close() error {
	v.closeOnce.Do(func() {
		if v.jwks != nil {
			v.jwks.close()
		}
	})
	return nil
}

// Verify extracts the token from r (see Config.Sources) and verifies it.
// Errors are *Error wrapping ErrMissingToken or ErrInvalidToken, with a
// Description safe to send to the client. Verify does not modify r; use
// Middleware, or StripProtocolToken on a cloned header, before upgrading.
func (v *Verifier) Verify(r *http.Request) (*Token, error) {
	raw, src, err := v.extract(r)
	if err != nil {
		return nil, err
	}
	t, err := v.VerifyToken(r.Context(), raw)
	if err != nil {
		return nil, err
	}
	t.Source = src
	return t, nil
}

// VerifyToken verifies a raw token obtained by other means (for example a
// re-authentication message on an open session). ctx bounds a JWKS refresh
// triggered by an unknown kid.
func (v *Verifier) VerifyToken(ctx context.Context, raw string) (*Token, error) {
	if raw == "" {
		return nil, missing()
	}
	if len(raw) > maxTokenLen {
		return nil, invalid(descTooLarge, nil)
	}
	claims := v.newClaims()
	jt, err := v.parser.ParseWithClaims(raw, claims, v.keyfunc(ctx))
	if err != nil {
		return nil, v.describe(jt, err)
	}
	t := &Token{Claims: claims, raw: raw, Algorithm: jt.Method.Alg()}
	t.KeyID, _ = jt.Header["kid"].(string)
	t.Subject, _ = claims.GetSubject()
	if exp, _ := claims.GetExpirationTime(); exp != nil {
		t.ExpiresAt = exp.Time
	}
	return t, nil
}

// keyError carries a description out of the keyfunc through golang-jwt's
// error wrapping.
type keyError struct{ e *Error }

func (k keyError) Error() string { return k.e.Description }

// keyfunc selects the verification key: HMACSecret for HS*, otherwise the
// key named by kid in Keys, then in the JWKS ("" / no kid: Keys[""], then
// every JWKS key). Every key returned has been checked to fit alg.
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		if !v.allowed[alg] { // WithValidMethods already refused it; belt and braces
			return nil, keyError{invalid(descAlgorithm, nil)}
		}
		fam, _, _ := algorithm(alg)
		if fam == famHMAC {
			return v.hmacSecret, nil
		}
		kidVal, has := t.Header["kid"]
		kid, isString := kidVal.(string)
		if has && !isString {
			return nil, keyError{invalid(descMalformed, nil)}
		}
		if key, ok := v.keys[kid]; ok {
			kf, _ := keyFamily(key)
			if !keyFits(alg, kf, key) {
				return nil, keyError{invalid(descKeyMismatch, nil)}
			}
			return key, nil
		}
		if v.jwks == nil {
			if kid == "" {
				return nil, keyError{invalid(descNoKID, nil)}
			}
			return nil, keyError{invalid(descUnknownKID, nil)}
		}
		keys, e := v.jwks.lookup(ctx, kid, alg)
		if e != nil {
			return nil, keyError{e}
		}
		if len(keys) == 1 {
			return keys[0], nil
		}
		return jwt.VerificationKeySet{Keys: keys}, nil
	}
}

// describe maps a golang-jwt error to an *Error with a fixed, client-safe
// description. The jwt error stays reachable through errors.Is/As but is
// never part of the message.
func (v *Verifier) describe(jt *jwt.Token, err error) *Error {
	var ke keyError
	if errors.As(err, &ke) {
		ke.e.cause = err
		return ke.e
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return invalid(descMalformed, err)
	}
	if jt != nil {
		if alg, _ := jt.Header["alg"].(string); !v.allowed[alg] {
			return invalid(descAlgorithm, err)
		}
	}
	for _, m := range []struct {
		target error
		desc   string
	}{
		{jwt.ErrTokenSignatureInvalid, descSignature},
		{jwt.ErrTokenExpired, descExpired},
		{jwt.ErrTokenNotValidYet, descNotYetValid},
		{jwt.ErrTokenUsedBeforeIssued, descIssuedInFuture},
		{jwt.ErrTokenInvalidIssuer, descIssuer},
		{jwt.ErrTokenInvalidAudience, descAudience},
		{jwt.ErrTokenRequiredClaimMissing, descNoExpiry},
		{jwt.ErrTokenInvalidClaims, descClaims},
	} {
		if errors.Is(err, m.target) {
			return invalid(m.desc, err)
		}
	}
	return invalid(descUnverifiable, err)
}
