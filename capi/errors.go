package main

/*
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/debug"
	"unsafe"

	"github.com/wsgate/wsgate/hub"
)

// Error codes of dmsc_ws.h; the two lists must agree (TestHeaderCodes
// compares them).
const (
	codeOK              = 0
	codeNull            = -1
	codeInvalidHandle   = -2
	codeInvalidArgument = -3
	codeState           = -4
	codeNotFound        = -5
	codeClosed          = -6
	codeQueueFull       = -7
	codeLimit           = -8
	codeConfig          = -9
	codeListen          = -10
	codeTLS             = -11
	codeTimeout         = -12
	codeBorrowed        = -13
	codeInternal        = -14

	codeProtocol       = -20
	codeMessageTooBig  = -21
	codeInvalidData    = -22
	codePongTimeout    = -23
	codeWrite          = -24
	codeConnReset      = -25
	codeEventQueueFull = -26
)

// apiError is an error with the code the C caller gets.
type apiError struct {
	code int
	msg  string
	err  error // optional cause
}

func (e *apiError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *apiError) Unwrap() error { return e.err }

func errorf(code int, format string, args ...any) error {
	return &apiError{code: code, msg: "wsgate: " + fmt.Sprintf(format, args...)}
}

func wrap(code int, msg string, err error) error {
	return &apiError{code: code, msg: "wsgate: " + msg, err: err}
}

// codeOf maps an error to its C code: an apiError's own, the hub's
// sentinels to theirs, anything else to codeInternal.
func codeOf(err error) int {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae.code
	case errors.Is(err, hub.ErrSessionNotFound):
		return codeNotFound
	case errors.Is(err, hub.ErrClosed):
		return codeClosed
	case errors.Is(err, hub.ErrQueueFull):
		return codeQueueFull
	case errors.Is(err, hub.ErrTooManyRooms):
		return codeLimit
	case errors.Is(err, hub.ErrBadName):
		return codeInvalidArgument
	case errors.Is(err, hub.ErrShuttingDown):
		return codeState
	}
	return codeInternal
}

// setLastError stores msg as the calling thread's last error. Exported
// functions run on the C caller's thread, so this is that thread's.
func setLastError(msg string) {
	if msg == "" {
		C.wsg_set_last_error(nil, 0)
		return
	}
	b := []byte(msg)
	C.wsg_set_last_error((*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b)))
}

// fail records err as the last error and returns its code, for functions
// that return int.
func fail(err error) C.int {
	setLastError(err.Error())
	return C.int(codeOf(err))
}

// guard recovers a panic in an exported function, so that it never unwinds
// into the host: it records it as the last error and sets *rc (if not nil)
// to codeInternal. Use it as `defer guard(&rc)`; functions that return a
// pointer or an unsigned value pass nil and return their zero value.
func guard(rc *C.int) {
	if v := recover(); v != nil {
		setLastError(fmt.Sprintf("wsgate: internal error: %v\n%s", v, debug.Stack()))
		if rc != nil {
			*rc = codeInternal
		}
	}
}

// guard64 is guard for functions that return int64_t.
func guard64(rc *C.int64_t) {
	if v := recover(); v != nil {
		setLastError(fmt.Sprintf("wsgate: internal error: %v\n%s", v, debug.Stack()))
		*rc = codeInternal
	}
}

// result turns (n, err) into a C int: n, or the error's code.
func result(n int, err error) C.int {
	if err != nil {
		return fail(err)
	}
	return C.int(n)
}
