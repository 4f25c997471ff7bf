package auth_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/auth"
)

// A Verifier with an HMAC secret checks a token sent by a browser as a
// Sec-WebSocket-Protocol entry; Middleware hands the handler the token and
// a header from which the entry is gone.
func ExampleVerifier_Middleware() {
	secret := []byte("0123456789abcdef0123456789abcdef") // ≥ 32 bytes for HS256
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	v, err := auth.New(auth.Config{
		Algorithms: []string{"HS256"},
		HMACSecret: secret,
		Audience:   "chat",
		Now:        func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := auth.TokenFromContext(r.Context())
		fmt.Println("subject:", tok.Subject, "from:", tok.Source)
		fmt.Println("protocols left:", r.Header.Get("Sec-WebSocket-Protocol"))
		// upgrader.Upgrade(w, r, nil) would select "chat.v1" here.
	}))

	raw, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice",
		"aud": "chat",
		"exp": now.Add(time.Hour).Unix(),
	}).SignedString(secret)

	r := httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.Header.Set("Sec-WebSocket-Protocol", "chat.v1, "+auth.EncodeProtocolToken("", raw))
	h.ServeHTTP(httptest.NewRecorder(), r)

	// Without a token: 401 and a plain Bearer challenge.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ws", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))

	// With an expired token: 401 and invalid_token.
	old, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "aud": "chat", "exp": now.Add(-time.Hour).Unix(),
	}).SignedString(secret)
	r = httptest.NewRequest(http.MethodGet, "/ws", nil)
	r.Header.Set("Authorization", "Bearer "+old)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output:
	// subject: alice from: protocol
	// protocols left: chat.v1
	// 401 Bearer
	// 401 Bearer error="invalid_token", error_description="token is expired"
}

// New refuses a configuration that would allow unsigned tokens, naming
// the field.
func ExampleNew() {
	_, err := auth.New(auth.Config{Algorithms: []string{"none"}})
	fmt.Println(err)
	// Output:
	// auth: invalid configuration: Algorithms[0]: "none" is never allowed
}
