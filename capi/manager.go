package main

/*
#include "bridge.h"
*/
import "C"

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/auth"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/origin"
	"github.com/wsgate/wsgate/ratelimit"
)

// manager is the Go object behind a DMSCWSSessionManager.
type manager struct {
	shell *C.DMSCWSSessionManager // C memory, never freed before the manager is
	cfg   settings                // a copy, never changed

	mu       sync.Mutex // guards run, draining, past
	run      *running   // nil when not running
	draining *running   // what stop is taking down, nil otherwise
	// past accumulates the counters of hubs of earlier runs (a stopped
	// hub cannot be restarted, so each start makes a new one).
	past hub.Stats

	ids     idTable
	q       eventQueue
	polling atomic.Bool // a thread is in poll (or a callback)
}

// running is what start builds and stop takes down.
type running struct {
	h        *hub.Hub
	srv      *http.Server
	ln       net.Listener
	port     int
	served   chan struct{} // closed when Serve has returned
	verifier *auth.Verifier
}

// hubConfig maps the C settings onto the hub's Config.
func hubConfig(s settings) hub.Config {
	ms := func(v uint32) time.Duration { return time.Duration(v) * time.Millisecond }
	c := hub.Config{
		MaxConnections:    s.maxConns,
		MaxTextMessage:    s.maxText,
		MaxBinaryMessage:  s.maxBinary,
		MaxQueuedMessages: s.maxQueuedMsgs,
		MaxQueuedBytes:    s.maxQueuedBytes,
		PingInterval:      ms(s.pingIntervalMs),
		PongTimeout:       ms(s.pingTimeoutMs),
		IdleTimeout:       ms(s.idleTimeoutMs),
		Compression:       hub.Compression{Enabled: s.compression, Level: s.level},
	}
	if s.pingIntervalMs == 0 {
		c.PingInterval = -1
	}
	if s.level == 0 {
		c.Compression.Level = hub.LevelNoCompression
	}
	switch s.slowPolicy {
	case slowDropOldest:
		c.SlowPolicy = hub.DropOldest
	case slowDropNewest:
		c.SlowPolicy = hub.DropNewest
	case slowBlock:
		c.SlowPolicy = hub.Block
	default:
		c.SlowPolicy = hub.Disconnect
	}
	return c
}

// middlewareConfig maps the C settings onto the middleware's Config, with
// the origin checker, verifier and limiters they ask for.
func (m *manager) middlewareConfig() (middleware.Config, *auth.Verifier, error) {
	s := m.cfg
	mc := middleware.Config{
		Subprotocols:       s.subprotocols,
		RequireSubprotocol: s.requireSub,
		Admit:              m.admit,
	}
	pol := origin.Policy{AllowedOrigins: s.origins}
	if !s.originValidation {
		pol = origin.Policy{InsecureAllowAnyOrigin: true}
	}
	oc, err := origin.New(pol)
	if err != nil {
		return mc, nil, err
	}
	mc.Origin = oc
	if !s.proxyProtocol {
		// Behind the PROXY protocol the socket address is already the
		// client's; the trusted list then says who may send the header.
		mc.TrustedProxies = s.trustedProxies
	}
	if s.perIPLimit() {
		cl, err := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: s.maxConnsPerIP})
		if err != nil {
			return mc, nil, err
		}
		mc.Connections = cl
	}
	if s.rateEnabled {
		perSecond := float64(s.rateMessages) * 1000 / float64(s.rateWinMs)
		pol := ratelimit.Drop
		switch s.ratePolicy {
		case rateQueue:
			pol = ratelimit.Delay
		case rateReject:
			pol = ratelimit.Reject
		}
		ml, err := ratelimit.NewMessageLimiter(ratelimit.MessageConfig{
			PerSession:   rate.Limit(perSecond),
			SessionBurst: int(s.rateMessages),
			Policy:       pol,
		})
		if err != nil {
			return mc, nil, err
		}
		mc.Messages = ml
	}
	var v *auth.Verifier
	if len(s.authSecret) > 0 {
		v, err = auth.New(auth.Config{
			Algorithms: []string{"HS256"},
			HMACSecret: s.authSecret,
			Issuer:     s.issuer,
			Audience:   s.audience,
		})
		if err != nil {
			return mc, nil, err
		}
		mc.Auth = v
	}
	return mc, v, nil
}

func (s settings) perIPLimit() bool { return s.maxConnsPerIP > 0 }

// admit refuses a handshake while too many session IDs wait for their
// on_close to be polled: an application that stops polling must not let
// clients grow the event queue and the ID table without bound.
func (m *manager) admit(_ *http.Request, _ *hub.AcceptOptions) error {
	if m.ids.reserved() >= 2*m.cfg.maxConns {
		r := middleware.Refuse(http.StatusServiceUnavailable, "too many sessions waiting for the application")
		r.Header = http.Header{"Retry-After": {"5"}}
		return r
	}
	return nil
}

func (m *manager) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.run != nil || m.draining != nil {
		return errorf(codeState, "manager is already running (or stopping)")
	}
	if (m.cfg.tlsCert == "") != (m.cfg.tlsKey == "") {
		return errorf(codeConfig, "TLS needs both a certificate and a key file")
	}
	if m.cfg.proxyProtocol && len(m.cfg.trustedProxies) == 0 {
		return errorf(codeConfig, "the PROXY protocol needs at least one trusted proxy")
	}
	h, err := hub.New(hubConfig(m.cfg))
	if err != nil {
		return wrap(codeConfig, "config refused", err)
	}
	h.OnConnect(m.onConnect)
	h.OnMessage(m.onMessage)
	h.OnError(m.onError)
	h.OnClose(m.onClose)
	abandon := func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _ = h.Shutdown(ctx)
	}
	mc, verifier, err := m.middlewareConfig()
	if err != nil {
		abandon()
		return wrap(codeConfig, "config refused", err)
	}
	if verifier != nil {
		abandon = func() {
			verifier.Close()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, _ = h.Shutdown(ctx)
		}
	}
	ws, err := middleware.New(h, mc)
	if err != nil {
		abandon()
		return wrap(codeConfig, "config refused", err)
	}
	ln, port, err := listen(m.cfg)
	if err != nil {
		abandon()
		return err
	}
	r := &running{
		h:  h,
		ln: ln,
		srv: &http.Server{
			Handler:           exactPath(m.cfg.path, ws),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    16 << 10,
			// A C host's stderr is not ours to write to.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		port:     port,
		served:   make(chan struct{}),
		verifier: verifier,
	}
	go func() {
		defer close(r.served)
		_ = r.srv.Serve(ln)
	}()
	m.run = r
	return nil
}

// exactPath serves next only at path itself: a pattern ending in '/' would
// otherwise match every path below it.
func exactPath(path string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// stop shuts the server and the hub down within timeout and reports
// whether every session drained.
func (m *manager) stop(timeout time.Duration) error {
	m.mu.Lock()
	r := m.run
	if r == nil {
		m.mu.Unlock()
		return errorf(codeState, "manager is not running")
	}
	// Routing calls fail at once from now on instead of waiting for the
	// drain; start waits for it to finish.
	m.run = nil
	m.draining = r
	m.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The hub refuses new sessions first (handshakes in flight get 503);
	// http.Server.Shutdown then stops the listener and waits for those
	// requests. Hijacked connections are the hub's.
	type res struct {
		r   hub.ShutdownResult
		err error
	}
	hubDone := make(chan res, 1)
	go func() {
		sr, err := r.h.Shutdown(ctx)
		hubDone <- res{sr, err}
	}()
	_ = r.srv.Shutdown(ctx)
	hr := <-hubDone
	_ = r.srv.Close()
	<-r.served
	if r.verifier != nil {
		r.verifier.Close()
	}

	m.mu.Lock()
	addStats(&m.past, r.h.Stats())
	m.draining = nil
	m.mu.Unlock()
	m.q.wake()
	if hr.r.Forced > 0 || hr.err != nil {
		return errorf(codeTimeout, "%d sessions drained, %d forced closed after %v", hr.r.Drained, hr.r.Forced, timeout)
	}
	return nil
}

func addStats(dst *hub.Stats, s hub.Stats) {
	dst.Total += s.Total
	dst.MessagesReceived += s.MessagesReceived
	dst.BytesReceived += s.BytesReceived
	dst.MessagesSent += s.MessagesSent
	dst.BytesSent += s.BytesSent
	dst.Dropped += s.Dropped
}

// stats returns the counters since the manager was created.
func (m *manager) stats() hub.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.past
	st.Active = 0
	for _, r := range []*running{m.run, m.draining} {
		if r != nil {
			cur := r.h.Stats()
			addStats(&st, cur)
			st.Active += cur.Active
		}
	}
	st.Dropped += m.q.droppedCount()
	return st
}

// hub returns the running hub, or an error if the manager is not running.
func (m *manager) hub() (*hub.Hub, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.run == nil {
		return nil, errorf(codeState, "manager is not running")
	}
	return m.run.h, nil
}

func withManager(p *C.DMSCWSSessionManager, f func(*manager) (int, error)) (rc C.int) {
	defer guard(&rc)
	m, err := managerOf(p)
	if err != nil {
		return fail(err)
	}
	return result(f(m))
}

// wsgate_capi_check_manager is bridge.c's way to validate a manager before
// it sets a callback in it. Not part of the API.
//
//export wsgate_capi_check_manager
func wsgate_capi_check_manager(p *C.DMSCWSSessionManager) C.int {
	return withManager(p, func(*manager) (int, error) { return codeOK, nil })
}

//export dmsc_ws_session_manager_new
func dmsc_ws_session_manager_new(cp *C.DMSCWSServerConfig) (r *C.DMSCWSSessionManager) {
	defer guard(nil)
	c, err := configOf(cp)
	if err != nil {
		fail(err)
		return nil
	}
	c.mu.Lock()
	s := c.settings.clone()
	c.mu.Unlock()
	p := C.wsg_manager_alloc()
	if p == nil {
		setLastError("wsgate: out of memory")
		return nil
	}
	m := &manager{shell: p, cfg: s}
	m.ids.init()
	m.q.init(s.eventMsgs, s.eventBytes)
	p.handle = C.uintptr_t(cgo.NewHandle(m))
	register(unsafe.Pointer(p), kindManager)
	return p
}

//export dmsc_ws_session_manager_free
func dmsc_ws_session_manager_free(p *C.DMSCWSSessionManager) (rc C.int) {
	defer guard(&rc)
	if p == nil {
		return codeOK
	}
	m, err := managerOf(p)
	if err != nil {
		return fail(err)
	}
	if !m.polling.CompareAndSwap(false, true) {
		return fail(errorf(codeState, "manager_free inside a callback or while another thread polls"))
	}
	if !unregister(unsafe.Pointer(p), kindManager) {
		m.polling.Store(false)
		return fail(errorf(codeInvalidHandle, "manager freed concurrently"))
	}
	if err := m.stop(0); err != nil && codeOf(err) != codeState && codeOf(err) != codeTimeout {
		setLastError(err.Error())
	}
	m.q.discard()
	m.ids.clear()
	cgo.Handle(p.handle).Delete()
	C.wsg_manager_release(p)
	return codeOK
}

//export dmsc_ws_session_manager_start
func dmsc_ws_session_manager_start(p *C.DMSCWSSessionManager) C.int {
	return withManager(p, func(m *manager) (int, error) { return codeOK, m.start() })
}

//export dmsc_ws_session_manager_stop
func dmsc_ws_session_manager_stop(p *C.DMSCWSSessionManager, timeoutMs C.uint32_t) C.int {
	return withManager(p, func(m *manager) (int, error) {
		return codeOK, m.stop(time.Duration(timeoutMs) * time.Millisecond)
	})
}

//export dmsc_ws_session_manager_get_port
func dmsc_ws_session_manager_get_port(p *C.DMSCWSSessionManager) C.int {
	return withManager(p, func(m *manager) (int, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.run == nil {
			return 0, errorf(codeState, "manager is not running")
		}
		return m.run.port, nil
	})
}
