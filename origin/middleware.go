package origin

import (
	"context"
	"io"
	"net/http"
)

// Middleware returns next wrapped so that requests refused by c.Check get
// 403 Forbidden with a short plain-text reason (without any request data)
// and never reach next. Put it in front of the handler that upgrades.
func (c *Checker) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.Check(r); err != nil {
			refuse(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), checkedKey{}, true)))
	})
}

// Middleware is c.Middleware in the func(http.Handler) http.Handler shape
// that chi's Use and With take: r.With(origin.Middleware(c)).Get(...).
func Middleware(c *Checker) func(http.Handler) http.Handler {
	return c.Middleware
}

// refuse writes the 403 answer for a refusal.
func refuse(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	_, _ = io.WriteString(w, "origin not allowed: "+Reason(err)+"\n")
}

type checkedKey struct{}

// Checked reports whether an origin middleware has allowed the request that
// ctx belongs to. A handler further down a chain (the wsgate middleware
// package) uses it to skip its own default same-origin check.
func Checked(ctx context.Context) bool {
	v, _ := ctx.Value(checkedKey{}).(bool)
	return v
}
