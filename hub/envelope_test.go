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
		"close":       {Node: "a-b", Op: OpClose, Kind: ToSession, Target: "n-1", Code: CloseServerError, Reason: "kicked"},
		"join":        {Node: "a", Op: OpJoin, Kind: ToSession, Target: "n-1", Room: "lobby"},
		"leave":       {Node: "a", Op: OpLeave, Kind: ToSession, Target: "n-1", Room: "lobby"},
		"presence":    {Node: "a", Op: OpPresenceJoin, Kind: ToRoom, Target: "lobby", Data: []byte{1, 3, 'n', '-', '1'}},
		"position":    {Node: "a", Kind: ToRoom, Target: "lobby", Type: TextMessage, Data: []byte("hi"), Epoch: "e1", Offset: 1 << 40},
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
		"version":         mutate(func(b []byte) []byte { b[0] = 4; return b }),
		"op unknown":      mutate(func(b []byte) []byte { b[1] = 9; return b }),
		"kind zero":       mutate(func(b []byte) []byte { b[2] = 0; return b }),
		"kind unknown":    mutate(func(b []byte) []byte { b[2] = 9; return b }),
		"message type":    mutate(func(b []byte) []byte { b[3] = 9; return b }),
		"type on op":      mustMarshal(t, Envelope{Op: OpJoin, Kind: ToSession, Target: "n-1", Room: "r", Type: TextMessage}),
		"close code":      mustMarshal(t, Envelope{Op: OpClose, Kind: ToSession, Target: "n-1", Code: 1005}),
		"code on message": mustMarshal(t, Envelope{Kind: ToAll, Type: TextMessage, Code: 1000}),
		"reason too long": mustMarshal(t, Envelope{Op: OpClose, Kind: ToSession, Target: "n-1", Code: 1000, Reason: strings.Repeat("r", 124)}),
		"join no room":    mustMarshal(t, Envelope{Op: OpJoin, Kind: ToSession, Target: "n-1"}),
		"room on message": mustMarshal(t, Envelope{Kind: ToAll, Type: TextMessage, Room: "r"}),
		"position on all": mustMarshal(t, Envelope{Kind: ToAll, Type: TextMessage, Epoch: "e", Offset: 1}),
		"position on op":  mustMarshal(t, Envelope{Op: OpPresenceJoin, Kind: ToRoom, Target: "r", Epoch: "e", Offset: 1}),
		"epoch no offset": mustMarshal(t, Envelope{Kind: ToRoom, Target: "r", Type: TextMessage, Epoch: "e"}),
		"epoch too long":  mustMarshal(t, Envelope{Kind: ToRoom, Target: "r", Type: TextMessage, Epoch: strings.Repeat("e", 65), Offset: 1}),
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

// A version 1 envelope (a message, before ops existed) still decodes, so
// that the nodes of a cluster can be upgraded one at a time.
func TestEnvelopeVersion1(t *testing.T) {
	v1 := []byte("\x01\x02\x01\x02n1\x05lobby\x01\x04n1-1\x02hi")
	var got Envelope
	if err := got.UnmarshalBinary(v1); err != nil {
		t.Fatal(err)
	}
	want := Envelope{Node: "n1", Op: OpMessage, Kind: ToRoom, Target: "lobby", Except: []string{"n1-1"}, Type: TextMessage, Data: []byte("hi")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
}

// A version 2 envelope (before history positions) still decodes.
func TestEnvelopeVersion2(t *testing.T) {
	v2 := []byte("\x02\x00\x02\x01\x02n1\x05lobby\x00\x02hi\x00\x00\x00")
	var got Envelope
	if err := got.UnmarshalBinary(v2); err != nil {
		t.Fatal(err)
	}
	want := Envelope{Node: "n1", Op: OpMessage, Kind: ToRoom, Target: "lobby", Type: TextMessage, Data: []byte("hi")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
}

func TestNodeOf(t *testing.T) {
	cases := map[string]string{
		"node-a-1z":  "node-a",
		"n-1":        "n",
		"a--1":       "a-",
		"nobody":     "",
		"-1":         "",
		"n-":         "",
		"":           "",
		"eu-west-3a": "eu-west",
	}
	for id, want := range cases {
		if got := NodeOf(id); got != want {
			t.Errorf("NodeOf(%q) = %q, want %q", id, got, want)
		}
	}
	e := Envelope{Kind: ToSession, Target: "x-y-7"}
	if e.DestNode() != "x-y" {
		t.Errorf("DestNode = %q", e.DestNode())
	}
	e.Kind = ToRoom
	if e.DestNode() != "" {
		t.Errorf("DestNode of a room envelope = %q", e.DestNode())
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
		{Node: "n2", Op: OpClose, Kind: ToSession, Target: "n1-4", Code: 4000, Reason: "bye"},
		{Node: "n2", Op: OpJoin, Kind: ToSession, Target: "n1-4", Room: "lobby"},
		{Node: "n2", Op: OpPresenceLeave, Kind: ToRoom, Target: "lobby", Data: []byte{1, 4, 'n', '1', '-', '4', 0, 0, 0}},
		{Node: "n2", Kind: ToRoom, Target: "lobby", Type: TextMessage, Data: []byte("x"), Epoch: "e", Offset: 7},
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
