package main

/*
#include "bridge.h"
*/
import "C"

import (
	"bytes"
	"unicode/utf8"
	"unsafe"

	"github.com/wsgate/wsgate/hub"
)

// message copies C data into a hub message (the hub keeps Data, and C may
// reuse its buffer as soon as the call returns). Text must be UTF-8.
func message(data *C.wsg_cchar, n C.size_t, binary bool) (hub.Message, error) {
	if data == nil && n != 0 {
		return hub.Message{}, errorf(codeNull, "data is NULL with length %d", uint64(n))
	}
	if uint64(n) > maxMessageLimit {
		return hub.Message{}, errorf(codeInvalidArgument, "length %d is over %d", uint64(n), int64(maxMessageLimit))
	}
	var b []byte
	if n > 0 {
		b = bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(data)), int(n)))
	}
	if binary {
		return hub.Binary(b), nil
	}
	if !utf8.Valid(b) {
		return hub.Message{}, errorf(codeInvalidArgument, "text message is not valid UTF-8 (send it as binary)")
	}
	return hub.Message{Type: hub.TextMessage, Data: b}, nil
}

// route is the shape of every routing call: a running hub, a message, a
// count.
func route(p *C.DMSCWSSessionManager, data *C.wsg_cchar, n C.size_t, binary bool,
	send func(m *manager, h *hub.Hub, msg hub.Message) (int, error)) C.int {
	return withManager(p, func(m *manager) (int, error) {
		msg, err := message(data, n, binary)
		if err != nil {
			return 0, err
		}
		h, err := m.hub()
		if err != nil {
			return 0, err
		}
		return send(m, h, msg)
	})
}

func broadcast(m *manager, h *hub.Hub, msg hub.Message) (int, error) { return h.Broadcast(msg) }

func broadcastExcept(id C.uint32_t) func(*manager, *hub.Hub, hub.Message) (int, error) {
	return func(m *manager, h *hub.Hub, msg hub.Message) (int, error) {
		return h.Broadcast(msg, except(m, id)...)
	}
}

// except leaves out the session with C ID id, if there is one.
func except(m *manager, id C.uint32_t) []hub.RouteOption {
	if hid := m.ids.hubID(uint32(id)); hid != "" {
		return []hub.RouteOption{hub.Except(hid)}
	}
	return nil
}

func toRoom(room *C.wsg_cchar, exceptID *C.uint32_t) func(*manager, *hub.Hub, hub.Message) (int, error) {
	return func(m *manager, h *hub.Hub, msg hub.Message) (int, error) {
		name, err := goString(room, "room")
		if err != nil {
			return 0, err
		}
		var opts []hub.RouteOption
		if exceptID != nil {
			opts = except(m, *exceptID)
		}
		return h.SendToRoom(name, msg, opts...)
	}
}

func toSession(id C.uint32_t) func(*manager, *hub.Hub, hub.Message) (int, error) {
	return func(m *manager, h *hub.Hub, msg hub.Message) (int, error) {
		s, ok := m.ids.get(uint32(id))
		if !ok {
			return 0, errorf(codeNotFound, "no session %d", uint32(id))
		}
		if err := s.hs.Send(msg); err != nil {
			return 0, err
		}
		return 1, nil
	}
}

func toTopic(subject *C.wsg_cchar) func(*manager, *hub.Hub, hub.Message) (int, error) {
	return func(m *manager, h *hub.Hub, msg hub.Message) (int, error) {
		s, err := goString(subject, "subject")
		if err != nil {
			return 0, err
		}
		return h.Publish(s, msg)
	}
}

//export dmsc_ws_session_manager_broadcast
func dmsc_ws_session_manager_broadcast(p *C.DMSCWSSessionManager, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, false, broadcast)
}

//export dmsc_ws_session_manager_broadcast_binary
func dmsc_ws_session_manager_broadcast_binary(p *C.DMSCWSSessionManager, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, true, broadcast)
}

//export dmsc_ws_session_manager_broadcast_except
func dmsc_ws_session_manager_broadcast_except(p *C.DMSCWSSessionManager, id C.uint32_t, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, false, broadcastExcept(id))
}

//export dmsc_ws_session_manager_broadcast_except_binary
func dmsc_ws_session_manager_broadcast_except_binary(p *C.DMSCWSSessionManager, id C.uint32_t, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, true, broadcastExcept(id))
}

//export dmsc_ws_session_manager_send_to_room
func dmsc_ws_session_manager_send_to_room(p *C.DMSCWSSessionManager, room, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, false, toRoom(room, nil))
}

//export dmsc_ws_session_manager_send_to_room_binary
func dmsc_ws_session_manager_send_to_room_binary(p *C.DMSCWSSessionManager, room, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, true, toRoom(room, nil))
}

//export dmsc_ws_session_manager_send_to_room_except
func dmsc_ws_session_manager_send_to_room_except(p *C.DMSCWSSessionManager, room *C.wsg_cchar, id C.uint32_t, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, false, toRoom(room, &id))
}

//export dmsc_ws_session_manager_send_to_room_except_binary
func dmsc_ws_session_manager_send_to_room_except_binary(p *C.DMSCWSSessionManager, room *C.wsg_cchar, id C.uint32_t, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, true, toRoom(room, &id))
}

//export dmsc_ws_session_manager_send
func dmsc_ws_session_manager_send(p *C.DMSCWSSessionManager, id C.uint32_t, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, false, toSession(id))
}

//export dmsc_ws_session_manager_send_binary
func dmsc_ws_session_manager_send_binary(p *C.DMSCWSSessionManager, id C.uint32_t, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, true, toSession(id))
}

//export dmsc_ws_session_manager_publish
func dmsc_ws_session_manager_publish(p *C.DMSCWSSessionManager, subject, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, false, toTopic(subject))
}

//export dmsc_ws_session_manager_publish_binary
func dmsc_ws_session_manager_publish_binary(p *C.DMSCWSSessionManager, subject, data *C.wsg_cchar, n C.size_t) C.int {
	return route(p, data, n, true, toTopic(subject))
}

// membership runs a join/leave/subscribe style call for the session with
// C ID id.
func membership(p *C.DMSCWSSessionManager, id C.uint32_t, name *C.wsg_cchar, what string,
	f func(h *hub.Hub, hubID, name string) error) C.int {
	return withManager(p, func(m *manager) (int, error) {
		n, err := goString(name, what)
		if err != nil {
			return 0, err
		}
		h, err := m.hub()
		if err != nil {
			return 0, err
		}
		s, ok := m.ids.get(uint32(id))
		if !ok {
			return 0, errorf(codeNotFound, "no session %d", uint32(id))
		}
		if err := f(h, s.hs.ID(), n); err != nil {
			return 0, wrap(codeOf(err), what, err)
		}
		return codeOK, nil
	})
}

//export dmsc_ws_session_manager_join_room
func dmsc_ws_session_manager_join_room(p *C.DMSCWSSessionManager, id C.uint32_t, room *C.wsg_cchar) C.int {
	return membership(p, id, room, "room", (*hub.Hub).Join)
}

//export dmsc_ws_session_manager_leave_room
func dmsc_ws_session_manager_leave_room(p *C.DMSCWSSessionManager, id C.uint32_t, room *C.wsg_cchar) C.int {
	return membership(p, id, room, "room", (*hub.Hub).Leave)
}

//export dmsc_ws_session_manager_subscribe
func dmsc_ws_session_manager_subscribe(p *C.DMSCWSSessionManager, id C.uint32_t, pattern *C.wsg_cchar) C.int {
	return membership(p, id, pattern, "pattern", (*hub.Hub).Subscribe)
}

//export dmsc_ws_session_manager_unsubscribe
func dmsc_ws_session_manager_unsubscribe(p *C.DMSCWSSessionManager, id C.uint32_t, pattern *C.wsg_cchar) C.int {
	return membership(p, id, pattern, "pattern", (*hub.Hub).Unsubscribe)
}

// copyIDs writes ids into out (up to max) the way dmsc_ws.h describes.
func copyIDs(ids []uint32, out *C.uint32_t, max C.uint32_t) (uint32, error) {
	if out == nil {
		if max != 0 {
			return 0, errorf(codeNull, "the output array is NULL with max %d", uint32(max))
		}
		return saturate32(len(ids)), nil
	}
	n := min(len(ids), int(max))
	dst := unsafe.Slice((*uint32)(unsafe.Pointer(out)), n)
	copy(dst, ids)
	return uint32(n), nil
}

// managerCount runs f for functions that return an unsigned count: 0 and
// the last error on failure.
func managerCount[T C.uint32_t | C.uint64_t](p *C.DMSCWSSessionManager, f func(m *manager) (T, error)) (r T) {
	defer guard(nil)
	m, err := managerOf(p)
	if err != nil {
		fail(err)
		return 0
	}
	v, err := f(m)
	if err != nil {
		fail(err)
		return 0
	}
	return v
}

//export dmsc_ws_session_manager_get_room_members
func dmsc_ws_session_manager_get_room_members(p *C.DMSCWSSessionManager, room *C.wsg_cchar, out *C.uint32_t, max C.uint32_t) C.uint32_t {
	return managerCount(p, func(m *manager) (C.uint32_t, error) {
		name, err := goString(room, "room")
		if err != nil {
			return 0, err
		}
		h, err := m.hub()
		if err != nil {
			return 0, err
		}
		n, err := copyIDs(m.ids.toC(h.Members(name)), out, max)
		return C.uint32_t(n), err
	})
}

//export dmsc_ws_session_manager_get_session_ids
func dmsc_ws_session_manager_get_session_ids(p *C.DMSCWSSessionManager, out *C.uint32_t, max C.uint32_t) C.uint32_t {
	return managerCount(p, func(m *manager) (C.uint32_t, error) {
		n, err := copyIDs(m.ids.open(), out, max)
		return C.uint32_t(n), err
	})
}

//export dmsc_ws_session_manager_get_session
func dmsc_ws_session_manager_get_session(p *C.DMSCWSSessionManager, id C.uint32_t) (r *C.DMSCWSSession) {
	defer guard(nil)
	m, err := managerOf(p)
	if err != nil {
		fail(err)
		return nil
	}
	s, ok := m.ids.get(uint32(id))
	if !ok {
		fail(errorf(codeNotFound, "no session %d", uint32(id)))
		return nil
	}
	return newSessionObject(s, false)
}

//export dmsc_ws_session_manager_disconnect
func dmsc_ws_session_manager_disconnect(p *C.DMSCWSSessionManager, id C.uint32_t, code C.uint16_t, reason *C.wsg_cchar) C.int {
	return withManager(p, func(m *manager) (int, error) {
		s, ok := m.ids.get(uint32(id))
		if !ok {
			return 0, errorf(codeNotFound, "no session %d", uint32(id))
		}
		return codeOK, closeSession(s, int(code), reason, true)
	})
}

// closeSession closes s with Kick (now) or Close (after the queue).
func closeSession(s *session, code int, reason *C.wsg_cchar, now bool) error {
	why, err := optString(reason, "reason")
	if err != nil {
		return err
	}
	if now {
		err = s.hs.Kick(code, why)
	} else {
		err = s.hs.Close(code, why)
	}
	if err != nil && codeOf(err) == codeInternal {
		return wrap(codeInvalidArgument, "close code", err)
	}
	return err
}

//export dmsc_ws_session_manager_get_active_count
func dmsc_ws_session_manager_get_active_count(p *C.DMSCWSSessionManager) C.uint32_t {
	return managerCount(p, func(m *manager) (C.uint32_t, error) { return C.uint32_t(saturate32(m.stats().Active)), nil })
}

//export dmsc_ws_session_manager_get_total_count
func dmsc_ws_session_manager_get_total_count(p *C.DMSCWSSessionManager) C.uint32_t {
	return managerCount(p, func(m *manager) (C.uint32_t, error) { return C.uint32_t(saturate32(m.stats().Total)), nil })
}

func stat64(p *C.DMSCWSSessionManager, f func(s hub.Stats) uint64) C.uint64_t {
	return managerCount(p, func(m *manager) (C.uint64_t, error) { return C.uint64_t(f(m.stats())), nil })
}

//export dmsc_ws_session_manager_get_total_messages
func dmsc_ws_session_manager_get_total_messages(p *C.DMSCWSSessionManager) C.uint64_t {
	return stat64(p, func(s hub.Stats) uint64 { return s.MessagesReceived + s.MessagesSent })
}

//export dmsc_ws_session_manager_get_total_bytes
func dmsc_ws_session_manager_get_total_bytes(p *C.DMSCWSSessionManager) C.uint64_t {
	return stat64(p, func(s hub.Stats) uint64 { return s.BytesReceived + s.BytesSent })
}

//export dmsc_ws_session_manager_get_messages_received
func dmsc_ws_session_manager_get_messages_received(p *C.DMSCWSSessionManager) C.uint64_t {
	return stat64(p, func(s hub.Stats) uint64 { return s.MessagesReceived })
}

//export dmsc_ws_session_manager_get_messages_sent
func dmsc_ws_session_manager_get_messages_sent(p *C.DMSCWSSessionManager) C.uint64_t {
	return stat64(p, func(s hub.Stats) uint64 { return s.MessagesSent })
}

//export dmsc_ws_session_manager_get_dropped_messages
func dmsc_ws_session_manager_get_dropped_messages(p *C.DMSCWSSessionManager) C.uint64_t {
	return stat64(p, func(s hub.Stats) uint64 { return s.Dropped })
}
