package hub

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Topics are dot-separated subjects such as "prices.eu.btc". A subscription
// pattern may use "*" for exactly one token ("prices.*.btc") and end with
// ">" for one or more remaining tokens ("prices.>"), as NATS subjects do.

// topicNode is one token of the subscription tree. Patterns that end at a
// node have their subscribers in subs.
type topicNode struct {
	children map[string]*topicNode
	subs     map[*Session]struct{}
}

// splitTopic checks a subject (wild false) or pattern (wild true) and
// returns its tokens.
func splitTopic(t string, wild bool) ([]string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: topic %q %s", ErrBadName, t, why)
	}
	if t == "" || len(t) > maxNameLen {
		return nil, bad(fmt.Sprintf("must be 1 to %d bytes", maxNameLen))
	}
	for _, r := range t {
		if r <= ' ' || r == 0x7f || r == '\uFFFD' {
			return nil, bad("has a space, control character or invalid UTF-8")
		}
	}
	toks := strings.Split(t, ".")
	for i, tok := range toks {
		switch {
		case tok == "":
			return nil, bad("has an empty token")
		case tok == "*" || tok == ">":
			if !wild {
				return nil, bad("has a wildcard; only subscriptions may")
			}
			if tok == ">" && i != len(toks)-1 {
				return nil, bad(`has ">" before its last token`)
			}
		case strings.ContainsAny(tok, "*>"):
			return nil, bad("mixes a wildcard into a token")
		}
	}
	return toks, nil
}

// Subscribe subscribes the session (of this node) to a topic pattern.
// Subscribing twice to the same pattern is not an error. In a cluster it
// waits for the broker as Join does, with the same guarantee: once it
// returns nil, every message published on a matching subject from any node
// after that moment reaches the session; on an error wrapping ErrRemote the
// session is subscribed locally and the hub retries at the broker.
func (h *Hub) Subscribe(sessionID, pattern string) error {
	toks, err := splitTopic(pattern, true)
	if err != nil {
		return err
	}
	s, ok := h.Session(sessionID)
	if !ok {
		return fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
	}
	if err := h.subscribe(s, pattern, toks); err != nil {
		return err
	}
	return h.cluster.interest.await(Channel{Kind: ToTopic, Name: pattern})
}

func (h *Hub) subscribe(s *Session, pattern string, toks []string) error {
	m := &h.members
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.state0() == stateEnded {
		return fmt.Errorf("%w: %s", ErrClosed, s.id)
	}
	if _, in := s.topics[pattern]; in {
		return nil
	}
	if len(s.topics) >= h.cfg.MaxTopicsPerSession {
		return fmt.Errorf("%w: %d topics", ErrTooManyRooms, len(s.topics))
	}
	n := &m.topics
	for _, tok := range toks {
		c := n.children[tok]
		if c == nil {
			if n.children == nil {
				n.children = make(map[string]*topicNode)
			}
			c = &topicNode{}
			n.children[tok] = c
		}
		n = c
	}
	if n.subs == nil {
		n.subs = make(map[*Session]struct{})
		m.ntopic++
		h.cluster.interest.setWant(Channel{Kind: ToTopic, Name: pattern}, true)
	}
	n.subs[s] = struct{}{}
	if s.topics == nil {
		s.topics = make(map[string]struct{})
	}
	s.topics[pattern] = struct{}{}
	return nil
}

// Unsubscribe removes one subscription of the session; a pattern left
// without subscribers disappears (and this node unsubscribes from it at the
// broker, without waiting).
func (h *Hub) Unsubscribe(sessionID, pattern string) error {
	s, ok := h.Session(sessionID)
	if !ok {
		return fmt.Errorf("%w: %s", ErrSessionNotFound, sessionID)
	}
	h.members.mu.Lock()
	h.members.unsubscribeLocked(s, pattern)
	h.members.mu.Unlock()
	return nil
}

func (m *membership) unsubscribeLocked(s *Session, pattern string) {
	if _, in := s.topics[pattern]; !in {
		return
	}
	delete(s.topics, pattern)
	toks := strings.Split(pattern, ".")
	path := make([]*topicNode, 0, len(toks)+1)
	n := &m.topics
	path = append(path, n)
	for _, tok := range toks {
		n = n.children[tok]
		if n == nil {
			return
		}
		path = append(path, n)
	}
	delete(n.subs, s)
	if len(n.subs) == 0 {
		n.subs = nil
		m.ntopic--
		s.hub.cluster.interest.setWant(Channel{Kind: ToTopic, Name: pattern}, false)
	}
	// Prune nodes left with neither subscribers nor children.
	for i := len(path) - 1; i > 0; i-- {
		c := path[i]
		if c.subs != nil || len(c.children) > 0 {
			break
		}
		delete(path[i-1].children, toks[i-1])
	}
}

// topicTargets appends every session with a pattern matching the subject's
// tokens to dst, each session once.
func (m *membership) topicTargets(dst []*Session, toks []string) []*Session {
	m.mu.RLock()
	start := len(dst)
	nodes := 0
	dst = m.topics.match(dst, toks, &nodes)
	m.mu.RUnlock()
	if nodes > 1 { // a session may hold several matching patterns
		found := dst[start:]
		slices.SortFunc(found, func(a, b *Session) int { return strings.Compare(a.id, b.id) })
		dst = append(dst[:start], slices.Compact(found)...)
	}
	return dst
}

func (n *topicNode) match(dst []*Session, toks []string, nodes *int) []*Session {
	collect := func(c *topicNode) {
		if len(c.subs) > 0 {
			*nodes++
			for s := range c.subs {
				dst = append(dst, s)
			}
		}
	}
	if len(toks) == 0 {
		collect(n)
		return dst
	}
	if c := n.children[">"]; c != nil {
		collect(c)
	}
	if c := n.children[toks[0]]; c != nil {
		dst = c.match(dst, toks[1:], nodes)
	}
	if c := n.children["*"]; c != nil {
		dst = c.match(dst, toks[1:], nodes)
	}
	return dst
}

// TopicInfo describes a subscription pattern on this node.
type TopicInfo struct {
	Pattern     string
	Subscribers int
}

// Topics lists this node's subscription patterns, sorted. A pattern exists
// while it has subscribers.
func (h *Hub) Topics() []TopicInfo {
	var out []TopicInfo
	var walk func(n *topicNode, prefix string)
	walk = func(n *topicNode, prefix string) {
		if len(n.subs) > 0 {
			out = append(out, TopicInfo{Pattern: prefix, Subscribers: len(n.subs)})
		}
		for tok, c := range n.children {
			p := tok
			if prefix != "" {
				p = prefix + "." + tok
			}
			walk(c, p)
		}
	}
	h.members.mu.RLock()
	walk(&h.members.topics, "")
	h.members.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Pattern < out[j].Pattern })
	return out
}

// Topics returns the patterns the session is subscribed to, sorted; once it
// has ended (in OnClose), the ones it had.
func (s *Session) Topics() []string {
	m := &s.hub.members
	m.mu.RLock()
	out := make([]string, 0, len(s.topics))
	for p := range s.topics {
		out = append(out, p)
	}
	m.mu.RUnlock()
	sort.Strings(out)
	return out
}

// MatchTopic reports whether the subject (no wildcards) matches the
// subscription pattern by the hub's rules: "*" matches exactly one token and
// a final ">" one or more. It is false when either is invalid. Brokers whose
// server has wider wildcards use it to filter what they deliver.
func MatchTopic(pattern, subject string) bool {
	pt, err := splitTopic(pattern, true)
	if err != nil {
		return false
	}
	st, err := splitTopic(subject, false)
	if err != nil {
		return false
	}
	for i, p := range pt {
		switch {
		case p == ">":
			return len(st) > i
		case i >= len(st):
			return false
		case p != "*" && p != st[i]:
			return false
		}
	}
	return len(pt) == len(st)
}
