package hub

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/websocket"
)

// InboundLimiter decides, after each message a session receives, whether it
// reaches OnMessage. Allow returns (true, nil) to deliver it, (false, nil) to
// drop it (the limiter counts it), or (false, err) to close the session with
// ClosePolicy and err's text as the reason. It may block (to slow a sender
// down); it must return when ctx ends. While it blocks the session reads
// nothing, control frames included; the time it blocks does not count
// against the pong deadline (the peer's pongs wait in the socket behind the
// messages being paced). ratelimit.SessionLimiter implements it.
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
// 503). A request that is not a valid opening handshake is answered with
// 400 or 426 and a *HandshakeError is returned (see CheckHandshake); if the
// upgrade fails later, the client has been sent an HTTP error and the error
// is returned. Of the permessage-deflate offers a client makes, only one the
// hub can honour is accepted (see Compression). The middleware package adds
// the rest: origin policy, auth, subprotocol choice, limits.
func (h *Hub) Accept(w http.ResponseWriter, r *http.Request, opts AcceptOptions) (*Session, error) {
	if herr := CheckHandshake(r); herr != nil {
		herr.write(w)
		return nil, herr
	}
	if err := h.reserve(); err != nil {
		return nil, err
	}
	// The hub negotiates permessage-deflate itself (deflate.go); gorilla
	// is told nothing of it, and writes the answer as one more header.
	var deflate *deflateState
	respHeader := opts.ResponseHeader
	if h.cfg.Compression.Enabled {
		if p, answer, ok := negotiateDeflate(r.Header.Values(extensionsHeader), &h.cfg.Compression); ok {
			deflate = &deflateState{Deflate: p}
			respHeader = respHeader.Clone()
			if respHeader == nil {
				respHeader = make(http.Header, 1)
			}
			// gorilla refuses the canonical key, which would clash with
			// its own negotiation; it writes keys as they are given.
			respHeader["Sec-WebSocket-Extensions"] = []string{answer}
		}
	}
	hj := &hijacker{ResponseWriter: w, writeTimeout: h.cfg.WriteTimeout, readBufferSize: h.cfg.ReadBufferSize}
	up := websocket.Upgrader{
		HandshakeTimeout: h.cfg.HandshakeTimeout,
		// Zero makes gorilla read through the bufio.Reader the hijacker
		// returns, which the session then owns (see idle.go).
		WriteBufferPool: &h.writePool,
	}
	if opts.Subprotocol != "" {
		up.Subprotocols = []string{opts.Subprotocol}
	}
	if opts.OriginChecked {
		up.CheckOrigin = func(*http.Request) bool { return true }
	}
	conn, err := up.Upgrade(hj, r, respHeader)
	if err != nil {
		h.unreserve()
		return nil, fmt.Errorf("hub: upgrade: %w", err)
	}
	s := h.newSession(conn, hj.fc, r, &opts, deflate)
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

func (h *Hub) newSession(conn *websocket.Conn, fc *flushConn, r *http.Request, opts *AcceptOptions, deflate *deflateState) *Session {
	now := time.Now()
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	s := &Session{
		id:          h.nextID(),
		hub:         h,
		conn:        conn,
		fc:          fc,
		header:      boundedHeader(r.Header, h.cfg.MaxSessionHeaderBytes),
		url:         r.URL,
		remote:      remoteAddrPort(fc.Conn),
		deflate:     deflate,
		connectedAt: now,
		ctx:         ctx,
		cancel:      cancel,
		limiter:     opts.Limiter,
		ka:          h.keepAliveFor(KeepAlive{opts.PingInterval, opts.PongTimeout, opts.IdleTimeout}),
		done:        make(chan struct{}),
	}
	s.lastActivity.Store(now.UnixNano())
	if len(opts.Metadata) > 0 {
		s.meta = make(map[string]any, len(opts.Metadata))
		for k, v := range opts.Metadata {
			s.meta[k] = v
		}
	}
	fc.in.compress = deflate != nil // RSV1 may start a message
	// No read limit in gorilla: it would answer an oversized frame with a
	// 1009 of its own, without the reason the hub gives. The reader enforces
	// the per-type limits on the reassembled, inflated message as it
	// streams in, so nothing past the limit is ever buffered (reader.go).
	conn.SetPingHandler(s.onPing)
	conn.SetPongHandler(s.onPong)
	conn.SetCloseHandler(s.onPeerClose)
	return s
}

// handshakeOnly are request headers that serve the upgrade alone; a session
// does not keep them.
var handshakeOnly = map[string]bool{
	"Connection": true, "Upgrade": true,
	"Sec-Websocket-Key": true, "Sec-Websocket-Version": true, "Sec-Websocket-Extensions": true,
}

// boundedHeader copies h, leaving out the handshake's own headers and, in
// key order, every header whose names and values would take the copy past
// limit bytes. A session keeps this copy instead of the request's map,
// whose size only the server's MaxHeaderBytes bounds.
func boundedHeader(h http.Header, limit int) http.Header {
	keys := make([]string, 0, len(h))
	for k := range h {
		if !handshakeOnly[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make(http.Header, len(keys))
	left := limit
	for _, k := range keys {
		n := len(k)
		for _, v := range h[k] {
			n += len(v) + 4 // ": " and CRLF, as on the wire
		}
		if n > left {
			continue
		}
		left -= n
		out[k] = slices.Clone(h[k])
	}
	return out
}
