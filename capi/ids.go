package main

import (
	"math"
	"net/netip"
	"slices"
	"sync"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/ratelimit"
)

// session is a hub session as the C API sees it: its uint32 ID and the
// remote address string handed to C.
type session struct {
	id     uint32
	hs     *hub.Session
	remote string
}

// idTable maps the C API's uint32 session IDs to sessions. An ID is
// reserved from the session's connect until poll has processed its close
// event, so the application never sees an ID name two sessions.
type idTable struct {
	mu    sync.Mutex // guards everything below
	last  uint32     // the last ID handed out; 0 before the first
	byID  map[uint32]*session
	byHub map[string]*session
}

func (t *idTable) init() {
	t.byID = make(map[uint32]*session)
	t.byHub = make(map[string]*session)
}

// add reserves the next free ID for hs. The loop ends: fewer IDs are
// reserved than exist (admit bounds them far below 2^32).
func (t *idTable) add(hs *hub.Session) *session {
	s := &session{hs: hs, remote: remoteAddr(hs)}
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		t.last++
		if t.last == 0 { // wrapped: 0 is never an ID
			t.last = 1
		}
		if _, used := t.byID[t.last]; !used {
			break
		}
	}
	s.id = t.last
	t.byID[s.id] = s
	t.byHub[hs.ID()] = s
	return s
}

// release frees s's ID once its close event has been processed.
func (t *idTable) release(s *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID[s.id] == s {
		delete(t.byID, s.id)
	}
	if t.byHub[s.hs.ID()] == s {
		delete(t.byHub, s.hs.ID())
	}
}

func (t *idTable) get(id uint32) (*session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byID[id]
	return s, ok
}

func (t *idTable) ofHub(id string) (*session, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byHub[id]
	return s, ok
}

// hubID returns the hub's ID for a C ID, or "" when none has it.
func (t *idTable) hubID(id uint32) string {
	if s, ok := t.get(id); ok {
		return s.hs.ID()
	}
	return ""
}

func (t *idTable) reserved() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}

// open returns the IDs of the sessions that have not ended, ascending.
func (t *idTable) open() []uint32 {
	t.mu.Lock()
	ids := make([]uint32, 0, len(t.byID))
	for id, s := range t.byID {
		select {
		case <-s.hs.Done():
		default:
			ids = append(ids, id)
		}
	}
	t.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// toC maps hub session IDs to C IDs, ascending, leaving out unknown ones.
func (t *idTable) toC(hubIDs []string) []uint32 {
	t.mu.Lock()
	ids := make([]uint32, 0, len(hubIDs))
	for _, h := range hubIDs {
		if s, ok := t.byHub[h]; ok {
			ids = append(ids, s.id)
		}
	}
	t.mu.Unlock()
	slices.Sort(ids)
	return ids
}

func (t *idTable) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
}

// remoteAddr is the peer's address, or, when trusted proxies named another
// client, that client's IP with port 0.
func remoteAddr(hs *hub.Session) string {
	ap := hs.RemoteAddr()
	if ip, ok := ratelimit.ClientIP(hs.Context()); ok && ip.Unmap() != ap.Addr() {
		return netip.AddrPortFrom(ip.Unmap(), 0).String()
	}
	return ap.String()
}

// saturate32 converts a count to the specification's uint32_t.
func saturate32[T int | uint64](n T) uint32 {
	if uint64(n) > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(n)
}
