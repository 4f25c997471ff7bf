// Package serve is what the example programs share around their handlers:
// the common flags (-addr, -tls-cert, -tls-key, -log-level), a text logger,
// listening with or without TLS, and a graceful shutdown that stops the HTTP
// server and then drains every hub.
//
// Run prints two kinds of lines that the examples' tests read:
//
//	listening on ADDR          (or http://ADDR, https://ADDR with Config.URL)
//	shutdown: N sessions drained, M forced     (one line per hub)
package serve
