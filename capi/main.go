// Command capi is wsgate's C API: the dmsc_ws_* functions of the
// specification, declared in include/dmsc_ws.h, built on the hub, middleware,
// origin, auth and ratelimit packages.
//
// Build it as a shared or static C library:
//
//	go build -buildmode=c-shared -o libwsgate.so ./capi
//	go build -buildmode=c-archive -o libwsgate.a ./capi
//
// The header is written by hand (not the one cgo generates) and its comments
// are the contract: opaque handles, callbacks run by poll on the caller's
// thread, ownership of every string, uint32 session IDs, negative error
// codes. capi/example holds the specification's usage example as a complete
// program.
//
// How the pieces fit: every exported function recovers panics and checks its
// handles against a table of live objects (handles.go); the hub's callbacks
// run on session goroutines and only enqueue events (events.go), which
// dmsc_ws_session_manager_poll hands to the C callbacks through trampolines
// in bridge.c.
package main

func main() {}
