package hub

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// InboundLimiter decides, after each message a session receives, whether it
// reaches OnMessage. Allow returns (true, nil) to deliver it, (false, nil) to
// drop it (the limiter counts it), or (false, err) to close the session with
// ClosePolicy and err's text as the reason. It may block (to slow a sender
// down); it must return when ctx ends. ratelimit.SessionLimiter implements it.
type InboundLimiter interface {
	Allow(ctx context.Context) (bool, error)
}

// AcceptOptions are per-session settings for Accept. The zero value takes
// every default from the hub's Config.
type AcceptOptions struct {
	// Subprotocol is the subprotocol to select; the client must have offered
	// it. Empty selects none.
	Subprotocol string
	// ResponseHeader is added to the 101 response (Set-Cookie, for example).
	ResponseHeader http.Header
	// OriginChecked says the caller has already applied an origin policy
	// (the middleware package does). Otherwise Accept refuses a request whose
	// Origin host differs from its Host with 403.
	OriginChecked bool
	// PingInterval, PongTimeout and IdleTimeout override the hub's values
	// for this session when non-zero; a negative value disables.
	PingInterval, PongTimeout, IdleTimeout time.Duration
	// Limiter, if set, is consulted for each message the session receives.
	Limiter InboundLimiter
	// Metadata is copied into the session's metadata before OnConnect.
	Metadata map[string]any
	// OnClose, if set, is called once when this session ends, after the
	// hub's OnClose callback. The middleware uses it to release connection
	// slots.
	OnClose func(s *Session)
}

// Accept upgrades the request to a WebSocket and attaches the session to the
// hub. It returns as soon as the session is running; the session lives on in
// its own goroutine (so the HTTP server's per-request buffers are freed) and
// its Done channel closes when it ends.
//
// Accept answers nothing and returns ErrShuttingDown or ErrFull when the hub
// cannot admit a session, so the caller can reply (the middleware sends
// 503). If the upgrade itself fails, the client has been sent an HTTP error
// and the error is returned. Accept makes only the checks gorilla/websocket
// makes; the middleware package adds the rest (version, origin policy, auth,
// limits).
func (h *Hub) Accept(w http.ResponseWriter, r *http.Request, opts AcceptOptions) (*Session, error) {
	if err := h.reserve(); err != nil {
		return nil, err
	}
	hj := &hijacker{ResponseWriter: w, writeTimeout: h.cfg.WriteTimeout, readBufferSize: h.cfg.ReadBufferSize}
	up := websocket.Upgrader{
		HandshakeTimeout: h.cfg.HandshakeTimeout,
		// Zero makes gorilla read through the bufio.Reader the hijacker
		// returns, which the session then owns (see idle.go).
		WriteBufferPool:   &h.writePool,
		EnableCompression: h.cfg.Compression.Enabled,
	}
	if opts.Subprotocol != "" {
		up.Subprotocols = []string{opts.Subprotocol}
	}
	if opts.OriginChecked {
		up.CheckOrigin = func(*http.Request) bool { return true }
	}
	conn, err := up.Upgrade(hj, r, opts.ResponseHeader)
	if err != nil {
		h.unreserve()
		return nil, fmt.Errorf("hub: upgrade: %w", err)
	}
	s := h.newSession(conn, hj.fc, r, &opts)
	s.initIdleWait(hj.br)
	go s.run(opts.OnClose)
	return s, nil
}

// hijacker hands gorilla/websocket the connection wrapped in a flushConn. It
// finds the http.Hijacker through wrapping ResponseWriters (Unwrap), as
// http.ResponseController does, so logging and compressing middlewares in
// front of the route do not break the upgrade.
type hijacker struct {
	http.ResponseWriter
	writeTimeout   time.Duration
	readBufferSize int
	fc             *flushConn
	br             *bufio.Reader // the session's read buffer, over fc
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.fc = &flushConn{Conn: c, writeTimeout: h.writeTimeout}
	if brw.Reader.Buffered() > 0 {
		// The client sent data before the handshake finished; gorilla
		// refuses that when it sees the server's buffered bytes.
		return h.fc, brw, nil
	}
	h.br = bufio.NewReaderSize(h.fc, h.readBufferSize)
	return h.fc, bufio.NewReadWriter(h.br, brw.Writer), nil
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (h *hijacker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

func (h *Hub) newSession(conn *websocket.Conn, fc *flushConn, r *http.Request, opts *AcceptOptions) *Session {
	now := time.Now()
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	s := &Session{
		id:          h.nextID(),
		hub:         h,
		conn:        conn,
		fc:          fc,
		header:      r.Header,
		url:         r.URL,
		remote:      remoteAddrPort(fc.Conn),
		compress:    fc.deflate,
		connectedAt: now,
		ctx:         ctx,
		cancel:      cancel,
		limiter:     opts.Limiter,
		ka:          h.keepAliveFor(opts),
		done:        make(chan struct{}),
	}
	s.lastActivity.Store(now.UnixNano())
	if len(opts.Metadata) > 0 {
		s.meta = make(map[string]any, len(opts.Metadata))
		for k, v := range opts.Metadata {
			s.meta[k] = v
		}
	}
	if s.compress {
		conn.EnableWriteCompression(true)
		conn.SetCompressionLevel(flateLevel(h.cfg.Compression.Level))
	}
	conn.SetReadLimit(readLimit(&h.cfg))
	conn.SetPongHandler(s.onPong)
	conn.SetCloseHandler(s.onPeerClose)
	return s
}

// readLimit is gorilla's frame-level backstop; the reader enforces the exact
// per-type limits on the reassembled, inflated message.
func readLimit(c *Config) int64 {
	if c.MaxTextMessage < 0 || c.MaxBinaryMessage < 0 {
		return 0
	}
	return max(c.MaxTextMessage, c.MaxBinaryMessage)
}
