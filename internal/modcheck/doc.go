// Package modcheck holds the test that keeps wsgate's module split honest:
// a program that imports only hub and middleware must not resolve the
// dependencies of the optional parts (Prometheus, the Redis and NATS
// brokers, the examples' chi, Echo and chromedp), and every module of the
// repository must be in go.work, so that the README's test command, which
// matches packages through the workspace, tests it. It has no code of its
// own.
package modcheck
