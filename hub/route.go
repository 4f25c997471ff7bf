package hub

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// RouteOption narrows the sessions a routing call reaches.
type RouteOption func(*route)

type route struct {
	except []string
	where  func(*Session) bool
}

// Except leaves out the sessions with the given IDs (the sender of a chat
// message, for example). It applies on every node.
func Except(ids ...string) RouteOption {
	return func(r *route) { r.except = append(r.except, ids...) }
}

// Where keeps only the sessions for which pred returns true: by metadata,
// connection time, counters or anything else a Session tells. pred runs on
// the caller's goroutine, outside every hub lock. A function cannot travel
// between nodes, so a routing call with Where reaches this node's sessions
// only.
func Where(pred func(s *Session) bool) RouteOption {
	return func(r *route) { r.where = pred }
}

// Broadcast queues m for every session and returns how many sessions on this
// node it was queued for.
func (h *Hub) Broadcast(m Message, opts ...RouteOption) (int, error) {
	return h.route(Envelope{Kind: ToAll}, m, opts)
}

// SendToRoom queues m for every member of the room.
func (h *Hub) SendToRoom(roomName string, m Message, opts ...RouteOption) (int, error) {
	if err := checkRoomName(roomName); err != nil {
		return 0, err
	}
	return h.route(Envelope{Kind: ToRoom, Target: roomName}, m, opts)
}

// Publish queues m for every session subscribed to a pattern matching
// subject. The subject may not contain wildcards.
func (h *Hub) Publish(subject string, m Message, opts ...RouteOption) (int, error) {
	if _, err := splitTopic(subject, false); err != nil {
		return 0, err
	}
	return h.route(Envelope{Kind: ToTopic, Target: subject}, m, opts)
}

// Send queues m for one session, on whichever node holds it. It returns 1
// when the session is on this node and took the message, and
// ErrSessionNotFound when this hub is the only node and has no such session.
func (h *Hub) Send(sessionID string, m Message) (int, error) {
	if _, local := h.Session(sessionID); !local {
		if _, single := h.broker.(localBroker); single {
			return 0, fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
		}
	}
	return h.route(Envelope{Kind: ToSession, Target: sessionID}, m, nil)
}

func (h *Hub) route(e Envelope, m Message, opts []RouteOption) (int, error) {
	if !validType(m.Type) {
		return 0, errBadType
	}
	var r route
	for _, o := range opts {
		o(&r)
	}
	e.Node, e.Except, e.Type, e.Data = h.node, r.except, m.Type, m.Data
	n := h.deliver(&e, r.where, true)
	if r.where != nil {
		return n, nil
	}
	if _, local := h.broker.(localBroker); local {
		return n, nil
	}
	if e.Kind == ToSession && n == 1 {
		return n, nil // found here; no other node has it
	}
	if err := h.broker.Publish(context.Background(), e); err != nil {
		return n, fmt.Errorf("hub: broker: %w", err)
	}
	return n, nil
}

// deliverRemote is the broker's way in: an envelope from another node.
func (h *Hub) deliverRemote(e Envelope) {
	if e.Node == h.node || !validType(e.Type) {
		return
	}
	h.deliver(&e, nil, false)
}

// deliver queues the envelope's message for the matching sessions of this
// node and returns how many took it. The message is framed (and compressed)
// once, however many sessions it reaches. Only a local caller (mayBlock)
// may wait under the Block policy; a delivery from the broker never waits.
func (h *Hub) deliver(e *Envelope, where func(*Session) bool, mayBlock bool) int {
	p := targetPool.Get().(*[]*Session)
	defer releaseTargets(p)
	switch e.Kind {
	case ToAll:
		h.mu.RLock()
		for _, s := range h.byID {
			*p = append(*p, s)
		}
		h.mu.RUnlock()
	case ToRoom:
		*p = h.members.roomTargets(*p, e.Target, len(e.Data))
	case ToTopic:
		toks, err := splitTopic(e.Target, false)
		if err != nil {
			return 0
		}
		*p = h.members.topicTargets(*p, toks)
	case ToSession:
		if s, ok := h.Session(e.Target); ok {
			*p = append(*p, s)
		}
	}
	var except map[string]struct{}
	if len(e.Except) > 8 {
		except = make(map[string]struct{}, len(e.Except))
		for _, id := range e.Except {
			except[id] = struct{}{}
		}
	}
	o := newOutbound(Message{Type: e.Type, Data: e.Data})
	n := 0
	for _, s := range *p {
		if except != nil {
			if _, skip := except[s.id]; skip {
				continue
			}
		} else if slices.Contains(e.Except, s.id) {
			continue
		}
		if where != nil && !where(s) {
			continue
		}
		if s.enqueue(o, mayBlock) == queuedOK {
			n++
		}
	}
	return n
}

// targetPool recycles the slices that hold a routing call's targets, so a
// broadcast to thousands of sessions allocates nothing for them.
var targetPool = sync.Pool{New: func() any { s := make([]*Session, 0, 64); return &s }}

func releaseTargets(p *[]*Session) {
	clear(*p)
	*p = (*p)[:0]
	targetPool.Put(p)
}
