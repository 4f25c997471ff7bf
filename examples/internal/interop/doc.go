// Package interop tests the hub against WebSocket clients no one here
// wrote: Chromium, Python's websockets and Node's ws. It holds tests only.
package interop
