package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

// Config configures a Handler. The zero value upgrades same-origin requests
// with no token, no subprotocol and no limits beyond the hub's own.
type Config struct {
	// Subprotocols the endpoint speaks, most preferred first. The first one
	// the client also offered is selected. Empty means none is ever
	// selected.
	//
	// A browser that sends its token as a Sec-WebSocket-Protocol entry
	// (auth.FromProtocol) must also offer one of these, and the server must
	// select it: browsers and Node's ws fail a handshake that selects none of
	// the protocols they offered, and the token entry is never echoed. Such
	// a request with no selectable subprotocol is therefore refused with 400
	// and a warning in Logger, whether Auth or an auth middleware earlier in
	// the chain found the token.
	Subprotocols []string
	// RequireSubprotocol refuses (400) a client that offers none of
	// Subprotocols. Otherwise such a client is upgraded with no subprotocol.
	RequireSubprotocol bool

	// Origin is the origin policy. Nil means same-origin only — unless an
	// origin middleware earlier in the chain has already checked the
	// request. See package origin.
	Origin *origin.Checker
	// Auth verifies a token before the upgrade. Nil means no token is
	// required. See package auth.
	Auth *auth.Verifier
	// OnTokenExpiry is called when an authenticated session's token expires.
	// Return a later expiry (after refreshing the session's credentials, for
	// example from a message the client sent) to keep the session open;
	// return the zero time to close it with 1008 "token expired". Nil closes
	// every session when its token expires. It runs on a timer's goroutine;
	// if it panics, the session is closed with 1011.
	OnTokenExpiry func(s *hub.Session) time.Time

	// TrustedProxies lists the networks of the reverse proxies in front of
	// this endpoint: the one place to say which proxies are trusted. From a
	// peer in one of them, and only from such a peer, the handler believes
	// the forwarding headers for both uses at once:
	//   - the origin check takes the request's own origin (for same-origin
	//     requests) from Forwarded host=/proto= or X-Forwarded-Host/-Proto,
	//     as origin.Policy.TrustedProxies describes;
	//   - the client IP that the limits key on (and that
	//     ratelimit.ClientIP(s.Context()) returns) is found by walking
	//     ClientIPHeaders right to left, as ratelimit.NewIPResolver
	//     describes.
	// Both read the headers with one parser and fail closed on a malformed
	// one. Empty (the default): no proxy is trusted, the socket address is
	// the client and the request's Host and TLS state give its own origin.
	//
	// Set trust here or in the older places, not both: New refuses
	// TrustedProxies together with ClientIP, or with an Origin whose
	// Policy already has TrustedProxies. An Origin without TrustedProxies is
	// used with these proxies added. A limiter's own Resolver
	// (ConnConfig.Resolver, RateConfig.Resolver) still overrides the client
	// IP for that limiter; leave it nil.
	TrustedProxies []netip.Prefix
	// ClientIPHeaders names the headers read for the client IP from a
	// trusted proxy, in order of precedence: "X-Forwarded-For", "X-Real-IP",
	// "Forwarded" (see ratelimit.NewIPResolver). List only headers your
	// proxies set or overwrite; a header a proxy passes through is written
	// by the client. Nil means all three in that order. It needs
	// TrustedProxies.
	ClientIPHeaders []string
	// ClientIP finds the client's address behind trusted proxies for the
	// limits below. Nil means the socket address, or, with TrustedProxies,
	// a resolver built from TrustedProxies and ClientIPHeaders. Prefer
	// TrustedProxies, which also feeds the origin check; New refuses both.
	ClientIP *ratelimit.IPResolver
	// Handshakes limits upgrade attempts per client IP (429).
	Handshakes *ratelimit.HandshakeLimiter
	// Connections limits open sessions globally, per IP and per user (the
	// token's subject) (503).
	Connections *ratelimit.ConnLimiter
	// Messages limits inbound messages per session and globally.
	Messages *ratelimit.MessageLimiter

	// Admit, if set, runs after every other check, just before the upgrade.
	// It may fill in opts (metadata, keep-alive overrides) or refuse the
	// request by returning an error: a *Refusal chooses the status, any
	// other error is answered with 403.
	Admit func(r *http.Request, opts *hub.AcceptOptions) error

	// RetryAfter is sent with 503 when the hub is full or shutting down.
	// Zero means 5s.
	RetryAfter time.Duration
	// Logger receives refusals and session starts at debug level, with the
	// remote address and path, never a token. Nil means silent.
	Logger *slog.Logger
}

// Handler upgrades requests into sessions of a hub. It is an http.Handler
// for a dedicated route; Wrap serves a page and a socket on one path.
type Handler struct {
	hub   *hub.Hub
	cfg   Config
	chain http.Handler
	log   *slog.Logger

	refusals refusalCounts
}

// ErrConfig is wrapped by every error New returns; the message names the
// bad field.
var ErrConfig = errors.New("middleware: invalid config")

// New returns a Handler that attaches sessions to h, or an error naming the
// first invalid field of cfg.
func New(h *hub.Hub, cfg Config) (*Handler, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: hub is nil", ErrConfig)
	}
	seen := make(map[string]bool)
	for i, p := range cfg.Subprotocols {
		if p == "" || !isToken(p) {
			return nil, fmt.Errorf("%w: Subprotocols[%d] %q is not an HTTP token", ErrConfig, i, p)
		}
		if seen[p] {
			return nil, fmt.Errorf("%w: Subprotocols[%d] %q is listed twice", ErrConfig, i, p)
		}
		seen[p] = true
	}
	if cfg.RequireSubprotocol && len(cfg.Subprotocols) == 0 {
		return nil, fmt.Errorf("%w: RequireSubprotocol needs Subprotocols", ErrConfig)
	}
	if cfg.RetryAfter < 0 {
		return nil, fmt.Errorf("%w: RetryAfter must not be negative", ErrConfig)
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = 5 * time.Second
	}
	if err := applyTrust(&cfg); err != nil {
		return nil, err
	}
	cfg.Subprotocols = slices.Clone(cfg.Subprotocols)
	m := &Handler{hub: h, cfg: cfg, log: cfg.Logger}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}

	// The checks, outermost first, in the order of the data flow (package doc).
	var chain http.Handler = http.HandlerFunc(m.upgrade)
	if cfg.Connections != nil {
		chain = ratelimit.Users(cfg.Connections, subject)(chain)
	}
	if cfg.Auth != nil {
		chain = auth.Middleware(cfg.Auth)(chain)
	}
	oc := cfg.Origin
	if oc == nil {
		sameOrigin, err := origin.New(origin.Policy{TrustedProxies: cfg.TrustedProxies})
		if err != nil {
			return nil, err
		}
		oc = sameOrigin
		chain = skipIfChecked(origin.Middleware(oc)(chain), chain)
	} else {
		chain = origin.Middleware(oc)(chain)
	}
	if cfg.Connections != nil {
		chain = ratelimit.Connections(cfg.Connections)(chain)
	}
	if cfg.Handshakes != nil {
		chain = ratelimit.Handshakes(cfg.Handshakes)(chain)
	}
	if cfg.ClientIP != nil {
		chain = ratelimit.RealIP(cfg.ClientIP)(chain)
	}
	m.chain = chain
	return m, nil
}

// applyTrust validates TrustedProxies and ClientIPHeaders and turns them
// into cfg.ClientIP and, when cfg.Origin is set, a Checker that trusts the
// same proxies (a nil Origin gets them where New builds its default).
func applyTrust(cfg *Config) error {
	if len(cfg.TrustedProxies) == 0 {
		if len(cfg.ClientIPHeaders) > 0 {
			return fmt.Errorf("%w: ClientIPHeaders needs TrustedProxies", ErrConfig)
		}
		return nil
	}
	for i, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return fmt.Errorf("%w: TrustedProxies[%d] is not a valid prefix (the zero netip.Prefix, or bits out of range)", ErrConfig, i)
		}
	}
	if cfg.ClientIP != nil {
		return fmt.Errorf("%w: ClientIP and TrustedProxies are both set: trust proxies in one place (TrustedProxies, with ClientIPHeaders)", ErrConfig)
	}
	cfg.TrustedProxies = slices.Clone(cfg.TrustedProxies)
	res, err := ratelimit.NewIPResolver(cfg.TrustedProxies, cfg.ClientIPHeaders...)
	if err != nil {
		return fmt.Errorf("%w: ClientIPHeaders: %w", ErrConfig, err)
	}
	cfg.ClientIP = res
	if cfg.Origin != nil {
		p := cfg.Origin.Policy()
		if len(p.TrustedProxies) > 0 {
			return fmt.Errorf("%w: Origin's Policy.TrustedProxies and TrustedProxies are both set: trust proxies in one place (TrustedProxies)", ErrConfig)
		}
		p.TrustedProxies = cfg.TrustedProxies
		oc, err := origin.New(p)
		if err != nil {
			return fmt.Errorf("%w: TrustedProxies: %w", ErrConfig, err)
		}
		cfg.Origin = oc
	}
	return nil
}

// skipIfChecked runs check unless an origin middleware has already run for
// the request, in which case it goes straight to next.
func skipIfChecked(check, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin.Checked(r.Context()) {
			next.ServeHTTP(w, r)
			return
		}
		check.ServeHTTP(w, r)
	})
}

// subject is the per-user key for connection limits: the token's subject.
func subject(r *http.Request) string {
	if tok, ok := auth.TokenFromContext(r.Context()); ok {
		return tok.Subject
	}
	return ""
}

// ServeHTTP answers a request that is not a valid WebSocket upgrade with 400
// (or 426 for a wrong version) and upgrades one that passes every check.
func (m *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !IsWebSocket(r) {
		m.counted(w, r, http.HandlerFunc(m.notWebSocket))
		return
	}
	m.serve(w, r)
}

func (m *Handler) notWebSocket(w http.ResponseWriter, r *http.Request) {
	m.refuse(w, r, refuse(http.StatusBadRequest, "not a WebSocket handshake"))
}

// Wrap returns a handler that upgrades WebSocket requests and passes every
// other request to next, so one path can serve a page and its socket.
func (m *Handler) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsWebSocket(r) {
			m.serve(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// upgrade is the end of the chain: the handshake rules, the subprotocol,
// Admit, then the hub.
func (m *Handler) upgrade(w http.ResponseWriter, r *http.Request) {
	if herr := hub.CheckHandshake(r); herr != nil {
		m.refuse(w, r, &Refusal{Status: herr.Status, Reason: herr.Reason, Header: herr.Header()})
		return
	}
	proto := selectProtocol(m.cfg.Subprotocols, offeredProtocols(r.Header))
	if proto == "" && m.cfg.RequireSubprotocol {
		m.refuse(w, r, refuse(http.StatusBadRequest, "no supported subprotocol offered"))
		return
	}
	if tok, ok := auth.TokenFromContext(r.Context()); ok && proto == "" && tok.Source == auth.FromProtocol {
		m.refuseProtocolToken(w, r)
		return
	}
	opts := hub.AcceptOptions{Subprotocol: proto, OriginChecked: true}
	if m.cfg.Messages != nil {
		opts.Limiter = m.cfg.Messages.Session()
	}
	if m.cfg.Admit != nil {
		if err := m.cfg.Admit(r, &opts); err != nil {
			var ref *Refusal
			switch {
			case !errors.As(err, &ref):
				m.log.Debug("wsgate: Admit refused", "err", err)
				ref = refuse(http.StatusForbidden, "forbidden")
			case ref == nil: // a typed nil *Refusal, whose Error would panic
				ref = refuse(http.StatusForbidden, "forbidden")
			case ref.Status < 300 || ref.Status > 599:
				// net/http panics on a status outside 100-999, and a 1xx or
				// 2xx answer would not be a refusal.
				m.log.Debug("wsgate: Admit returned an invalid status", "status", ref.Status)
				ref = refuse(http.StatusInternalServerError, "internal server error")
			}
			m.refuse(w, r, ref)
			return
		}
	}
	// The connection slots taken earlier in the chain now belong to the
	// session, which outlives this request.
	release := ratelimit.Detach(r.Context())
	expiry := &tokenExpiry{}
	appClose := opts.OnClose
	opts.OnClose = func(s *hub.Session) {
		expiry.stop()
		release()
		if appClose != nil {
			appClose(s)
		}
	}
	s, err := m.hub.Accept(w, r, opts)
	switch {
	case errors.Is(err, hub.ErrFull):
		release()
		m.refuse(w, r, unavailable("too many connections", m.cfg.RetryAfter))
		return
	case errors.Is(err, hub.ErrShuttingDown):
		release()
		m.refuse(w, r, unavailable("server shutting down", m.cfg.RetryAfter))
		return
	case err != nil:
		release() // the upgrade failed and gorilla has answered
		m.log.Debug("wsgate: upgrade failed", "remote", r.RemoteAddr, "path", r.URL.Path, "err", err)
		return
	}
	m.log.Debug("wsgate: session started", "session", s.ID(), "remote", r.RemoteAddr, "path", r.URL.Path)
	if tok, ok := auth.TokenFromContext(r.Context()); ok && !tok.ExpiresAt.IsZero() {
		expiry.start(s, tok.ExpiresAt, m.cfg.OnTokenExpiry)
	}
}

// refuseProtocolToken answers a client that sent its token as a
// Sec-WebSocket-Protocol entry but offered no subprotocol the handler
// selects. Browsers and Node's ws fail such a handshake on their side
// ("Server sent no subprotocol": they offered protocols and none came back),
// and the token entry itself is never echoed, so upgrading would only hide
// the mistake from lenient clients and from the logs. The 400 makes every
// client see it, and the warning names the setting.
func (m *Handler) refuseProtocolToken(w http.ResponseWriter, r *http.Request) {
	reason := "token sent in Sec-WebSocket-Protocol, but the client offered none of the server's subprotocols"
	if len(m.cfg.Subprotocols) == 0 {
		reason = "token sent in Sec-WebSocket-Protocol, but the server selects no subprotocol (middleware.Config.Subprotocols is empty)"
	}
	m.log.Warn("wsgate: refused a token sent as a subprotocol: set middleware.Config.Subprotocols, and have clients offer one of them next to the token entry",
		"subprotocols", m.cfg.Subprotocols, "remote", r.RemoteAddr, "path", r.URL.Path)
	m.refuse(w, r, refuse(http.StatusBadRequest, reason))
}

func (m *Handler) refuse(w http.ResponseWriter, r *http.Request, ref *Refusal) {
	m.log.Debug("wsgate: refused", "status", ref.Status, "reason", ref.Reason, "remote", r.RemoteAddr, "path", r.URL.Path)
	ref.write(w)
}

// tokenExpiry closes a session when its token expires, unless the
// application's hook extends it.
type tokenExpiry struct {
	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
}

func (t *tokenExpiry) start(s *hub.Session, at time.Time, hook func(*hub.Session) time.Time) {
	var fire func()
	fire = func() {
		next := time.Time{}
		if hook != nil {
			var ok bool
			if next, ok = callExpiryHook(hook, s); !ok {
				s.Close(hub.CloseServerError, "server error")
				return
			}
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.stopped {
			return
		}
		if d := time.Until(next); d > 0 {
			t.timer = time.AfterFunc(d, fire)
			return
		}
		s.Close(hub.ClosePolicy, "token expired")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.timer = time.AfterFunc(time.Until(at), fire)
	}
}

// callExpiryHook calls hook on the timer's goroutine, where a panic would
// end the process; ok is false if it panicked.
func callExpiryHook(hook func(*hub.Session) time.Time, s *hub.Session) (next time.Time, ok bool) {
	defer func() {
		if recover() != nil {
			next, ok = time.Time{}, false
		}
	}()
	return hook(s), true
}

func (t *tokenExpiry) stop() {
	t.mu.Lock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
	t.mu.Unlock()
}

// isToken reports whether s is an HTTP token (RFC 9110 5.6.2), the syntax
// of a subprotocol name.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
