package wstest_test

import (
	"net/http"
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/wstest"
)

// A test serves its hub on loopback, dials real clients and waits, with a
// deadline, for what it expects; everything it starts ends with the test.
// Every helper takes the test's t, so this example is compiled but not
// run: TestChatRoom below runs these steps and more.
func Example() {
	var t *testing.T // the test's own
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h.OnMessage(func(s *hub.Session, m hub.Message) { h.Broadcast(m, hub.Except(s.ID())) })
	srv := wstest.NewServer(t, h, middleware.Config{})
	ada, bob := srv.Dial(t), srv.Dial(t)
	srv.AwaitSessions(t, 2)
	ada.SendText(t, "hi")
	if got := bob.ReadText(t); got != "hi" {
		t.Fatalf("bob read %q", got)
	}
	// A refused upgrade is an HTTP answer: here the page's origin.
	if res := srv.DialRefused(t, wstest.Origin("https://evil.example")); res.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", res.StatusCode)
	}
}

// newChat is the application under test: each session joins the room named
// in its URL's ?room= and what it says goes to that room.
func newChat(t *testing.T) *hub.Hub {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h.OnConnect(func(s *hub.Session) { h.Join(s.ID(), s.URL().Query().Get("room")) })
	h.OnMessage(func(s *hub.Session, m hub.Message) {
		for _, room := range s.Rooms() {
			h.SendToRoom(room, m, hub.Except(s.ID()))
		}
	})
	return h
}

// TestChatRoom is how a user tests a chat room with wstest: a server, two
// clients, a message, a kick, a page from another origin refused.
func TestChatRoom(t *testing.T) {
	srv := wstest.NewServer(t, newChat(t), middleware.Config{})
	ada := srv.Dial(t, wstest.Path("/chat?room=lobby&user=ada"))
	bob := srv.Dial(t, wstest.Path("/chat?room=lobby&user=bob"))
	srv.AwaitMembers(t, "lobby", 2) // both joined in OnConnect

	ada.SendText(t, "hi bob")
	if got := bob.ReadText(t); got != "hi bob" {
		t.Fatalf("bob read %q", got)
	}
	// The server may attach two clients dialed one after the other in
	// either order, so find bob's session by what he sent, not by its place
	// in AwaitSessions' oldest-first list.
	kicked := 0
	for _, s := range srv.AwaitSessions(t, 2) {
		if s.URL().Query().Get("user") == "bob" {
			s.Close(hub.ClosePolicy, "kicked")
			kicked++
		}
	}
	if kicked != 1 {
		t.Fatalf("found %d sessions of bob, want 1", kicked)
	}
	if code, reason := bob.AwaitClose(t); code != hub.ClosePolicy || reason != "kicked" {
		t.Fatalf("bob's session ended with %d %q, want 1008 kicked", code, reason)
	}
	srv.AwaitMembers(t, "lobby", 1) // ada is not kicked with him
	if res := srv.DialRefused(t, wstest.Origin("https://evil.example")); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a page from another origin got %d, want 403", res.StatusCode)
	}
}
