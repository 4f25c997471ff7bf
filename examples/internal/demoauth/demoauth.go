// Package demoauth is the token setup of the router examples: HS256 JWTs
// signed with a shared secret, which must carry a subject (sub). It can mint
// tokens too, so the examples can be tried without other tools.
package demoauth

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/wsgate/wsgate/auth"
)

// MinSecret is the shortest secret HS256 accepts (RFC 7518 section 3.2).
const MinSecret = 32

// Claims are the claims the examples accept: the registered ones, with sub
// required.
type Claims struct {
	jwt.RegisteredClaims
}

var errNoSubject = errors.New("token has no subject")

// Validate refuses a token without a subject; golang-jwt calls it after the
// standard checks.
func (c *Claims) Validate() error {
	if c.Subject == "" {
		return errNoSubject
	}
	return nil
}

// Verifier returns a verifier of HS256 tokens signed with secret, read from
// the Authorization header or the Sec-WebSocket-Protocol entry, and, when
// allowQuery is set, from the access_token query parameter too.
func Verifier(secret string, allowQuery bool, logger *slog.Logger) (*auth.Verifier, error) {
	if len(secret) < MinSecret {
		return nil, fmt.Errorf("-jwt-secret must be at least %d bytes (try: openssl rand -hex 32)", MinSecret)
	}
	sources := []auth.Source{auth.FromHeader, auth.FromProtocol}
	if allowQuery {
		sources = append(sources, auth.FromQuery)
	}
	return auth.New(auth.Config{
		Sources:    sources,
		Algorithms: []string{"HS256"},
		HMACSecret: []byte(secret),
		NewClaims:  func() jwt.Claims { return &Claims{} },
		Leeway:     30 * time.Second,
		Logger:     logger,
	})
}

// Mint returns an HS256 token for sub, signed with secret, issued now and
// valid for ttl.
func Mint(secret, sub string, ttl time.Duration) (string, error) {
	if len(secret) < MinSecret {
		return "", fmt.Errorf("-jwt-secret must be at least %d bytes", MinSecret)
	}
	if sub == "" {
		return "", errNoSubject
	}
	now := time.Now()
	claims := Claims{jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
}

// Subject returns the subject of the token the verifier's middleware put in
// ctx (a request's or a session's context), or "".
func Subject(ctx context.Context) string {
	if tok, ok := auth.TokenFromContext(ctx); ok {
		return tok.Subject
	}
	return ""
}

// Flags are the token flags the chi and Echo examples share: the HS256
// secret and -mint-token.
type Flags struct {
	Secret string // from -jwt-secret, or $WSGATE_JWT_SECRET
	mint   string
	ttl    time.Duration
}

// Register defines -jwt-secret, -mint-token and -token-ttl on fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Secret, "jwt-secret", "", "HS256 `secret` of the tokens, at least 32 bytes (default $WSGATE_JWT_SECRET)")
	fs.StringVar(&f.mint, "mint-token", "", "print an HS256 token for this `subject` and exit")
	fs.DurationVar(&f.ttl, "token-ttl", time.Hour, "lifetime of the token -mint-token prints")
}

// Resolve fills Secret from the environment when the flag was not given
// and, when -mint-token was, prints a token to w and reports done.
func (f *Flags) Resolve(w io.Writer) (done bool, err error) {
	if f.Secret == "" {
		f.Secret = os.Getenv("WSGATE_JWT_SECRET")
	}
	if f.mint == "" {
		return false, nil
	}
	tok, err := Mint(f.Secret, f.mint, f.ttl)
	if err != nil {
		return true, err
	}
	_, err = fmt.Fprintln(w, tok)
	return true, err
}
