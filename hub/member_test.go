package hub

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMemberWireForm(t *testing.T) {
	m := Member{SessionID: "node-a-1", Node: "node-a", Info: []byte(`{"user":"ann"}`), Since: time.UnixMilli(1_700_000_000_123)}
	b, _ := m.MarshalBinary()
	var got Member
	if err := got.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	refusals := map[string][]byte{
		"empty":        nil,
		"version":      append([]byte{9}, b[1:]...),
		"truncated":    b[:len(b)-1],
		"trailing":     append(append([]byte(nil), b...), 0),
		"no session":   mustMember(Member{Node: "n"}),
		"info too big": mustMember(Member{SessionID: "n-1", Info: make([]byte, MaxPresenceInfo+1)}),
		"node too big": mustMember(Member{SessionID: "n-1", Node: strings.Repeat("n", 65)}),
	}
	for name, b := range refusals {
		var m Member
		if err := m.UnmarshalBinary(b); !errors.Is(err, ErrBadEnvelope) {
			t.Errorf("%s: UnmarshalBinary = %v, want ErrBadEnvelope", name, err)
		}
	}
}

func mustMember(m Member) []byte {
	b, _ := m.MarshalBinary()
	return b
}

// FuzzMember: decoding arbitrary bytes never panics, and whatever decodes
// encodes back to the same member.
func FuzzMember(f *testing.F) {
	f.Add(mustMember(Member{SessionID: "a-1", Node: "a", Info: []byte("x"), Since: time.UnixMilli(1)}))
	f.Add(mustMember(Member{SessionID: "a-1"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Member
		if err := m.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := m.MarshalBinary()
		var m2 Member
		if err := m2.UnmarshalBinary(again); err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed %+v into %+v (%v)", m, m2, err)
		}
	})
}
