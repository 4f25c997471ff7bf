package redisbroker

import "strings"

// names builds the Redis channel and key names of one broker.
type names struct {
	prefix     string // Config.Prefix
	globPrefix string // prefix with glob metacharacters escaped
}

func newNames(prefix string) names {
	return names{prefix: prefix, globPrefix: escapeGlob(prefix)}
}

func (n names) all() string                { return n.prefix + ":all" }
func (n names) node(node string) string    { return n.prefix + ":node:" + node }
func (n names) room(room string) string    { return n.prefix + ":room:" + room }
func (n names) subject(subj string) string { return n.prefix + ":topic:" + subj }

// allRooms and allTopics are the globs Config.SubscribeAll subscribes to:
// every room channel and every topic channel under the prefix.
func (n names) allRooms() string  { return n.globPrefix + ":room:*" }
func (n names) allTopics() string { return n.globPrefix + ":topic:*" }

// pattern returns the Redis glob that covers the hub pattern p: literal
// tokens escaped, a "*" token as the glob "*" and a final ">" as "?*" (one
// or more bytes). The glob is wider than p (its "*" crosses dots), never
// narrower. Distinct patterns get distinct globs ("a.*" and "a.>" too), so
// that each hub channel is exactly one Redis subscription.
func (n names) pattern(p string) string {
	var b strings.Builder
	b.WriteString(n.globPrefix)
	b.WriteString(":topic:")
	for i, tok := range strings.Split(p, ".") {
		if i > 0 {
			b.WriteByte('.')
		}
		switch tok {
		case "*":
			b.WriteByte('*')
			continue
		case ">":
			b.WriteString("?*")
			continue
		}
		b.WriteString(escapeGlob(tok))
	}
	return b.String()
}

// presence returns the sorted set and hash keys of a room's presence. They
// differ only after the room, so they share a hash tag (the room's, or the
// prefix's if it has braces) and live on one Redis Cluster slot, as a
// script touching both requires.
func (n names) presence(room string) (zset, hash string) {
	base := n.prefix + ":presence:{" + room + "}"
	return base + ":z", base + ":h"
}

// escapeGlob escapes the characters Redis glob patterns give a meaning to.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// globMatch reports whether s matches a glob built by names.pattern: only
// backslash escapes, "?" (one byte) and "*" (any run of bytes) occur in it. It is what the
// server does for those globs, so that the broker knows which of its
// patterns the server matched for one message.
func globMatch(glob, s string) bool {
	// Iterative matching with backtracking to the last star.
	gi, si := 0, 0
	starG, starS := -1, 0
	for si < len(s) {
		if gi < len(glob) {
			switch c := glob[gi]; {
			case c == '*':
				starG, starS = gi, si
				gi++
				continue
			case c == '?':
				gi++
				si++
				continue
			case c == '\\' && gi+1 < len(glob):
				if glob[gi+1] == s[si] {
					gi += 2
					si++
					continue
				}
			case c == s[si]:
				gi++
				si++
				continue
			}
		}
		if starG < 0 {
			return false
		}
		starS++
		gi, si = starG+1, starS
	}
	for gi < len(glob) && glob[gi] == '*' {
		gi++
	}
	return gi == len(glob)
}
