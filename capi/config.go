package main

/*
#include "bridge.h"
*/
import "C"

import (
	"fmt"
	"net/netip"
	"runtime/cgo"
	"strings"
	"sync"
	"unsafe"

	"github.com/wsgate/wsgate/origin"
)

// Policies of dmsc_ws.h.
const (
	rateDrop   = 0
	rateQueue  = 1
	rateReject = 2

	slowDisconnect = 0
	slowDropOldest = 1
	slowDropNewest = 2
	slowBlock      = 3

	eventsDisconnect = 0
	eventsBlock      = 1
)

// Bounds on settings, as documented in dmsc_ws.h.
const (
	maxConnectionsLimit = 1 << 24
	maxMessageLimit     = 1 << 40
	maxQueueLimit       = 1 << 30
	maxOrigins          = 1024
	maxSubprotocols     = 64
	maxTrustedProxies   = 256
	maxStringBytes      = 4096
)

// settings is what a config holds and what a manager copies. Times are in
// milliseconds, as the C API takes them.
type settings struct {
	host string
	port int
	path string

	maxConns, maxConnsPerIP int
	maxText, maxBinary      int64

	pingIntervalMs, pingTimeoutMs, idleTimeoutMs uint32

	compression bool
	level       int

	originValidation bool
	origins          []string
	subprotocols     []string
	requireSub       bool

	rateEnabled             bool
	rateMessages, rateWinMs uint32
	ratePolicy              int

	tlsCert, tlsKey string

	authSecret       []byte
	issuer, audience string

	proxyProtocol  bool
	trustedProxies []netip.Prefix

	maxQueuedMsgs, maxQueuedBytes int
	slowPolicy                    int

	eventMsgs, eventBytes int
	eventPolicy           int
}

func defaultSettings() settings {
	return settings{
		host:             "127.0.0.1",
		port:             8080,
		path:             "/",
		maxConns:         10000,
		maxText:          64 << 10,
		maxBinary:        64 << 10,
		pingIntervalMs:   25000,
		pingTimeoutMs:    10000,
		level:            1,
		originValidation: true,
		rateMessages:     100,
		rateWinMs:        1000,
		maxQueuedMsgs:    256,
		maxQueuedBytes:   1 << 20,
		eventMsgs:        1024,
		eventBytes:       16 << 20,
	}
}

// clone returns a deep copy (a manager keeps its own).
func (s settings) clone() settings {
	s.origins = append([]string(nil), s.origins...)
	s.subprotocols = append([]string(nil), s.subprotocols...)
	s.authSecret = append([]byte(nil), s.authSecret...)
	s.trustedProxies = append([]netip.Prefix(nil), s.trustedProxies...)
	return s
}

// config is the Go object behind a DMSCWSServerConfig.
type config struct {
	mu sync.Mutex // guards everything below
	settings
	// cstrs holds the C copies of strings returned by getters, by setting
	// name; an entry is freed when its setting changes or the config is
	// freed.
	cstrs map[string]*C.char
}

// cstr returns a C copy of v owned by c, cached under key.
func (c *config) cstr(key, v string) *C.wsg_cchar {
	if old, ok := c.cstrs[key]; ok {
		if C.GoString(old) == v {
			return (*C.wsg_cchar)(old)
		}
		C.free(unsafe.Pointer(old))
	}
	p := C.CString(v)
	c.cstrs[key] = p
	return (*C.wsg_cchar)(p)
}

// forget frees the cached strings of the setting name (and of its list
// entries, "name[i]").
func (c *config) forget(name string) {
	for k, p := range c.cstrs {
		if k == name || strings.HasPrefix(k, name+"[") {
			C.free(unsafe.Pointer(p))
			delete(c.cstrs, k)
		}
	}
}

func (c *config) release() {
	for k, p := range c.cstrs {
		C.free(unsafe.Pointer(p))
		delete(c.cstrs, k)
	}
}

// goString copies a C string argument, refusing NULL and over-long ones.
func goString(p *C.wsg_cchar, what string) (string, error) {
	if p == nil {
		return "", errorf(codeNull, "%s is NULL", what)
	}
	n := C.strnlen((*C.char)(p), maxStringBytes+1)
	if n > maxStringBytes {
		return "", errorf(codeInvalidArgument, "%s is longer than %d bytes", what, maxStringBytes)
	}
	return C.GoStringN((*C.char)(p), C.int(n)), nil
}

// optString is goString for arguments where NULL means "".
func optString(p *C.wsg_cchar, what string) (string, error) {
	if p == nil {
		return "", nil
	}
	return goString(p, what)
}

func withConfig(p *C.DMSCWSServerConfig, f func(*config) error) (rc C.int) {
	defer guard(&rc)
	c, err := configOf(p)
	if err != nil {
		return fail(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := f(c); err != nil {
		return fail(err)
	}
	return codeOK
}

func configInt(p *C.DMSCWSServerConfig, f func(*config) int64) (rc C.int64_t) {
	defer guard64(&rc)
	c, err := configOf(p)
	if err != nil {
		return C.int64_t(fail(err))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return C.int64_t(f(c))
}

func configFlag(p *C.DMSCWSServerConfig, f func(*config) bool) C.int {
	return C.int(configInt(p, func(c *config) int64 {
		if f(c) {
			return 1
		}
		return 0
	}))
}

func configString(p *C.DMSCWSServerConfig, f func(*config) (key, v string, err error)) (r *C.wsg_cchar) {
	defer guard(nil)
	c, err := configOf(p)
	if err != nil {
		fail(err)
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key, v, err := f(c)
	if err != nil {
		fail(err)
		return nil
	}
	return c.cstr(key, v)
}

func inRange(what string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return errorf(codeInvalidArgument, "%s %d out of range [%d, %d]", what, v, lo, hi)
	}
	return nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

//export dmsc_ws_server_config_new
func dmsc_ws_server_config_new() (r *C.DMSCWSServerConfig) {
	defer guard(nil)
	p := C.wsg_config_alloc()
	if p == nil {
		setLastError("wsgate: out of memory")
		return nil
	}
	c := &config{settings: defaultSettings(), cstrs: make(map[string]*C.char)}
	p.handle = C.uintptr_t(cgo.NewHandle(c))
	register(unsafe.Pointer(p), kindConfig)
	return p
}

//export dmsc_ws_server_config_free
func dmsc_ws_server_config_free(p *C.DMSCWSServerConfig) (rc C.int) {
	defer guard(&rc)
	if p == nil {
		return codeOK
	}
	if err := check(unsafe.Pointer(p), kindConfig); err != nil {
		return fail(err)
	}
	if !unregister(unsafe.Pointer(p), kindConfig) {
		return fail(errorf(codeInvalidHandle, "config freed concurrently"))
	}
	h := cgo.Handle(p.handle)
	if c, ok := h.Value().(*config); ok {
		c.mu.Lock()
		c.release()
		c.mu.Unlock()
	}
	h.Delete()
	C.free(unsafe.Pointer(p))
	return codeOK
}

//export dmsc_ws_server_config_set_host
func dmsc_ws_server_config_set_host(p *C.DMSCWSServerConfig, host *C.wsg_cchar) C.int {
	return withConfig(p, func(c *config) error {
		h, err := goString(host, "host")
		if err != nil {
			return err
		}
		if h == "" || strings.ContainsAny(h, " /\\\x00") {
			return errorf(codeInvalidArgument, "host %q is not an address or host name", h)
		}
		c.host = h
		c.forget("host")
		return nil
	})
}

//export dmsc_ws_server_config_get_host
func dmsc_ws_server_config_get_host(p *C.DMSCWSServerConfig) *C.wsg_cchar {
	return configString(p, func(c *config) (string, string, error) { return "host", c.host, nil })
}

//export dmsc_ws_server_config_set_port
func dmsc_ws_server_config_set_port(p *C.DMSCWSServerConfig, port C.int) C.int {
	return withConfig(p, func(c *config) error {
		if err := inRange("port", int64(port), 0, 65535); err != nil {
			return err
		}
		c.port = int(port)
		return nil
	})
}

//export dmsc_ws_server_config_get_port
func dmsc_ws_server_config_get_port(p *C.DMSCWSServerConfig) C.int {
	return C.int(configInt(p, func(c *config) int64 { return int64(c.port) }))
}

//export dmsc_ws_server_config_set_path
func dmsc_ws_server_config_set_path(p *C.DMSCWSServerConfig, path *C.wsg_cchar) C.int {
	return withConfig(p, func(c *config) error {
		s, err := goString(path, "path")
		if err != nil {
			return err
		}
		if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, "?# \x00") {
			return errorf(codeInvalidArgument, "path %q must start with '/' and hold no query, fragment or space", s)
		}
		c.path = s
		c.forget("path")
		return nil
	})
}

//export dmsc_ws_server_config_get_path
func dmsc_ws_server_config_get_path(p *C.DMSCWSServerConfig) *C.wsg_cchar {
	return configString(p, func(c *config) (string, string, error) { return "path", c.path, nil })
}

//export dmsc_ws_server_config_set_max_connections
func dmsc_ws_server_config_set_max_connections(p *C.DMSCWSServerConfig, n C.uint32_t) C.int {
	return withConfig(p, func(c *config) error {
		if err := inRange("max_connections", int64(n), 1, maxConnectionsLimit); err != nil {
			return err
		}
		c.maxConns = int(n)
		return nil
	})
}

//export dmsc_ws_server_config_get_max_connections
func dmsc_ws_server_config_get_max_connections(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.maxConns) })
}

//export dmsc_ws_server_config_set_max_connections_per_ip
func dmsc_ws_server_config_set_max_connections_per_ip(p *C.DMSCWSServerConfig, n C.uint32_t) C.int {
	return withConfig(p, func(c *config) error {
		if err := inRange("max_connections_per_ip", int64(n), 0, maxConnectionsLimit); err != nil {
			return err
		}
		c.maxConnsPerIP = int(n)
		return nil
	})
}

//export dmsc_ws_server_config_get_max_connections_per_ip
func dmsc_ws_server_config_get_max_connections_per_ip(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.maxConnsPerIP) })
}

func messageSize(what string, n C.size_t) (int64, error) {
	if n < 1 || uint64(n) > maxMessageLimit {
		return 0, errorf(codeInvalidArgument, "%s %d out of range [1, %d]", what, uint64(n), int64(maxMessageLimit))
	}
	return int64(n), nil
}

//export dmsc_ws_server_config_set_max_message_size
func dmsc_ws_server_config_set_max_message_size(p *C.DMSCWSServerConfig, n C.size_t) C.int {
	return withConfig(p, func(c *config) error {
		v, err := messageSize("max_message_size", n)
		if err != nil {
			return err
		}
		c.maxText, c.maxBinary = v, v
		return nil
	})
}

//export dmsc_ws_server_config_get_max_message_size
func dmsc_ws_server_config_get_max_message_size(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return max(c.maxText, c.maxBinary) })
}

//export dmsc_ws_server_config_set_max_text_message_size
func dmsc_ws_server_config_set_max_text_message_size(p *C.DMSCWSServerConfig, n C.size_t) C.int {
	return withConfig(p, func(c *config) error {
		v, err := messageSize("max_text_message_size", n)
		if err != nil {
			return err
		}
		c.maxText = v
		return nil
	})
}

//export dmsc_ws_server_config_get_max_text_message_size
func dmsc_ws_server_config_get_max_text_message_size(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return c.maxText })
}

//export dmsc_ws_server_config_set_max_binary_message_size
func dmsc_ws_server_config_set_max_binary_message_size(p *C.DMSCWSServerConfig, n C.size_t) C.int {
	return withConfig(p, func(c *config) error {
		v, err := messageSize("max_binary_message_size", n)
		if err != nil {
			return err
		}
		c.maxBinary = v
		return nil
	})
}

//export dmsc_ws_server_config_get_max_binary_message_size
func dmsc_ws_server_config_get_max_binary_message_size(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return c.maxBinary })
}

//export dmsc_ws_server_config_set_ping_interval
func dmsc_ws_server_config_set_ping_interval(p *C.DMSCWSServerConfig, ms C.uint32_t) C.int {
	return withConfig(p, func(c *config) error { c.pingIntervalMs = uint32(ms); return nil })
}

//export dmsc_ws_server_config_get_ping_interval
func dmsc_ws_server_config_get_ping_interval(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.pingIntervalMs) })
}

//export dmsc_ws_server_config_set_ping_timeout
func dmsc_ws_server_config_set_ping_timeout(p *C.DMSCWSServerConfig, ms C.uint32_t) C.int {
	return withConfig(p, func(c *config) error {
		if ms == 0 {
			return errorf(codeInvalidArgument, "ping_timeout must be at least 1 ms")
		}
		c.pingTimeoutMs = uint32(ms)
		return nil
	})
}

//export dmsc_ws_server_config_get_ping_timeout
func dmsc_ws_server_config_get_ping_timeout(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.pingTimeoutMs) })
}

//export dmsc_ws_server_config_set_idle_timeout
func dmsc_ws_server_config_set_idle_timeout(p *C.DMSCWSServerConfig, ms C.uint32_t) C.int {
	return withConfig(p, func(c *config) error { c.idleTimeoutMs = uint32(ms); return nil })
}

//export dmsc_ws_server_config_get_idle_timeout
func dmsc_ws_server_config_get_idle_timeout(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.idleTimeoutMs) })
}

//export dmsc_ws_server_config_set_compression_enabled
func dmsc_ws_server_config_set_compression_enabled(p *C.DMSCWSServerConfig, on C.bool) C.int {
	return withConfig(p, func(c *config) error { c.compression = bool(on); return nil })
}

//export dmsc_ws_server_config_get_compression_enabled
func dmsc_ws_server_config_get_compression_enabled(p *C.DMSCWSServerConfig) C.int {
	return configFlag(p, func(c *config) bool { return c.compression })
}

//export dmsc_ws_server_config_set_compression_level
func dmsc_ws_server_config_set_compression_level(p *C.DMSCWSServerConfig, level C.int) C.int {
	return withConfig(p, func(c *config) error {
		if err := inRange("compression_level", int64(level), 0, 9); err != nil {
			return err
		}
		c.level = int(level)
		return nil
	})
}

//export dmsc_ws_server_config_get_compression_level
func dmsc_ws_server_config_get_compression_level(p *C.DMSCWSServerConfig) C.int {
	return C.int(configInt(p, func(c *config) int64 { return int64(c.level) }))
}

//export dmsc_ws_server_config_set_origin_validation
func dmsc_ws_server_config_set_origin_validation(p *C.DMSCWSServerConfig, on C.bool) C.int {
	return withConfig(p, func(c *config) error { c.originValidation = bool(on); return nil })
}

//export dmsc_ws_server_config_get_origin_validation
func dmsc_ws_server_config_get_origin_validation(p *C.DMSCWSServerConfig) C.int {
	return configFlag(p, func(c *config) bool { return c.originValidation })
}

//export dmsc_ws_server_config_add_allowed_origin
func dmsc_ws_server_config_add_allowed_origin(p *C.DMSCWSServerConfig, o *C.wsg_cchar) C.int {
	return withConfig(p, func(c *config) error {
		s, err := goString(o, "origin")
		if err != nil {
			return err
		}
		if len(c.origins) >= maxOrigins {
			return errorf(codeInvalidArgument, "more than %d allowed origins", maxOrigins)
		}
		// The origin package is the one judge of a pattern.
		if _, err := origin.New(origin.Policy{AllowedOrigins: []string{s}}); err != nil {
			return wrap(codeInvalidArgument, "allowed origin", err)
		}
		c.origins = append(c.origins, s)
		return nil
	})
}

//export dmsc_ws_server_config_clear_allowed_origins
func dmsc_ws_server_config_clear_allowed_origins(p *C.DMSCWSServerConfig) C.int {
	return withConfig(p, func(c *config) error { c.origins = nil; c.forget("origin"); return nil })
}

//export dmsc_ws_server_config_get_allowed_origin_count
func dmsc_ws_server_config_get_allowed_origin_count(p *C.DMSCWSServerConfig) C.int {
	return C.int(configInt(p, func(c *config) int64 { return int64(len(c.origins)) }))
}

func listEntry(name string, list []string, i C.uint32_t) (string, string, error) {
	if uint64(i) >= uint64(len(list)) {
		return "", "", errorf(codeInvalidArgument, "%s index %d out of range (%d entries)", name, uint32(i), len(list))
	}
	return fmt.Sprintf("%s[%d]", name, i), list[i], nil
}

//export dmsc_ws_server_config_get_allowed_origin
func dmsc_ws_server_config_get_allowed_origin(p *C.DMSCWSServerConfig, i C.uint32_t) *C.wsg_cchar {
	return configString(p, func(c *config) (string, string, error) { return listEntry("origin", c.origins, i) })
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2), the
// syntax of a subprotocol name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b <= ' ' || b >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, b) >= 0 {
			return false
		}
	}
	return true
}

//export dmsc_ws_server_config_add_allowed_subprotocol
func dmsc_ws_server_config_add_allowed_subprotocol(p *C.DMSCWSServerConfig, sp *C.wsg_cchar) C.int {
	return withConfig(p, func(c *config) error {
		s, err := goString(sp, "subprotocol")
		if err != nil {
			return err
		}
		if !isToken(s) {
			return errorf(codeInvalidArgument, "subprotocol %q is not an HTTP token", s)
		}
		if len(c.subprotocols) >= maxSubprotocols {
			return errorf(codeInvalidArgument, "more than %d subprotocols", maxSubprotocols)
		}
		c.subprotocols = append(c.subprotocols, s)
		return nil
	})
}

//export dmsc_ws_server_config_clear_allowed_subprotocols
func dmsc_ws_server_config_clear_allowed_subprotocols(p *C.DMSCWSServerConfig) C.int {
	return withConfig(p, func(c *config) error { c.subprotocols = nil; c.forget("subprotocol"); return nil })
}

//export dmsc_ws_server_config_get_allowed_subprotocol_count
func dmsc_ws_server_config_get_allowed_subprotocol_count(p *C.DMSCWSServerConfig) C.int {
	return C.int(configInt(p, func(c *config) int64 { return int64(len(c.subprotocols)) }))
}

//export dmsc_ws_server_config_get_allowed_subprotocol
func dmsc_ws_server_config_get_allowed_subprotocol(p *C.DMSCWSServerConfig, i C.uint32_t) *C.wsg_cchar {
	return configString(p, func(c *config) (string, string, error) {
		return listEntry("subprotocol", c.subprotocols, i)
	})
}

//export dmsc_ws_server_config_set_require_subprotocol
func dmsc_ws_server_config_set_require_subprotocol(p *C.DMSCWSServerConfig, on C.bool) C.int {
	return withConfig(p, func(c *config) error { c.requireSub = bool(on); return nil })
}

//export dmsc_ws_server_config_get_require_subprotocol
func dmsc_ws_server_config_get_require_subprotocol(p *C.DMSCWSServerConfig) C.int {
	return configFlag(p, func(c *config) bool { return c.requireSub })
}

//export dmsc_ws_server_config_set_rate_limit_enabled
func dmsc_ws_server_config_set_rate_limit_enabled(p *C.DMSCWSServerConfig, on C.bool) C.int {
	return withConfig(p, func(c *config) error { c.rateEnabled = bool(on); return nil })
}

//export dmsc_ws_server_config_get_rate_limit_enabled
func dmsc_ws_server_config_get_rate_limit_enabled(p *C.DMSCWSServerConfig) C.int {
	return configFlag(p, func(c *config) bool { return c.rateEnabled })
}

//export dmsc_ws_server_config_set_rate_limit_messages
func dmsc_ws_server_config_set_rate_limit_messages(p *C.DMSCWSServerConfig, n C.uint32_t) C.int {
	return withConfig(p, func(c *config) error {
		if err := inRange("rate_limit_messages", int64(n), 1, maxQueueLimit); err != nil {
			return err
		}
		c.rateMessages = uint32(n)
		return nil
	})
}

//export dmsc_ws_server_config_get_rate_limit_messages
func dmsc_ws_server_config_get_rate_limit_messages(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.rateMessages) })
}

//export dmsc_ws_server_config_set_rate_limit_window
func dmsc_ws_server_config_set_rate_limit_window(p *C.DMSCWSServerConfig, ms C.uint32_t) C.int {
	return withConfig(p, func(c *config) error {
		if ms == 0 {
			return errorf(codeInvalidArgument, "rate_limit_window must be at least 1 ms")
		}
		c.rateWinMs = uint32(ms)
		return nil
	})
}

//export dmsc_ws_server_config_get_rate_limit_window
func dmsc_ws_server_config_get_rate_limit_window(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.rateWinMs) })
}

//export dmsc_ws_server_config_set_rate_limit_policy
func dmsc_ws_server_config_set_rate_limit_policy(p *C.DMSCWSServerConfig, policy C.int) C.int {
	return withConfig(p, func(c *config) error {
		if err := inRange("rate_limit_policy", int64(policy), rateDrop, rateReject); err != nil {
			return err
		}
		c.ratePolicy = int(policy)
		return nil
	})
}

//export dmsc_ws_server_config_get_rate_limit_policy
func dmsc_ws_server_config_get_rate_limit_policy(p *C.DMSCWSServerConfig) C.int {
	return C.int(configInt(p, func(c *config) int64 { return int64(c.ratePolicy) }))
}

//export dmsc_ws_server_config_set_tls_cert
func dmsc_ws_server_config_set_tls_cert(p *C.DMSCWSServerConfig, file *C.wsg_cchar) C.int {
	return withConfig(p, func(c *config) error {
		s, err := optString(file, "tls_cert")
		if err != nil {
			return err
		}
		c.tlsCert = s
		c.forget("tls_cert")
		return nil
	})
}

//export dmsc_ws_server_config_get_tls_cert
func dmsc_ws_server_config_get_tls_cert(p *C.DMSCWSServerConfig) *C.wsg_cchar {
	return configString(p, func(c *config) (string, string, error) { return "tls_cert", c.tlsCert, nil })
}

//export dmsc_ws_server_config_set_tls_key
func dmsc_ws_server_config_set_tls_key(p *C.DMSCWSServerConfig, file *C.wsg_cchar) C.int {
	return withConfig(p, func(c *config) error {
		s, err := optString(file, "tls_key")
		if err != nil {
			return err
		}
		c.tlsKey = s
		c.forget("tls_key")
		return nil
	})
}

//export dmsc_ws_server_config_get_tls_key
func dmsc_ws_server_config_get_tls_key(p *C.DMSCWSServerConfig) *C.wsg_cchar {
	return configString(p, func(c *config) (string, string, error) { return "tls_key", c.tlsKey, nil })
}

//export dmsc_ws_server_config_set_auth_hs256_secret
func dmsc_ws_server_config_set_auth_hs256_secret(p *C.DMSCWSServerConfig, secret *C.wsg_cchar, n C.size_t) C.int {
	return withConfig(p, func(c *config) error {
		if secret == nil || n == 0 {
			clear(c.authSecret)
			c.authSecret = nil
			return nil
		}
		if n < 32 || n > maxStringBytes {
			return errorf(codeInvalidArgument, "HS256 secret of %d bytes: it must be 32 to %d bytes (RFC 7518 section 3.2)", uint64(n), maxStringBytes)
		}
		c.authSecret = C.GoBytes(unsafe.Pointer(secret), C.int(n))
		return nil
	})
}

//export dmsc_ws_server_config_get_auth_enabled
func dmsc_ws_server_config_get_auth_enabled(p *C.DMSCWSServerConfig) C.int {
	return configFlag(p, func(c *config) bool { return len(c.authSecret) > 0 })
}

//export dmsc_ws_server_config_set_auth_issuer
func dmsc_ws_server_config_set_auth_issuer(p *C.DMSCWSServerConfig, s *C.wsg_cchar) C.int {
	return withConfig(p, func(c *config) error {
		v, err := optString(s, "issuer")
		if err != nil {
			return err
		}
		c.issuer = v
		c.forget("issuer")
		return nil
	})
}

//export dmsc_ws_server_config_get_auth_issuer
func dmsc_ws_server_config_get_auth_issuer(p *C.DMSCWSServerConfig) *C.wsg_cchar {
	return configString(p, func(c *config) (string, string, error) { return "issuer", c.issuer, nil })
}

//export dmsc_ws_server_config_set_auth_audience
func dmsc_ws_server_config_set_auth_audience(p *C.DMSCWSServerConfig, s *C.wsg_cchar) C.int {
	return withConfig(p, func(c *config) error {
		v, err := optString(s, "audience")
		if err != nil {
			return err
		}
		c.audience = v
		c.forget("audience")
		return nil
	})
}

//export dmsc_ws_server_config_get_auth_audience
func dmsc_ws_server_config_get_auth_audience(p *C.DMSCWSServerConfig) *C.wsg_cchar {
	return configString(p, func(c *config) (string, string, error) { return "audience", c.audience, nil })
}

//export dmsc_ws_server_config_set_proxy_protocol
func dmsc_ws_server_config_set_proxy_protocol(p *C.DMSCWSServerConfig, on C.bool) C.int {
	return withConfig(p, func(c *config) error { c.proxyProtocol = bool(on); return nil })
}

//export dmsc_ws_server_config_get_proxy_protocol
func dmsc_ws_server_config_get_proxy_protocol(p *C.DMSCWSServerConfig) C.int {
	return configFlag(p, func(c *config) bool { return c.proxyProtocol })
}

// parsePrefix reads "10.0.0.0/8" or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		pr, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return pr.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

//export dmsc_ws_server_config_add_trusted_proxy
func dmsc_ws_server_config_add_trusted_proxy(p *C.DMSCWSServerConfig, cidr *C.wsg_cchar) C.int {
	return withConfig(p, func(c *config) error {
		s, err := goString(cidr, "trusted proxy")
		if err != nil {
			return err
		}
		pr, err := parsePrefix(s)
		if err != nil {
			return wrap(codeInvalidArgument, "trusted proxy", err)
		}
		if len(c.trustedProxies) >= maxTrustedProxies {
			return errorf(codeInvalidArgument, "more than %d trusted proxies", maxTrustedProxies)
		}
		c.trustedProxies = append(c.trustedProxies, pr)
		return nil
	})
}

//export dmsc_ws_server_config_clear_trusted_proxies
func dmsc_ws_server_config_clear_trusted_proxies(p *C.DMSCWSServerConfig) C.int {
	return withConfig(p, func(c *config) error { c.trustedProxies = nil; c.forget("proxy"); return nil })
}

//export dmsc_ws_server_config_get_trusted_proxy_count
func dmsc_ws_server_config_get_trusted_proxy_count(p *C.DMSCWSServerConfig) C.int {
	return C.int(configInt(p, func(c *config) int64 { return int64(len(c.trustedProxies)) }))
}

//export dmsc_ws_server_config_get_trusted_proxy
func dmsc_ws_server_config_get_trusted_proxy(p *C.DMSCWSServerConfig, i C.uint32_t) *C.wsg_cchar {
	return configString(p, func(c *config) (string, string, error) {
		list := make([]string, len(c.trustedProxies))
		for j, pr := range c.trustedProxies {
			list[j] = pr.String()
		}
		return listEntry("proxy", list, i)
	})
}

func queueBound(what string, n int64) error { return inRange(what, n, 1, maxQueueLimit) }

//export dmsc_ws_server_config_set_max_queued_messages
func dmsc_ws_server_config_set_max_queued_messages(p *C.DMSCWSServerConfig, n C.uint32_t) C.int {
	return withConfig(p, func(c *config) error {
		if err := queueBound("max_queued_messages", int64(n)); err != nil {
			return err
		}
		c.maxQueuedMsgs = int(n)
		return nil
	})
}

//export dmsc_ws_server_config_get_max_queued_messages
func dmsc_ws_server_config_get_max_queued_messages(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.maxQueuedMsgs) })
}

//export dmsc_ws_server_config_set_max_queued_bytes
func dmsc_ws_server_config_set_max_queued_bytes(p *C.DMSCWSServerConfig, n C.size_t) C.int {
	return withConfig(p, func(c *config) error {
		if uint64(n) > maxQueueLimit {
			return errorf(codeInvalidArgument, "max_queued_bytes %d out of range [1, %d]", uint64(n), maxQueueLimit)
		}
		if err := queueBound("max_queued_bytes", int64(n)); err != nil {
			return err
		}
		c.maxQueuedBytes = int(n)
		return nil
	})
}

//export dmsc_ws_server_config_get_max_queued_bytes
func dmsc_ws_server_config_get_max_queued_bytes(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.maxQueuedBytes) })
}

//export dmsc_ws_server_config_set_slow_consumer_policy
func dmsc_ws_server_config_set_slow_consumer_policy(p *C.DMSCWSServerConfig, policy C.int) C.int {
	return withConfig(p, func(c *config) error {
		if err := inRange("slow_consumer_policy", int64(policy), slowDisconnect, slowBlock); err != nil {
			return err
		}
		c.slowPolicy = int(policy)
		return nil
	})
}

//export dmsc_ws_server_config_get_slow_consumer_policy
func dmsc_ws_server_config_get_slow_consumer_policy(p *C.DMSCWSServerConfig) C.int {
	return C.int(configInt(p, func(c *config) int64 { return int64(c.slowPolicy) }))
}

//export dmsc_ws_server_config_set_event_queue_size
func dmsc_ws_server_config_set_event_queue_size(p *C.DMSCWSServerConfig, n C.uint32_t) C.int {
	return withConfig(p, func(c *config) error {
		if err := queueBound("event_queue_size", int64(n)); err != nil {
			return err
		}
		c.eventMsgs = int(n)
		return nil
	})
}

//export dmsc_ws_server_config_get_event_queue_size
func dmsc_ws_server_config_get_event_queue_size(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.eventMsgs) })
}

//export dmsc_ws_server_config_set_event_queue_bytes
func dmsc_ws_server_config_set_event_queue_bytes(p *C.DMSCWSServerConfig, n C.size_t) C.int {
	return withConfig(p, func(c *config) error {
		if uint64(n) > maxQueueLimit {
			return errorf(codeInvalidArgument, "event_queue_bytes %d out of range [1, %d]", uint64(n), maxQueueLimit)
		}
		if err := queueBound("event_queue_bytes", int64(n)); err != nil {
			return err
		}
		c.eventBytes = int(n)
		return nil
	})
}

//export dmsc_ws_server_config_get_event_queue_bytes
func dmsc_ws_server_config_get_event_queue_bytes(p *C.DMSCWSServerConfig) C.int64_t {
	return configInt(p, func(c *config) int64 { return int64(c.eventBytes) })
}

//export dmsc_ws_server_config_set_event_overflow_policy
func dmsc_ws_server_config_set_event_overflow_policy(p *C.DMSCWSServerConfig, policy C.int) C.int {
	return withConfig(p, func(c *config) error {
		if err := inRange("event_overflow_policy", int64(policy), eventsDisconnect, eventsBlock); err != nil {
			return err
		}
		c.eventPolicy = int(policy)
		return nil
	})
}

//export dmsc_ws_server_config_get_event_overflow_policy
func dmsc_ws_server_config_get_event_overflow_policy(p *C.DMSCWSServerConfig) C.int {
	return C.int(configInt(p, func(c *config) int64 { return int64(c.eventPolicy) }))
}
