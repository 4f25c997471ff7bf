package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/auth"
)

// now is the fixed clock every test Verifier uses.
var now = time.Unix(1_900_000_000, 0)

func fixedNow() time.Time { return now }

const (
	testIssuer   = "https://issuer.test/"
	testAudience = "chat"
)

// keySet holds keys generated once per test binary (RSA generation is
// slow under -race). No private key is ever committed.
type keySet struct {
	rsa, rsa2 *rsa.PrivateKey
	rsaSmall  *rsa.PrivateKey // 1024 bits, for refusals
	ec        *ecdsa.PrivateKey
	ec384     *ecdsa.PrivateKey
	ed        ed25519.PrivateKey
	hmac      []byte
}

var testKeys = sync.OnceValue(func() *keySet {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	k := &keySet{hmac: make([]byte, 32)}
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsaSmall, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	_, err = rand.Read(k.hmac)
	must(err)
	return k
})

// claims returns valid registered claims for the fixed clock, changed by mod.
func claims(mod func(c *jwt.RegisteredClaims)) *jwt.RegisteredClaims {
	c := &jwt.RegisteredClaims{
		Issuer:    testIssuer,
		Subject:   "alice",
		Audience:  jwt.ClaimStrings{testAudience},
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
	}
	if mod != nil {
		mod(c)
	}
	return c
}

// sign signs c with method and key, setting kid when non-empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func publicPEM(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// mainConfig is the configuration of the refusal/success server: several
// algorithm families, keys by kid, issuer and audience.
func mainConfig() auth.Config {
	k := testKeys()
	return auth.Config{
		Algorithms: []string{"RS256", "PS256", "ES256", "EdDSA", "HS256"},
		HMACSecret: k.hmac,
		Keys: map[string]crypto.PublicKey{
			"rsa": &k.rsa.PublicKey,
			"ec":  &k.ec.PublicKey,
			"ed":  k.ed.Public(),
		},
		Issuer:   testIssuer,
		Audience: testAudience,
		Now:      fixedNow,
	}
}

func newVerifier(t testing.TB, cfg auth.Config) *auth.Verifier {
	t.Helper()
	v, err := auth.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// wsServer is an httptest server on 127.0.0.1 running a gorilla Upgrader
// (Subprotocols ["chat.v1"]) behind the Verifier's Middleware. After the
// upgrade it sends one text message describing what the handler saw, then
// waits for the client to close.
type wsServer struct {
	*httptest.Server
	upgrades atomic.Int64
}

func newWSServer(t testing.TB, v *auth.Verifier) *wsServer {
	t.Helper()
	s := &wsServer{}
	up := websocket.Upgrader{Subprotocols: []string{"chat.v1"}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := auth.TokenFromContext(r.Context())
		if !ok {
			http.Error(w, "no token in context", http.StatusInternalServerError)
			return
		}
		seenProto := strings.Join(r.Header.Values("Sec-WebSocket-Protocol"), "|")
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.upgrades.Add(1)
		defer conn.Close()
		msg := strings.Join([]string{
			"sub=" + tok.Subject,
			"source=" + tok.Source.String(),
			"alg=" + tok.Algorithm,
			"proto=" + seenProto,
			"query=" + r.URL.RawQuery,
		}, " ")
		if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			return
		}
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	})
	s.Server = httptest.NewServer(v.Middleware(h))
	t.Cleanup(s.Close)
	return s
}

func (s *wsServer) wsURL(query string) string {
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	if query != "" {
		u += "?" + query
	}
	return u
}

// dialResult is what a gorilla client saw.
type dialResult struct {
	status    int
	challenge string
	body      string
	selected  string // negotiated subprotocol
	msg       string // first message from the server
	err       error
}

// dial dials s with a gorilla client, offering protocols and sending hdr.
// On success it reads the server's message and closes the connection.
func dial(t testing.TB, s *wsServer, query string, protocols []string, hdr http.Header) dialResult {
	t.Helper()
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial(s.wsURL(query), hdr)
	var res dialResult
	if resp != nil {
		res.status = resp.StatusCode
		res.challenge = resp.Header.Get("WWW-Authenticate")
		b, _ := io.ReadAll(resp.Body)
		res.body = string(b)
		_ = resp.Body.Close()
	}
	if err != nil {
		res.err = err
		return res
	}
	defer conn.Close()
	res.selected = conn.Subprotocol()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, m, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	res.msg = string(m)
	_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	return res
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

// invalidChallenge is the WWW-Authenticate value for an invalid token.
func invalidChallenge(desc string) string {
	return `Bearer error="invalid_token", error_description="` + desc + `"`
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func newServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func newRequest(t testing.TB, hdr http.Header) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://example.test/ws", nil)
	maps.Copy(r.Header, hdr)
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}
