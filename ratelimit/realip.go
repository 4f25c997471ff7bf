package ratelimit

import (
	"context"
	"net/http"
	"net/netip"
)

// clientIPKey is the context key under which RealIP stores the address.
type clientIPKey struct{}

// RealIP returns a middleware that resolves the client address with r and
// stores it in the request context, where [ClientIP] reads it. Put it first
// in the chain. A nil r stores the socket address. When r.RemoteAddr cannot
// be parsed nothing is stored.
//
// The limiters' middlewares use this address when their own Resolver is
// nil, so one RealIP in front of them is enough.
func RealIP(r *IPResolver) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if ip := r.ClientIP(req); ip.IsValid() {
				req = req.WithContext(WithClientIP(req.Context(), ip))
			}
			next.ServeHTTP(w, req)
		})
	}
}

// WithClientIP returns a copy of ctx carrying ip, as [RealIP] does. It is
// meant for tests and for servers that resolve the address elsewhere.
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey{}, normalize(ip))
}

// ClientIP returns the client address stored by [RealIP], and whether one
// was stored.
func ClientIP(ctx context.Context) (netip.Addr, bool) {
	ip, ok := ctx.Value(clientIPKey{}).(netip.Addr)
	return ip, ok && ip.IsValid()
}

// requestIP is the address the limiters key on: the limiter's own resolver
// if it has one, else the address RealIP stored, else the socket address.
func requestIP(res *IPResolver, req *http.Request) netip.Addr {
	if res != nil {
		return res.ClientIP(req)
	}
	if ip, ok := ClientIP(req.Context()); ok {
		return ip
	}
	return (*IPResolver)(nil).ClientIP(req)
}
