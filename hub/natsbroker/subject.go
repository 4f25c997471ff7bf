package natsbroker

import (
	"fmt"
	"strings"

	"github.com/wsgate/wsgate/hub"
)

const hexDigits = "0123456789ABCDEF"

// EncodeToken turns any string into one NATS subject token: letters,
// digits and "-" stay as they are, and every other byte (including ".",
// "*", ">", "_", spaces and the bytes of non-ASCII characters) becomes "_"
// followed by its two upper-case hex digits. The empty string becomes "_".
// The result is never a wildcard and never contains "."; DecodeToken
// reverses it.
func EncodeToken(s string) string {
	if s == "" {
		return "_"
	}
	plain := true
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plainByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

func plainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// DecodeToken reverses EncodeToken. It fails, wrapping ErrUnroutable, on a
// token EncodeToken cannot have produced, so that each string has exactly
// one token.
func DecodeToken(tok string) (string, error) {
	if tok == "_" {
		return "", nil
	}
	if tok == "" {
		return "", fmt.Errorf("%w: empty token", ErrUnroutable)
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case plainByte(c):
			b.WriteByte(c)
		case c == '_' && i+2 < len(tok) && isUpperHex(tok[i+1]) && isUpperHex(tok[i+2]):
			d := unhex(tok[i+1])<<4 | unhex(tok[i+2])
			if plainByte(d) { // EncodeToken writes these as themselves
				return "", fmt.Errorf("%w: %q is not an encoded token", ErrUnroutable, tok)
			}
			b.WriteByte(d)
			i += 2
		default:
			return "", fmt.Errorf("%w: %q is not an encoded token", ErrUnroutable, tok)
		}
	}
	return b.String(), nil
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

// subjects builds the subjects of one prefix.
type subjects struct{ prefix string }

func (s subjects) all() string             { return s.prefix + ".all" }
func (s subjects) node(node string) string { return s.prefix + ".node." + EncodeToken(node) }
func (s subjects) room(room string) string { return s.prefix + ".room." + EncodeToken(room) }

// presenceRoom is the filter of one room's members; presenceMember the
// subject of one member.
func (s subjects) presenceAll() string { return s.prefix + ".presence.>" }
func (s subjects) presenceRoom(room string) string {
	return s.prefix + ".presence." + EncodeToken(room) + ".*"
}
func (s subjects) presenceMember(room, sessionID string) string {
	return s.prefix + ".presence." + EncodeToken(room) + "." + EncodeToken(sessionID)
}

// topic returns the subject of a topic (wild false: no wildcards allowed)
// or of a subscription pattern (wild true: "*" tokens and a final ">" stay
// NATS wildcards). It refuses what hub.MatchTopic would never match: an
// empty token, a wildcard mixed into a token, ">" before the last token.
func (s subjects) topic(t string, wild bool) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: topic %q %s", ErrUnroutable, t, why)
	}
	if t == "" {
		return bad("is empty")
	}
	toks := strings.Split(t, ".")
	var b strings.Builder
	b.Grow(len(s.prefix) + len(".topic.") + 2*len(t))
	b.WriteString(s.prefix)
	b.WriteString(".topic")
	for i, tok := range toks {
		b.WriteByte('.')
		switch {
		case tok == "":
			return bad("has an empty token")
		case tok == "*" || tok == ">":
			if !wild {
				return bad("has a wildcard; only patterns may")
			}
			if tok == ">" && i != len(toks)-1 {
				return bad(`has ">" before its last token`)
			}
			b.WriteString(tok)
		case strings.ContainsAny(tok, "*>"):
			return bad("mixes a wildcard into a token")
		default:
			b.WriteString(EncodeToken(tok))
		}
	}
	return b.String(), nil
}

// envelope returns the subject an envelope is published on.
func (s subjects) envelope(e *hub.Envelope) (string, error) {
	switch e.Kind {
	case hub.ToAll:
		return s.all(), nil
	case hub.ToRoom:
		return s.room(e.Target), nil
	case hub.ToTopic:
		return s.topic(e.Target, false)
	case hub.ToSession:
		node := e.DestNode()
		if node == "" {
			return "", fmt.Errorf("%w: session ID %q names no node", ErrUnroutable, e.Target)
		}
		return s.node(node), nil
	}
	return "", fmt.Errorf("%w: envelope kind %d", ErrUnroutable, e.Kind)
}

// channel returns the subject of a subscription.
func (s subjects) channel(ch hub.Channel) (string, error) {
	switch ch.Kind {
	case hub.ToRoom:
		return s.room(ch.Name), nil
	case hub.ToTopic:
		return s.topic(ch.Name, true)
	}
	return "", fmt.Errorf("%w: channel kind %d", ErrUnroutable, ch.Kind)
}
