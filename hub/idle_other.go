//go:build !unix

package hub

// peekReady cannot peek here, so it never waits: the reader parks in
// NextReader as usual.
func peekReady(uintptr) bool { return true }
