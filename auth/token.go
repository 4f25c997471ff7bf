package auth

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token is a verified token. Its raw form is kept unexported and every way
// of printing a Token (fmt verbs, slog) redacts it.
type Token struct {
	// Claims holds the decoded claims, of the type Config.NewClaims
	// returns (jwt.MapClaims by default).
	Claims jwt.Claims
	// Source is where the token was found (zero for VerifyToken).
	Source Source
	// Subject is the sub claim, "" if absent.
	Subject string
	// ExpiresAt is the exp claim; zero when the token has none (only
	// possible with Config.AllowNoExpiry). A long-lived session should be
	// ended when it passes (close 1008).
	ExpiresAt time.Time
	// KeyID is the kid header, "" if absent.
	KeyID string
	// Algorithm is the alg header, e.g. "RS256".
	Algorithm string

	raw string
}

// Raw returns the token as received, for forwarding it to an upstream that
// needs it. Never log it.
func (t *Token) Raw() string { return t.raw }

// Format prints the token's metadata with the raw token redacted, for every
// verb (including %v, %+v and %#v).
func (t Token) Format(f fmt.State, _ rune) {
	var exp string
	if !t.ExpiresAt.IsZero() {
		exp = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(f, "auth.Token{Source:%s Subject:%q ExpiresAt:%s KeyID:%q Algorithm:%q raw:[redacted]}",
		t.Source, t.Subject, exp, t.KeyID, t.Algorithm)
}

// LogValue makes slog log the token's metadata, never the raw token.
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("source", t.Source.String()),
		slog.String("sub", t.Subject),
		slog.String("alg", t.Algorithm),
	}
	if t.KeyID != "" {
		attrs = append(attrs, slog.String("kid", t.KeyID))
	}
	if !t.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.Time("exp", t.ExpiresAt))
	}
	return slog.GroupValue(attrs...)
}

var _ slog.LogValuer = Token{}

// tokenKey is the context key under which Middleware stores the *Token.
type tokenKey struct{}

// ContextWithToken returns a copy of ctx carrying t. Middleware calls it;
// it is exported for tests and for callers that verify by other means.
func ContextWithToken(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// TokenFromContext returns the token Middleware stored in ctx.
func TokenFromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(*Token)
	return t, ok && t != nil
}

// ClaimsFromContext returns the verified claims Middleware stored in ctx,
// of the type Config.NewClaims returns.
func ClaimsFromContext(ctx context.Context) (jwt.Claims, bool) {
	t, ok := TokenFromContext(ctx)
	if !ok || t.Claims == nil {
		return nil, false
	}
	return t.Claims, true
}
