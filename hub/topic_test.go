package hub

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTopics(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxTopicsPerSession: 2})
	p := dialPeers(t, th, 2)
	id := func(i int) string { return p[i].s.ID() }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(th.Subscribe(id(0), "a.*"))
	must(th.Subscribe(id(1), "a.*"))
	must(th.Subscribe(id(1), "b.>"))
	must(th.Subscribe(id(1), "b.>")) // twice is fine
	if err := th.Subscribe(id(1), "c"); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("third pattern: %v, want ErrTooManyRooms", err)
	}
	want := []TopicInfo{{"a.*", 2}, {"b.>", 1}}
	if got := th.Topics(); !slices.Equal(got, want) {
		t.Fatalf("Topics() = %+v, want %+v", got, want)
	}
	if got := p[1].s.Topics(); !slices.Equal(got, []string{"a.*", "b.>"}) {
		t.Fatalf("session Topics = %v", got)
	}
	if st := th.Stats(); st.Topics != 2 {
		t.Fatalf("Stats.Topics = %d", st.Topics)
	}

	must(th.Unsubscribe(id(1), "a.*"))
	must(th.Unsubscribe(id(1), "a.*"))  // twice is fine
	must(th.Unsubscribe(id(1), "x..y")) // so is a pattern never subscribed
	if got := th.Topics(); !slices.Equal(got, []TopicInfo{{"a.*", 1}, {"b.>", 1}}) {
		t.Fatalf("Topics() = %+v", got)
	}
	if n, _ := th.Publish("a.x", Text("x")); n != 1 {
		t.Fatalf("Publish reached %d, want 1", n)
	}
	expectDelivery(t, p, []int{0}, Text("x"))
	must(th.Unsubscribe(id(0), "a.*"))
	if got := th.Topics(); !slices.Equal(got, []TopicInfo{{"b.>", 1}}) {
		t.Fatalf("Topics() = %+v", got)
	}

	p[1].c.Close()
	th.awaitEnd(t, p[1].s)
	if got := th.Topics(); len(got) != 0 {
		t.Fatalf("Topics() after the subscriber ended = %+v", got)
	}
	th.members.mu.RLock()
	left := len(th.members.topics.children)
	th.members.mu.RUnlock()
	if left != 0 || th.Stats().Topics != 0 {
		t.Fatalf("topic tree not pruned: %d children, Stats %+v", left, th.Stats())
	}
	if err := th.Subscribe("nobody", "a"); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("Subscribe unknown session: %v", err)
	}
	if err := th.Unsubscribe("nobody", "a"); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("Unsubscribe unknown session: %v", err)
	}
}

func TestTopicBadNames(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	_, s := th.dial(t)
	cases := []struct {
		name, topic string
		pattern     bool // valid as a subscription pattern
	}{
		{"empty", "", false},
		{"too long", strings.Repeat("a", maxNameLen+1), false},
		{"empty token", "a..b", false},
		{"leading dot", ".a", false},
		{"trailing dot", "a.", false},
		{"space", "a b", false},
		{"tab", "a\tb", false},
		{"control", "a\x01", false},
		{"delete", "a\x7f", false},
		{"invalid utf-8", "a.\xff", false},
		{"tail not last", "a.>.b", false},
		{"star in token", "a*", false},
		{"tail in token", "a.b>", false},
		{"star", "a.*", true},
		{"tail", "a.>", true},
		{"lone tail", ">", true},
		{"star then tail", "*.>", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := th.Subscribe(s.ID(), tc.topic)
			if tc.pattern != (err == nil) {
				t.Errorf("Subscribe(%q) = %v", tc.topic, err)
			}
			if err != nil && !errors.Is(err, ErrBadName) {
				t.Errorf("Subscribe error %v does not wrap ErrBadName", err)
			}
			if _, err := th.Publish(tc.topic, Text("x")); !errors.Is(err, ErrBadName) {
				t.Errorf("Publish(%q) = %v, want ErrBadName", tc.topic, err)
			}
		})
	}
}

// refValid is a reference for splitTopic's rules, written from its doc.
func refValid(t string, wild bool) bool {
	if t == "" || len(t) > maxNameLen || !utf8.ValidString(t) {
		return false
	}
	for _, r := range t {
		if r <= ' ' || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	toks := strings.Split(t, ".")
	for i, tok := range toks {
		switch {
		case tok == "":
			return false
		case tok == "*":
			if !wild {
				return false
			}
		case tok == ">":
			if !wild || i != len(toks)-1 {
				return false
			}
		case strings.ContainsAny(tok, "*>"):
			return false
		}
	}
	return true
}

// refMatch is the naive matcher: token by token, "*" for one token, ">" for
// one or more.
func refMatch(pattern, subject string) bool {
	p, s := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, tok := range p {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(p) == len(s)
}

// FuzzTopic checks splitTopic against refValid, and the subscription tree
// against refMatch: for any patterns and subject, the tree yields exactly
// the sessions with a matching pattern, each once, and unsubscribing
// everything leaves an empty tree.
func FuzzTopic(f *testing.F) {
	seeds := [][4]string{
		{"prices.eu.btc", "prices.*.btc", "prices.>", "prices.eu.btc"},
		{"prices", "prices.>", "*", ">"},
		{"a.b.c", "a.*.>", "*.*.*", "a.b"},
		{"a", "a.*", "a.>", "*.>"},
		{"a..b", "a.>.b", "a*", "a.b>"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, subject, p1, p2, p3 string) {
		for _, wild := range []bool{false, true} {
			for _, x := range []string{subject, p1, p2, p3} {
				_, err := splitTopic(x, wild)
				if (err == nil) != refValid(x, wild) {
					t.Fatalf("splitTopic(%q, %v) = %v, reference says valid=%v", x, wild, err, refValid(x, wild))
				}
				if err != nil && !errors.Is(err, ErrBadName) {
					t.Fatalf("error %v does not wrap ErrBadName", err)
				}
			}
		}

		h, err := New(Config{PingInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		// Session 0 holds two patterns, so matching both must still yield it once.
		subs := map[string][]string{"s0": {p1, p2}, "s1": {p2}, "s2": {p3}}
		for id, patterns := range subs {
			h.byID[id] = &Session{id: id, hub: h}
			for _, pat := range patterns {
				if err := h.Subscribe(id, pat); (err == nil) != refValid(pat, true) {
					t.Fatalf("Subscribe(%q) = %v", pat, err)
				}
			}
		}
		var wantTopics []string
		for _, pat := range []string{p1, p2, p3} {
			if refValid(pat, true) && !slices.Contains(wantTopics, pat) {
				wantTopics = append(wantTopics, pat)
			}
		}
		slices.Sort(wantTopics)
		var gotTopics []string
		for _, ti := range h.Topics() {
			gotTopics = append(gotTopics, ti.Pattern)
		}
		if !slices.Equal(gotTopics, wantTopics) {
			t.Fatalf("Topics() = %q, want %q", gotTopics, wantTopics)
		}

		if toks, err := splitTopic(subject, false); err == nil {
			var want []string
			for id, patterns := range subs {
				for _, pat := range patterns {
					if refValid(pat, true) && refMatch(pat, subject) {
						want = append(want, id)
						break
					}
				}
			}
			var got []string
			for _, s := range h.members.topicTargets(nil, toks) {
				got = append(got, s.id)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("subject %q reached %q, want %q (patterns %q)", subject, got, want, subs)
			}
		}

		for id, patterns := range subs {
			for _, pat := range patterns {
				if err := h.Unsubscribe(id, pat); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(h.members.topics.children) != 0 || h.members.ntopic != 0 || len(h.Topics()) != 0 {
			t.Fatalf("tree not empty after unsubscribing: %d children, ntopic %d", len(h.members.topics.children), h.members.ntopic)
		}
	})
}

func TestMatchTopic(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b", false},
		{"a.b", "a.b.c", false},
		{"a.*.c", "a.x.c", true},
		{"a.*.c", "a.x.y.c", false},
		{"a.*", "a", false},
		{"a.>", "a.b", true},
		{"a.>", "a.b.c.d", true},
		{"a.>", "a", false},
		{">", "a", true},
		{"*", "a.b", false},
		{"*.*", "a.b", true},
		{"a.b", "a.*", false},     // a subject has no wildcards
		{"a.>.b", "a.x.b", false}, // invalid pattern
		{"", "a", false},
	}
	for _, tc := range cases {
		if got := MatchTopic(tc.pattern, tc.subject); got != tc.want {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", tc.pattern, tc.subject, got, tc.want)
		}
	}
}
