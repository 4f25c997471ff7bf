package hub

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRooms(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxRoomsPerSession: 2})
	p := dialPeers(t, th, 3)
	id := func(i int) string { return p[i].s.ID() }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(th.Join(id(0), "a"))
	must(th.Join(id(1), "a"))
	must(th.Join(id(0), "b"))
	must(th.Join(id(0), "a")) // twice is fine

	if got, want := th.Members("a"), sorted(id(0), id(1)); !slices.Equal(got, want) {
		t.Fatalf("Members(a) = %v, want %v", got, want)
	}
	if got := th.Members("nowhere"); len(got) != 0 {
		t.Fatalf("Members(nowhere) = %v", got)
	}
	if got := p[0].s.Rooms(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Rooms of p0 = %v", got)
	}
	if n, err := th.SendToRoom("a", Text("hello")); n != 2 || err != nil {
		t.Fatalf("SendToRoom = %d, %v", n, err)
	}
	if n, err := th.SendToRoom("a", Binary([]byte("abc"))); n != 2 || err != nil {
		t.Fatalf("SendToRoom = %d, %v", n, err)
	}
	want := []RoomInfo{{Name: "a", Members: 2, Messages: 2, Bytes: 8}, {Name: "b", Members: 1}}
	if got := th.Rooms(); !slices.Equal(got, want) {
		t.Fatalf("Rooms() = %+v, want %+v", got, want)
	}
	if st := th.Stats(); st.Rooms != 2 || st.Active != 3 {
		t.Fatalf("Stats = %+v", st)
	}
	for _, i := range []int{0, 1} {
		readText(t, p[i].c, "hello")
		if typ, got := readMsg(t, p[i].c); typ != int(BinaryMessage) || got != "abc" {
			t.Fatalf("peer %d read %d %q", i, typ, got)
		}
	}
	expectDelivery(t, p, nil, Message{}) // and nothing else, to anyone

	t.Run("limit", func(t *testing.T) {
		if err := th.Join(id(0), "c"); !errors.Is(err, ErrTooManyRooms) {
			t.Fatalf("third room: %v, want ErrTooManyRooms", err)
		}
		if err := th.Join(id(0), "b"); err != nil {
			t.Fatalf("rejoining at the limit: %v", err)
		}
	})

	t.Run("leave", func(t *testing.T) {
		must(th.Leave(id(1), "a"))
		must(th.Leave(id(1), "a"))        // twice is fine
		must(th.Leave(id(1), "never-in")) // so is a room never joined
		if got := th.Members("a"); !slices.Equal(got, []string{id(0)}) {
			t.Fatalf("Members(a) = %v", got)
		}
		must(th.Leave(id(0), "b"))
		if got := th.Rooms(); len(got) != 1 || got[0].Name != "a" {
			t.Fatalf("empty room b still listed: %+v", got)
		}
		must(th.Join(id(0), "c"))
		must(th.LeaveAll(id(0)))
		if got := th.Rooms(); len(got) != 0 {
			t.Fatalf("Rooms after LeaveAll = %+v", got)
		}
		if got := p[0].s.Rooms(); len(got) != 0 {
			t.Fatalf("session still in %v", got)
		}
		if n, _ := th.SendToRoom("a", Text("x")); n != 0 {
			t.Fatalf("SendToRoom to a vanished room reached %d", n)
		}
	})

	t.Run("session end leaves rooms", func(t *testing.T) {
		must(th.Join(id(2), "d"))
		p[2].c.Close()
		th.awaitEnd(t, p[2].s)
		if got := th.Rooms(); len(got) != 0 {
			t.Fatalf("Rooms = %+v", got)
		}
		if err := th.Join(id(2), "d"); !errors.Is(err, ErrSessionNotFound) {
			t.Fatalf("Join of an ended session: %v", err)
		}
	})

	t.Run("unknown session", func(t *testing.T) {
		for name, err := range map[string]error{
			"join":     th.Join("nobody", "a"),
			"leave":    th.Leave("nobody", "a"),
			"leaveall": th.LeaveAll("nobody"),
		} {
			if !errors.Is(err, ErrSessionNotFound) {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

func TestRoomBadNames(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	_, s := th.dial(t)
	cases := []struct{ name, room string }{
		{"empty", ""},
		{"too long", strings.Repeat("r", maxNameLen+1)},
		{"invalid utf-8", "room\xff"},
		{"truncated utf-8", "caf\xc3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := th.Join(s.ID(), tc.room); !errors.Is(err, ErrBadName) {
				t.Errorf("Join: %v", err)
			}
			if _, err := th.SendToRoom(tc.room, Text("x")); !errors.Is(err, ErrBadName) {
				t.Errorf("SendToRoom: %v", err)
			}
		})
	}
	for _, ok := range []string{"r", strings.Repeat("r", maxNameLen), "salle café", "a.b *>"} {
		if err := th.Join(s.ID(), ok); err != nil {
			t.Errorf("Join(%q): %v", ok, err)
		}
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
