package hub

import (
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
//
// In a cluster (Config.Broker set), each routing call also queues the
// message for the other nodes in the hub's outbox and returns without
// waiting for the network. What the caller learns at once: the count of
// local sessions that took the message; ErrClosed once Shutdown has begun
// (nothing was delivered, here or elsewhere); an error wrapping ErrRemote
// when the outbox is full (local delivery happened, the other nodes get
// nothing; counted in ClusterStats.Refused). What it learns later, through
// OnError (a *RemoteError, with a nil session) and ClusterStats.Failed: the
// broker did not take the message in Config.BrokerTimeout. Delivery on the
// other nodes follows their own sessions' queue policies.
func (h *Hub) Broadcast(m Message, opts ...RouteOption) (int, error) {
	return h.route(Envelope{Kind: ToAll}, m, opts)
}

// SendToRoom queues m for every member of the room, on every node (see
// Broadcast for what the result says in a cluster).
//
// For a room with a HistoryPolicy (Config.History), SendToRoom first
// appends m to the Store, which gives it its position, and waits for it
// (at most HistoryConfig.Timeout; when the store fails it returns an
// error wrapping ErrHistory and sends nothing). HistoryConfig.Frame then
// puts the position into the message, once. Each node queues a room's
// messages for its members in position order, whichever node sent them;
// the count is the number of local members the message is for. Where
// cannot be used (the history is for every member), and the Block slow
// policy does not apply (one slow member would hold the room's order).
// Except applies to live delivery only: a message read back from the store
// (JoinFrom's replay, a gap refilled) reaches every member.
func (h *Hub) SendToRoom(roomName string, m Message, opts ...RouteOption) (int, error) {
	if err := checkRoomName(roomName); err != nil {
		return 0, err
	}
	if h.hist.on {
		p, err := h.hist.roomPolicy(roomName)
		if err != nil {
			return 0, err
		}
		if p.Size > 0 {
			return h.sendToRoom(roomName, p, m, opts)
		}
	}
	return h.route(Envelope{Kind: ToRoom, Target: roomName}, m, opts)
}

// Publish queues m for every session subscribed to a pattern matching
// subject, on every node (see Broadcast for what the result says in a
// cluster). The subject may not contain wildcards.
func (h *Hub) Publish(subject string, m Message, opts ...RouteOption) (int, error) {
	if _, err := splitTopic(subject, false); err != nil {
		return 0, err
	}
	return h.route(Envelope{Kind: ToTopic, Target: subject}, m, opts)
}

// Send queues m for one session, on whichever node holds it (NodeOf tells
// which). For a session of this node it returns 1 when the session took the
// message, 0 when it refused it (closing, or its queue policy), and
// ErrSessionNotFound when there is no such session. For another node's
// session it queues the message for that node and returns 0 and nil (or an
// error wrapping ErrRemote, see Broadcast) without knowing whether the
// session exists. Without a Broker, an ID of another node is not found.
func (h *Hub) Send(sessionID string, m Message) (int, error) {
	remote, err := h.remoteSession(sessionID)
	if err != nil {
		return 0, err
	}
	if !remote {
		if _, ok := h.Session(sessionID); !ok {
			return 0, fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
		}
	}
	return h.route(Envelope{Kind: ToSession, Target: sessionID}, m, nil)
}

func (h *Hub) route(e Envelope, m Message, opts []RouteOption) (int, error) {
	if !validType(m.Type) {
		return 0, errBadType
	}
	if h.shuttingDown() {
		return 0, ErrClosed
	}
	var r route
	for _, o := range opts {
		o(&r)
	}
	e.Node, e.Except, e.Type, e.Data = h.node, r.except, m.Type, m.Data
	remoteOnly := e.Kind == ToSession && NodeOf(e.Target) != h.node
	n := 0
	if !remoteOnly {
		n = h.deliver(&e, r.where, true)
	}
	if r.where != nil || !h.cluster.on {
		return n, nil
	}
	if e.Kind == ToSession && !remoteOnly {
		return n, nil // this node's session: no other node has it
	}
	return n, h.cluster.outbox.push(e)
}

// deliverRemote is the broker's way in: an envelope from another node. It
// never waits: messages are queued without the Block policy, operations
// that need the broker (a remote Join) do not wait for it.
func (h *Hub) deliverRemote(e Envelope) {
	if e.Node == h.node {
		return
	}
	h.cluster.stats.received.Add(1)
	switch e.Op {
	case OpMessage:
		switch {
		case !validType(e.Type):
		case e.Offset != 0 && e.Kind == ToRoom:
			h.deliverHistory(&e)
		default:
			h.deliver(&e, nil, false)
		}
	case OpPresenceJoin, OpPresenceLeave:
		h.cluster.presence.remoteEvent(&e)
	default:
		h.applyRemote(&e)
	}
}

// deliver queues the envelope's message for the matching sessions of this
// node and returns how many took it. The message is framed (and compressed)
// once, however many sessions it reaches. Only a local caller may wait
// under the Block policy; a delivery from the broker never waits.
func (h *Hub) deliver(e *Envelope, where func(*Session) bool, local bool) int {
	p := targetPool.Get().(*[]*Session)
	defer releaseTargets(p)
	*p = h.selectTargets(*p, e, where, true)
	o := newOutbound(Message{Type: e.Type, Data: e.Data})
	var mode enqueueMode
	if local {
		mode |= mayBlock
	}
	if len(*p) > 1 {
		mode |= fanOut
	}
	n := 0
	for _, s := range *p {
		if s.enqueue(o, mode) == queuedOK {
			n++
		}
	}
	return n
}

// selectTargets appends the sessions of this node that e selects (by Kind,
// Target, Except) and where keeps. With count, a room counts the message.
func (h *Hub) selectTargets(dst []*Session, e *Envelope, where func(*Session) bool, count bool) []*Session {
	start := len(dst)
	switch e.Kind {
	case ToAll:
		h.mu.RLock()
		for _, s := range h.byID {
			dst = append(dst, s)
		}
		h.mu.RUnlock()
	case ToRoom:
		dst = h.members.roomTargets(dst, e.Target, len(e.Data), count, nil)
	case ToTopic:
		toks, err := splitTopic(e.Target, false)
		if err != nil {
			return dst
		}
		dst = h.members.topicTargets(dst, toks)
	case ToSession:
		if s, ok := h.Session(e.Target); ok {
			dst = append(dst, s)
		}
	}
	return filterTargets(dst, start, e, where)
}

// filterTargets drops from dst[start:] the sessions e excepts and those
// where rejects.
func filterTargets(dst []*Session, start int, e *Envelope, where func(*Session) bool) []*Session {
	if len(e.Except) == 0 && where == nil {
		return dst
	}
	var except map[string]struct{}
	if len(e.Except) > 8 {
		except = make(map[string]struct{}, len(e.Except))
		for _, id := range e.Except {
			except[id] = struct{}{}
		}
	}
	kept := dst[:start]
	for _, s := range dst[start:] {
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
		kept = append(kept, s)
	}
	clear(dst[len(kept):])
	return kept
}

// targetPool recycles the slices that hold a routing call's targets, so a
// broadcast to thousands of sessions allocates nothing for them.
var targetPool = sync.Pool{New: func() any { s := make([]*Session, 0, 64); return &s }}

func releaseTargets(p *[]*Session) {
	clear(*p)
	*p = (*p)[:0]
	targetPool.Put(p)
}
