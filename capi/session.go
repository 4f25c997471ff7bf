package main

/*
#include "bridge.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// metaPrefix keeps the C API's metadata keys apart from what Go code (the
// middleware, an Admit hook) stores in a session.
const metaPrefix = "capi:"

func withSession(p *C.DMSCWSSession, f func(*session) (int, error)) (rc C.int) {
	defer guard(&rc)
	s, err := sessionOf(p)
	if err != nil {
		return fail(err)
	}
	return result(f(s))
}

func sessionValue[T C.uint32_t | C.uint64_t](p *C.DMSCWSSession, f func(*session) T) (r T) {
	defer guard(nil)
	s, err := sessionOf(p)
	if err != nil {
		fail(err)
		return 0
	}
	return f(s)
}

func unixMs(t time.Time) C.uint64_t { return C.uint64_t(t.UnixMilli()) }

//export dmsc_ws_session_get_id
func dmsc_ws_session_get_id(p *C.DMSCWSSession) C.uint32_t {
	return sessionValue(p, func(s *session) C.uint32_t { return C.uint32_t(s.id) })
}

//export dmsc_ws_session_get_remote_addr
func dmsc_ws_session_get_remote_addr(p *C.DMSCWSSession) (r *C.wsg_cchar) {
	defer guard(nil)
	if _, err := sessionOf(p); err != nil {
		fail(err)
		return nil
	}
	return (*C.wsg_cchar)(p.remote_addr)
}

//export dmsc_ws_session_get_connected_at
func dmsc_ws_session_get_connected_at(p *C.DMSCWSSession) C.uint64_t {
	return sessionValue(p, func(s *session) C.uint64_t { return unixMs(s.hs.ConnectedAt()) })
}

//export dmsc_ws_session_get_last_activity
func dmsc_ws_session_get_last_activity(p *C.DMSCWSSession) C.uint64_t {
	return sessionValue(p, func(s *session) C.uint64_t { return unixMs(s.hs.LastActivity()) })
}

//export dmsc_ws_session_get_messages_sent
func dmsc_ws_session_get_messages_sent(p *C.DMSCWSSession) C.uint64_t {
	return sessionValue(p, func(s *session) C.uint64_t { return C.uint64_t(s.hs.Counters().MessagesSent) })
}

//export dmsc_ws_session_get_bytes_sent
func dmsc_ws_session_get_bytes_sent(p *C.DMSCWSSession) C.uint64_t {
	return sessionValue(p, func(s *session) C.uint64_t { return C.uint64_t(s.hs.Counters().BytesSent) })
}

//export dmsc_ws_session_get_messages_received
func dmsc_ws_session_get_messages_received(p *C.DMSCWSSession) C.uint64_t {
	return sessionValue(p, func(s *session) C.uint64_t { return C.uint64_t(s.hs.Counters().MessagesReceived) })
}

//export dmsc_ws_session_get_bytes_received
func dmsc_ws_session_get_bytes_received(p *C.DMSCWSSession) C.uint64_t {
	return sessionValue(p, func(s *session) C.uint64_t { return C.uint64_t(s.hs.Counters().BytesReceived) })
}

func metaKey(key *C.wsg_cchar) (string, error) {
	k, err := goString(key, "key")
	if err != nil {
		return "", err
	}
	if k == "" || len(k) > 255 {
		return "", errorf(codeInvalidArgument, "metadata key must be 1 to 255 bytes, not %d", len(k))
	}
	return metaPrefix + k, nil
}

//export dmsc_ws_session_set_metadata
func dmsc_ws_session_set_metadata(p *C.DMSCWSSession, key, value *C.wsg_cchar) C.int {
	return withSession(p, func(s *session) (int, error) {
		k, err := metaKey(key)
		if err != nil {
			return 0, err
		}
		if value == nil {
			s.hs.Delete(k)
			return codeOK, nil
		}
		v, err := goString(value, "value")
		if err != nil {
			return 0, err
		}
		s.hs.Set(k, v)
		return codeOK, nil
	})
}

//export dmsc_ws_session_get_metadata
func dmsc_ws_session_get_metadata(p *C.DMSCWSSession, key *C.wsg_cchar, buf *C.char, size C.size_t) C.int {
	return withSession(p, func(s *session) (int, error) {
		k, err := metaKey(key)
		if err != nil {
			return 0, err
		}
		if buf == nil && size != 0 {
			return 0, errorf(codeNull, "buffer is NULL with size %d", uint64(size))
		}
		v, ok := s.hs.Get(k)
		str, isString := v.(string)
		if !ok || !isString {
			return 0, errorf(codeNotFound, "no metadata %q", k[len(metaPrefix):])
		}
		if size > 0 {
			dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(size))
			n := copy(dst[:len(dst)-1], str)
			dst[n] = 0
		}
		return len(str), nil
	})
}

func sendOn(p *C.DMSCWSSession, data *C.wsg_cchar, n C.size_t, binary bool) C.int {
	return withSession(p, func(s *session) (int, error) {
		msg, err := message(data, n, binary)
		if err != nil {
			return 0, err
		}
		return codeOK, s.hs.Send(msg)
	})
}

//export dmsc_ws_session_send
func dmsc_ws_session_send(p *C.DMSCWSSession, data *C.wsg_cchar, n C.size_t) C.int {
	return sendOn(p, data, n, false)
}

//export dmsc_ws_session_send_text
func dmsc_ws_session_send_text(p *C.DMSCWSSession, data *C.wsg_cchar, n C.size_t) C.int {
	return sendOn(p, data, n, false)
}

//export dmsc_ws_session_send_binary
func dmsc_ws_session_send_binary(p *C.DMSCWSSession, data *C.wsg_cchar, n C.size_t) C.int {
	return sendOn(p, data, n, true)
}

//export dmsc_ws_session_close
func dmsc_ws_session_close(p *C.DMSCWSSession, code C.uint16_t, reason *C.wsg_cchar) C.int {
	return withSession(p, func(s *session) (int, error) {
		return codeOK, closeSession(s, int(code), reason, false)
	})
}

//export dmsc_ws_session_free
func dmsc_ws_session_free(p *C.DMSCWSSession) (rc C.int) {
	defer guard(&rc)
	if p == nil {
		return codeOK
	}
	if err := check(unsafe.Pointer(p), kindSession); err != nil {
		return fail(err)
	}
	if p.borrowed != 0 {
		return fail(errorf(codeBorrowed, "this session belongs to a callback; it is freed when the callback returns"))
	}
	freeSessionObject(p)
	return codeOK
}
