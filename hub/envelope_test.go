package hub

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	cases := map[string]Envelope{
		"all":         {Node: "n1", Kind: ToAll, Type: TextMessage, Data: []byte("hi")},
		"room except": {Node: "n1", Kind: ToRoom, Target: "lobby", Except: []string{"n1-1", "n2-7"}, Type: BinaryMessage, Data: []byte{0, 1, 2}},
		"topic":       {Node: "node", Kind: ToTopic, Target: "prices.eu.btc", Type: TextMessage, Data: []byte(`{"p":1}`)},
		"session":     {Node: "node", Kind: ToSession, Target: "node-2a", Type: TextMessage},
		"large data":  {Node: "n", Kind: ToAll, Type: BinaryMessage, Data: bytes.Repeat([]byte{7}, 70000)},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			wire, err := e.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Envelope
			if err := got.UnmarshalBinary(wire); err != nil {
				t.Fatal(err)
			}
			if len(e.Data) == 0 {
				e.Data = got.Data // nil and empty decode alike
			}
			if !reflect.DeepEqual(got, e) {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, e)
			}
		})
	}
}

func TestEnvelopeRefusals(t *testing.T) {
	valid := Envelope{Node: "n1", Kind: ToRoom, Target: "lobby", Except: []string{"a"}, Type: TextMessage, Data: []byte("hi")}
	good, _ := valid.MarshalBinary()
	mutate := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":           nil,
		"version":         mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"kind zero":       mutate(func(b []byte) []byte { b[1] = 0; return b }),
		"kind unknown":    mutate(func(b []byte) []byte { b[1] = 9; return b }),
		"message type":    mutate(func(b []byte) []byte { b[2] = 9; return b }),
		"truncated":       good[:len(good)-1],
		"trailing bytes":  append(append([]byte(nil), good...), 0),
		"node too long":   mustMarshal(t, Envelope{Node: strings.Repeat("n", 65), Kind: ToAll, Type: TextMessage}),
		"huge length":     {1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad varint":      {1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"except overflow": {1, 1, 1, 0, 0, 0xff, 0xff, 0x03},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			var e Envelope
			if err := e.UnmarshalBinary(b); !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("UnmarshalBinary = %v, want ErrBadEnvelope", err)
			}
		})
	}
}

func mustMarshal(t *testing.T, e Envelope) []byte {
	t.Helper()
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzEnvelope: decoding arbitrary bytes never panics, and whatever decodes
// encodes back to bytes that decode to the same envelope.
func FuzzEnvelope(f *testing.F) {
	for _, e := range []Envelope{
		{Node: "n1", Kind: ToAll, Type: TextMessage, Data: []byte("hi")},
		{Node: "n1", Kind: ToRoom, Target: "lobby", Except: []string{"n1-1"}, Type: BinaryMessage, Data: []byte{0}},
		{Node: "n2", Kind: ToTopic, Target: "a.b.c", Type: TextMessage},
	} {
		b, _ := e.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Envelope
		if err := e.UnmarshalBinary(b); err != nil {
			return
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var e2 Envelope
		if err := e2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v", err)
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip changed the envelope:\n%+v\n%+v", e, e2)
		}
	})
}
