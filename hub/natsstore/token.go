package natsstore

import "strings"

const hexDigits = "0123456789ABCDEF"

// encodeToken turns a room name into one NATS subject token by the rule of
// natsbroker.EncodeToken (a test holds the two equal): letters, digits
// and "-" stay, every other byte becomes "_" and two upper-case hex
// digits, and "" becomes "_". The result never contains ".", "*" or ">".
// The rule is copied rather than imported so that this package depends on
// hub only; see the test.
func encodeToken(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(s) * 3)
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
