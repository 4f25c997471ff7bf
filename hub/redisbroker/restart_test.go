package redisbroker

import (
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

// TestServerDownAndBack: redis-server is killed mid-stream. Every node
// reports Disconnected once; while it is down, Publish and Subscribe fail
// fast with ErrDisconnected; once it is back on the same port, the nodes
// reconnect by themselves, resubscribe (rooms, topics, their own channel)
// and report Reconnected, and delivery resumes.
func TestServerDownAndBack(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	a, b := startNode(t, client, "a", nil), startNode(t, client, "b", nil)
	b.subscribe(t, hub.ToRoom, "r")
	b.subscribe(t, hub.ToTopic, "t.*")
	for i := range 20 { // mid-stream: traffic flowing when the server dies
		a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "r", Data: []byte{byte('a' + i)}})
	}
	for i := range 20 {
		b.awaitData(t, string(rune('a'+i)))
	}

	srv.Stop()
	a.awaitEvents(t, "down")
	b.awaitEvents(t, "down")
	ctx := ctxT(t)
	if err := a.Publish(ctx, hub.Envelope{Node: "a", Kind: hub.ToAll, Type: hub.TextMessage}); !isErr(err, ErrDisconnected) {
		t.Fatalf("Publish while down: %v, want ErrDisconnected", err)
	}
	if err := b.Subscribe(ctx, hub.Channel{Kind: hub.ToRoom, Name: "r2"}); !isErr(err, ErrDisconnected) {
		t.Fatalf("Subscribe while down: %v, want ErrDisconnected", err)
	}

	srv.Restart()
	a.awaitEvents(t, "down", "up")
	b.awaitEvents(t, "down", "up")
	a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "r", Data: []byte("room")})
	a.publish(t, hub.Envelope{Kind: hub.ToTopic, Target: "t.x", Data: []byte("topic")})
	a.publish(t, hub.Envelope{Kind: hub.ToSession, Target: "b-1", Data: []byte("session")})
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("all")})
	for _, want := range []string{"room", "topic", "session", "all"} {
		b.awaitData(t, want)
	}
	b.subscribe(t, hub.ToRoom, "r2") // the one refused while down
	a.publish(t, hub.Envelope{Kind: hub.ToRoom, Target: "r2", Data: []byte("r2")})
	b.awaitData(t, "r2")
	if s := b.Stats(); s.Disconnects != 1 || s.Reconnects != 1 {
		t.Fatalf("stats %+v: want 1 disconnect, 1 reconnect", s)
	}
}

// TestTwoRestarts: Disconnected and Reconnected keep alternating over
// several outages.
func TestTwoRestarts(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	a, b := startNode(t, client, "a", nil), startNode(t, client, "b", nil)
	srv.Restart()
	a.awaitEvents(t, "down", "up")
	b.awaitEvents(t, "down", "up")
	srv.Restart()
	b.awaitEvents(t, "down", "up", "down", "up")
	a.awaitEvents(t, "down", "up", "down", "up")
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("after two")})
	b.awaitData(t, "after two")
}

// TestUnresponsiveServer: a server that stops answering without closing
// its connections (SIGSTOP) is noticed by the health check's unanswered
// PING, and the node comes back once it answers again (SIGCONT).
func TestUnresponsiveServer(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	fast := func(c *Config) { c.HealthInterval = 200 * time.Millisecond }
	a, b := startNode(t, client, "a", fast), startNode(t, client, "b", fast)
	pid := srv.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	t.Cleanup(func() {
		if stopped {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	})
	// Both nodes must have noticed before the server wakes up: a node
	// whose check is still pending would otherwise see it answer.
	b.awaitEvents(t, "down")
	a.awaitEvents(t, "down")
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	b.awaitEvents(t, "down", "up")
	a.awaitEvents(t, "down", "up")
	a.publish(t, hub.Envelope{Kind: hub.ToAll, Data: []byte("awake")})
	b.awaitData(t, "awake")
}

// TestCloseWhileDown: Close does not wait for an unreachable server: with
// Redis gone and the broker redialling, Close returns, every goroutine
// ends (goleak) and the host hears nothing after it.
func TestCloseWhileDown(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	a := startNode(t, client, "a", func(c *Config) { c.MaxBackoff = 20 * time.Millisecond })
	a.subscribe(t, hub.ToRoom, "r")
	srv.Stop()
	a.awaitEvents(t, "down")
	done := make(chan struct{})
	go func() {
		a.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("Close did not return while Redis was down")
	}
	srv.Restart() // would have brought the broker back, had it not been closed
	if got := a.eventList(); len(got) != 1 {
		t.Fatalf("events after Close: %v", got)
	}
}
