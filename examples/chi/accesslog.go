package main

import (
	"log/slog"
	"net/http"
	"time"

	chimw "github.com/go-chi/chi/v5/middleware"

	"github.com/wsgate/wsgate/middleware"
)

// accessLog logs each request at debug level: method, path, status, size,
// duration and request ID. It logs the path only, never the query string
// or headers, where tokens travel; chi's own middleware.Logger prints the
// whole request URI, query included, so this program does not use it.
//
// The status of an upgraded request is 101: the hub wrote it on the
// hijacked connection, past this writer.
func accessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 && middleware.IsWebSocket(r) {
				status = http.StatusSwitchingProtocols
			}
			log.Debug("http request",
				"method", r.Method,
				"path", r.URL.Path,
				"status", status,
				"bytes", ww.BytesWritten(),
				"duration", time.Since(start),
				"request_id", chimw.GetReqID(r.Context()),
			)
		})
	}
}
