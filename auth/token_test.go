package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/auth"
)

// TestTokenNeverPrintsRaw prints a Token every way a careless handler
// might and checks the raw token never appears.
func TestTokenNeverPrintsRaw(t *testing.T) {
	k := testKeys()
	v := newVerifier(t, mainConfig())
	raw := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(nil))
	tok, err := v.Verify(newRequest(t, bearer(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Raw() != raw {
		t.Fatal("Raw() does not return the token")
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("hello", "token", tok, "value", *tok)
	logger.Info("text", "token", fmt.Sprint(tok))
	js, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", tok),
		"%+v":  fmt.Sprintf("%+v", tok),
		"%#v":  fmt.Sprintf("%#v", tok),
		"%s":   fmt.Sprintf("%s", tok),
		"%q":   fmt.Sprintf("%q", tok),
		"*%v":  fmt.Sprintf("%v", *tok),
		"*%#v": fmt.Sprintf("%#v", *tok),
		"slog": logs.String(),
		"json": string(js),
	}
	sig := raw[strings.LastIndexByte(raw, '.')+1:]
	for name, out := range outputs {
		if strings.Contains(out, sig) {
			t.Errorf("%s prints the token: %s", name, out)
		}
	}
	if !strings.Contains(outputs["%v"], `Subject:"alice"`) || !strings.Contains(outputs["%v"], "[redacted]") {
		t.Errorf("%%v = %s", outputs["%v"])
	}
}

// TestVerifyErrors checks the error values: kinds, descriptions, jwt
// causes reachable with errors.Is, and no token in the message.
func TestVerifyErrors(t *testing.T) {
	k := testKeys()
	v := newVerifier(t, mainConfig())
	expired := sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims(func(c *jwt.RegisteredClaims) {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour))
	}))
	tests := []struct {
		name  string
		hdr   http.Header
		kind  error
		cause error
		desc  string
	}{
		{"missing", nil, auth.ErrMissingToken, nil, ""},
		{"expired", bearer(expired), auth.ErrInvalidToken, jwt.ErrTokenExpired, "token is expired"},
		{"malformed", bearer("a.b.c"), auth.ErrInvalidToken, jwt.ErrTokenMalformed, "token is malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Verify(newRequest(t, tc.hdr))
			if tok != nil {
				t.Fatal("token returned with an error")
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err %v is not %v", err, tc.kind)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err %v does not wrap %v", err, tc.cause)
			}
			var e *auth.Error
			if !errors.As(err, &e) || e.Description != tc.desc {
				t.Fatalf("err %#v, want description %q", err, tc.desc)
			}
			if strings.Contains(err.Error(), expired[20:]) {
				t.Error("error message contains the token")
			}
		})
	}
}

type roomClaims struct {
	jwt.RegisteredClaims
	Room  string   `json:"room"`
	Roles []string `json:"roles"`
}

// TestCustomClaims: a custom claims type reaches the handler through
// ClaimsFromContext, and the default is jwt.MapClaims.
func TestCustomClaims(t *testing.T) {
	k := testKeys()
	cfg := mainConfig()
	cfg.NewClaims = func() jwt.Claims { return &roomClaims{} }
	custom := newVerifier(t, cfg)
	def := newVerifier(t, mainConfig())

	c := &roomClaims{RegisteredClaims: *claims(nil), Room: "lobby", Roles: []string{"mod"}}
	raw := sign(t, jwt.SigningMethodES256, k.ec, "ec", c)

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := auth.ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		switch c := c.(type) {
		case *roomClaims:
			_, _ = fmt.Fprintf(w, "typed %s %s %v", c.Subject, c.Room, c.Roles)
		case jwt.MapClaims:
			_, _ = fmt.Fprintf(w, "map %s %v", c["room"], c["roles"])
		default:
			_, _ = fmt.Fprintf(w, "unexpected %T", c)
		}
	})
	for _, tc := range []struct {
		name string
		v    *auth.Verifier
		want string
	}{
		{"custom type", custom, "typed alice lobby [mod]"},
		{"default MapClaims", def, "map lobby [mod]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.v.Middleware(h))
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Authorization", "Bearer "+raw)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != tc.want {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}

func TestContextAccessors(t *testing.T) {
	ctx := context.Background()
	if _, ok := auth.TokenFromContext(ctx); ok {
		t.Error("token in empty context")
	}
	if _, ok := auth.ClaimsFromContext(ctx); ok {
		t.Error("claims in empty context")
	}
	tok := &auth.Token{Claims: jwt.MapClaims{"sub": "x"}, Subject: "x"}
	ctx = auth.ContextWithToken(ctx, tok)
	if got, ok := auth.TokenFromContext(ctx); !ok || got != tok {
		t.Error("TokenFromContext did not return the token")
	}
	if c, ok := auth.ClaimsFromContext(ctx); !ok || c.(jwt.MapClaims)["sub"] != "x" {
		t.Error("ClaimsFromContext did not return the claims")
	}
	if _, ok := auth.TokenFromContext(auth.ContextWithToken(context.Background(), nil)); ok {
		t.Error("nil token reported present")
	}
}

func TestChallengeWithRealm(t *testing.T) {
	cfg := mainConfig()
	cfg.Realm = "chat"
	v := newVerifier(t, cfg)
	rec := serve(v.Middleware(http.NotFoundHandler()), newRequest(t, nil))
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="chat"` {
		t.Errorf("missing: %q", got)
	}
	rec = serve(v.Middleware(http.NotFoundHandler()), newRequest(t, bearer("x.y.z")))
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="chat", error="invalid_token", error_description="token is malformed"` {
		t.Errorf("invalid: %q", got)
	}
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("code %d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
}
