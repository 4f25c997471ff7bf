package auth

import (
	"crypto"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultCookieName is the cookie read by FromCookie.
	DefaultCookieName = "access_token"
	// DefaultQueryParam is the query parameter read by FromQuery.
	DefaultQueryParam = "access_token"
	// DefaultProtocolPrefix marks the Sec-WebSocket-Protocol entry that
	// carries the token (followed by the token in unpadded base64url).
	DefaultProtocolPrefix = "base64url.bearer.authorization."
	// DefaultJWKSRefreshInterval is how often the JWKS is fetched in the
	// background.
	DefaultJWKSRefreshInterval = time.Hour
	// DefaultJWKSMinRefreshInterval is the minimum time between two fetches
	// triggered by tokens carrying an unknown kid.
	DefaultJWKSMinRefreshInterval = 5 * time.Minute
	// DefaultJWKSTimeout bounds each JWKS fetch.
	DefaultJWKSTimeout = 10 * time.Second
)

// Config configures a Verifier. The zero value of every field but
// Algorithms (and a key: HMACSecret, Keys or JWKSURL) means the documented
// default.
type Config struct {
	// Sources lists where to look for the token, in order; the first
	// source that carries one wins, and a malformed token in a source is
	// refused rather than skipped. Nil means [FromHeader, FromProtocol,
	// FromCookie]. FromQuery is used only when listed here explicitly:
	// query strings are written to access logs (yours, your proxies' and
	// your CDN's), so prefer the protocol entry for browsers.
	Sources []Source

	// CookieName is the cookie read by FromCookie. Zero means
	// DefaultCookieName ("access_token").
	CookieName string

	// QueryParam is the query parameter read by FromQuery. Zero means
	// DefaultQueryParam ("access_token").
	QueryParam string

	// ProtocolPrefix marks the Sec-WebSocket-Protocol entry that carries
	// the token as "<ProtocolPrefix><base64url(token)>". Zero means
	// DefaultProtocolPrefix ("base64url.bearer.authorization."). Entries
	// with this prefix are always removed by Middleware, whatever Sources
	// says.
	ProtocolPrefix string

	// Algorithms is the required allow-list of JWS algorithms: any of
	// HS256 HS384 HS512 RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384
	// ES512 EdDSA. "none" is refused even if listed. A token's alg must be
	// listed AND match the type of the key it is verified with (HS* only
	// with HMACSecret, RS*/PS* only with RSA keys, ES* only with ECDSA keys
	// on the matching curve, EdDSA only with Ed25519 keys), which rules out
	// the HS256-signed-with-the-RSA-public-key confusion.
	Algorithms []string

	// HMACSecret verifies HS* tokens (their kid, if any, is ignored).
	// Required when an HS* algorithm is listed, refused otherwise, and
	// must be at least as long as the largest listed HS* hash output
	// (RFC 7518 §3.2: 32 bytes for HS256, 48 for HS384, 64 for HS512).
	HMACSecret []byte

	// Keys holds public keys (*rsa.PublicKey of at least 2048 bits,
	// *ecdsa.PublicKey on P-256/P-384/P-521, ed25519.PublicKey) by kid. The
	// key under "" verifies tokens without a kid. A token whose kid is
	// neither here nor in the JWKS is refused ("unknown key id"). See
	// ParsePublicKeyPEM. The map is copied by New.
	Keys map[string]crypto.PublicKey

	// JWKSURL, when set, is a JWK Set fetched by New (New fails if the
	// first fetch fails), refreshed every JWKSRefreshInterval and, at most
	// once per JWKSMinRefreshInterval, when a token names an unknown kid
	// (so a key rotation is picked up on first use). Keys in Keys take
	// precedence. It must be https, unless its host is a loopback address
	// or InsecureJWKSHTTP is set. Call Verifier.Close to stop the refresh.
	JWKSURL string

	// JWKSRefreshInterval is the background refresh period. Zero means
	// DefaultJWKSRefreshInterval (1 h).
	JWKSRefreshInterval time.Duration

	// JWKSMinRefreshInterval rate-limits refreshes triggered by unknown
	// kids, so a client sending random kids cannot make the Verifier hammer
	// the key server. Zero means DefaultJWKSMinRefreshInterval (5 min).
	JWKSMinRefreshInterval time.Duration

	// JWKSTimeout bounds each JWKS fetch. Zero means DefaultJWKSTimeout
	// (10 s). Responses larger than 1 MiB are refused.
	JWKSTimeout time.Duration

	// JWKSClient fetches the JWKS. Nil means a client owned by the
	// Verifier (a clone of http.DefaultTransport), whose idle connections
	// Close releases.
	JWKSClient *http.Client

	// InsecureJWKSHTTP allows a plain-http JWKSURL on a non-loopback host.
	// Anyone on the path can then substitute their own keys.
	InsecureJWKSHTTP bool

	// Leeway is the clock skew tolerated on exp, nbf and iat. Zero means
	// none; negative is refused.
	Leeway time.Duration

	// Issuer, when set, must equal the token's iss.
	Issuer string

	// Audience, when set, must be one of the token's aud values.
	Audience string

	// AllowNoExpiry accepts tokens without an exp claim. By default exp is
	// required: a WebSocket session can outlive a token by hours, and a
	// token that never expires can never be revoked by time.
	AllowNoExpiry bool

	// NewClaims returns a fresh, non-nil pointer to the claims type tokens
	// are decoded into; it is called once per verification. Nil means
	// jwt.MapClaims, so custom claims (roles, scope …) reach handlers
	// without declaring a type. Embed jwt.RegisteredClaims in a struct for
	// typed claims.
	NewClaims func() jwt.Claims

	// Now is the clock for exp/nbf/iat checks. Nil means time.Now.
	Now func() time.Time

	// Realm, when set, is sent as realm="..." in WWW-Authenticate.
	Realm string

	// Logger receives JWKS refresh failures. Nil means silent. Tokens are
	// never logged.
	Logger *slog.Logger
}

// algFamily groups JWS algorithms by the key type that verifies them.
type algFamily int

const (
	famNone algFamily = iota
	famHMAC
	famRSA
	famECDSA
	famEd25519
)

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	allowed     map[string]bool
	algs        []string
	minHMAC     int
	asymmetric  bool
	jwksRefresh time.Duration
	jwksMin     time.Duration
	jwksTimeout time.Duration
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// validate applies defaults and checks every field; errors name the field.
func (c Config) validate() (*settings, error) {
	s := &settings{Config: c, allowed: map[string]bool{}}

	if s.Sources == nil {
		s.Sources = []Source{FromHeader, FromProtocol, FromCookie}
	}
	if len(s.Sources) == 0 {
		return nil, configErr("Sources: empty list (use nil for the default)")
	}
	seen := map[Source]bool{}
	for i, src := range s.Sources {
		if !src.valid() {
			return nil, configErr("Sources[%d]: unknown source %d", i, int(src))
		}
		if seen[src] {
			return nil, configErr("Sources[%d]: %s listed twice", i, src)
		}
		seen[src] = true
	}
	s.Sources = append([]Source(nil), s.Sources...)

	if s.CookieName == "" {
		s.CookieName = DefaultCookieName
	}
	if !isToken(s.CookieName) {
		return nil, configErr("CookieName: %q is not a valid cookie name", s.CookieName)
	}
	if s.QueryParam == "" {
		s.QueryParam = DefaultQueryParam
	}
	if s.ProtocolPrefix == "" {
		s.ProtocolPrefix = DefaultProtocolPrefix
	}
	if !isToken(s.ProtocolPrefix) {
		return nil, configErr("ProtocolPrefix: %q is not a valid subprotocol token", s.ProtocolPrefix)
	}
	if strings.ContainsAny(s.Realm, "\"\\") || !printableASCII(s.Realm) {
		return nil, configErr("Realm: must be printable ASCII without quotes or backslashes")
	}

	if len(s.Algorithms) == 0 {
		return nil, configErr("Algorithms: required (for example []string{\"RS256\"})")
	}
	for i, a := range s.Algorithms {
		if strings.EqualFold(a, "none") {
			return nil, configErr("Algorithms[%d]: \"none\" is never allowed", i)
		}
		fam, size, ok := algorithm(a)
		if !ok {
			return nil, configErr("Algorithms[%d]: unsupported algorithm %q", i, a)
		}
		if s.allowed[a] {
			continue
		}
		s.allowed[a] = true
		s.algs = append(s.algs, a)
		if fam == famHMAC {
			s.minHMAC = max(s.minHMAC, size)
		} else {
			s.asymmetric = true
		}
	}

	switch {
	case s.minHMAC > 0 && len(s.HMACSecret) == 0:
		return nil, configErr("HMACSecret: required by the HS* algorithms in Algorithms")
	case s.minHMAC == 0 && len(s.HMACSecret) > 0:
		return nil, configErr("HMACSecret: set but Algorithms lists no HS* algorithm")
	case len(s.HMACSecret) < s.minHMAC:
		return nil, configErr("HMACSecret: %d bytes, the HS* algorithms listed need at least %d", len(s.HMACSecret), s.minHMAC)
	}
	s.HMACSecret = append([]byte(nil), s.HMACSecret...)

	keys := make(map[string]crypto.PublicKey, len(s.Keys))
	for kid, k := range s.Keys {
		fam, err := keyFamily(k)
		if err != nil {
			return nil, configErr("Keys[%q]: %v", kid, err)
		}
		usable := false
		for _, a := range s.algs {
			if keyFits(a, fam, k) {
				usable = true
				break
			}
		}
		if !usable {
			return nil, configErr("Keys[%q]: no algorithm in Algorithms can use this key", kid)
		}
		keys[kid] = k
	}
	s.Keys = keys

	if s.asymmetric && len(s.Keys) == 0 && s.JWKSURL == "" {
		return nil, configErr("Keys: asymmetric algorithms listed but neither Keys nor JWKSURL is set")
	}
	if !s.asymmetric && s.JWKSURL != "" {
		return nil, configErr("JWKSURL: set but Algorithms lists no asymmetric algorithm")
	}
	if s.JWKSURL != "" {
		if err := checkJWKSURL(s.JWKSURL, s.InsecureJWKSHTTP); err != nil {
			return nil, configErr("JWKSURL: %v", err)
		}
	}
	var err error
	if s.jwksRefresh, err = durationOr("JWKSRefreshInterval", s.JWKSRefreshInterval, DefaultJWKSRefreshInterval); err != nil {
		return nil, err
	}
	if s.jwksMin, err = durationOr("JWKSMinRefreshInterval", s.JWKSMinRefreshInterval, DefaultJWKSMinRefreshInterval); err != nil {
		return nil, err
	}
	if s.jwksTimeout, err = durationOr("JWKSTimeout", s.JWKSTimeout, DefaultJWKSTimeout); err != nil {
		return nil, err
	}

	if s.Leeway < 0 {
		return nil, configErr("Leeway: negative (%v)", s.Leeway)
	}
	if s.NewClaims == nil {
		s.NewClaims = func() jwt.Claims { return jwt.MapClaims{} }
	} else if s.NewClaims() == nil {
		return nil, configErr("NewClaims: returned nil")
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

func durationOr(field string, d, def time.Duration) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, configErr("%s: negative (%v)", field, d)
	case d == 0:
		return def, nil
	}
	return d, nil
}

func checkJWKSURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("cannot parse: %w", err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !insecure && !isLoopback(u.Hostname()) {
			return fmt.Errorf("plain http to %q; use https or set InsecureJWKSHTTP", u.Hostname())
		}
	default:
		return fmt.Errorf("scheme %q is not http(s)", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("no host")
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isToken reports whether s is a non-empty RFC 9110 token (the syntax of
// cookie names and WebSocket subprotocols).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
