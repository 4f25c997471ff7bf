package main

/*
#include "bridge.h"
*/
import "C"

import (
	"runtime/cgo"
	"sync"
	"unsafe"
)

// kind tells the three opaque object types apart, so a session passed
// where a manager is expected is refused, not misread.
type kind uint8

const (
	kindConfig kind = iota + 1
	kindManager
	kindSession
)

func (k kind) String() string {
	switch k {
	case kindConfig:
		return "DMSCWSServerConfig"
	case kindManager:
		return "DMSCWSSessionManager"
	case kindSession:
		return "DMSCWSSession"
	}
	return "object"
}

// objects is the table of live C objects, by address. It is the one piece
// of process-wide state of the library, and it must be: a C caller hands
// back bare pointers, and only a table can tell a live one from a freed one
// without reading freed memory (cgo.Handle.Value panics on a deleted handle,
// and the handle itself sits in the C allocation). Each entry is an object
// the application created and has not freed, so the application bounds it.
var objects = struct {
	mu   sync.Mutex // guards live
	live map[uintptr]kind
}{live: make(map[uintptr]kind)}

// register records a new C object of kind k at p whose handle field holds
// h. The caller has stored h in the object.
func register(p unsafe.Pointer, k kind) {
	objects.mu.Lock()
	objects.live[uintptr(p)] = k
	objects.mu.Unlock()
}

// unregister removes p from the table and reports whether it was there with
// kind k. Only the caller that gets true may free p (so a double free from
// two threads frees once).
func unregister(p unsafe.Pointer, k kind) bool {
	objects.mu.Lock()
	defer objects.mu.Unlock()
	if objects.live[uintptr(p)] != k {
		return false
	}
	delete(objects.live, uintptr(p))
	return true
}

// check reports whether p is a live object of kind k, with the error the C
// caller gets if not. It never dereferences p.
func check(p unsafe.Pointer, k kind) error {
	if p == nil {
		return errorf(codeNull, "%s is NULL", k)
	}
	objects.mu.Lock()
	got, ok := objects.live[uintptr(p)]
	objects.mu.Unlock()
	if !ok {
		return errorf(codeInvalidHandle, "%s %p is not a live object (freed, or never created by this library)", k, p)
	}
	if got != k {
		return errorf(codeInvalidHandle, "%p is a %s, not a %s", p, got, k)
	}
	return nil
}

// value returns the Go object behind the handle h.
func value[T any](h C.uintptr_t) (T, error) {
	v, ok := cgo.Handle(h).Value().(T)
	if !ok {
		var zero T
		return zero, errorf(codeInvalidHandle, "handle holds %T", v)
	}
	return v, nil
}

func configOf(p *C.DMSCWSServerConfig) (*config, error) {
	if err := check(unsafe.Pointer(p), kindConfig); err != nil {
		return nil, err
	}
	return value[*config](p.handle)
}

func managerOf(p *C.DMSCWSSessionManager) (*manager, error) {
	if err := check(unsafe.Pointer(p), kindManager); err != nil {
		return nil, err
	}
	return value[*manager](p.handle)
}

func sessionOf(p *C.DMSCWSSession) (*session, error) {
	if err := check(unsafe.Pointer(p), kindSession); err != nil {
		return nil, err
	}
	return value[*session](p.handle)
}
