// Package wstest helps test programs built on wsgate: it serves a hub behind
// an httptest server on loopback, dials real WebSocket clients to it, and
// waits — always with a deadline — for messages, close codes and sessions.
//
// A test of a chat room fits in a few lines:
//
//	func TestRoom(t *testing.T) {
//		h, _ := hub.New(hub.Config{})
//		h.OnMessage(func(s *hub.Session, m hub.Message) { h.Broadcast(m) })
//		srv := wstest.NewServer(t, h, middleware.Config{})
//		ada, bob := srv.Dial(t), srv.Dial(t)
//		srv.AwaitSessions(t, 2)
//		ada.SendText(t, "hi")
//		if got := bob.ReadText(t); got != "hi" {
//			t.Fatalf("bob read %q", got)
//		}
//	}
//
// Everything a test starts is stopped by t.Cleanup: clients send a close
// frame and wait for the answer, then the hub is shut down and the server
// closed, so goleak finds nothing left behind.
//
// Methods that take a testing.TB report failures with t.Fatal, so call them
// from the test's own goroutine (or a subtest's, with that subtest's t). A
// Conn is meant for one goroutine, like the gorilla/websocket connection it
// wraps; Raw gives that connection for anything the helpers do not cover.
//
// # Waiting for sessions
//
// A hub has one OnConnect slot and it belongs to the application under test,
// so the Server does not take it: AwaitSessions polls the hub until it holds
// the expected number of sessions. A session is counted from the moment it
// is attached, which is just before the hub calls OnConnect; to wait for
// something OnConnect does, wait for its effect instead (a welcome message
// with Conn.Read, a room membership with Server.AwaitMembers, or anything
// else with Await).
package wstest
