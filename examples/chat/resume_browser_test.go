package main

// Browser tests of the chat's resume mode (wsgate.js positionOf/joinRoom and
// the rooms' history): a page that was away while the server restarted shows
// every message said meanwhile, once and in order, when the history outlives
// the restart, and says it may have missed messages when it does not.

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wsgate/wsgate/examples/internal/browsertest"
	"github.com/wsgate/wsgate/hub"
)

// resumeGate is a TCP forwarder on loopback in front of the chat. A page
// loaded through it is cut off while the gate is shut (its connections are
// closed and new ones refused), whatever the server does, so that the test
// decides when that page is away and when it may come back. Pointed at
// another server (retarget), it is the load balancer of a cluster sending
// the page's next connection to another node.
type resumeGate struct {
	ln net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex // guards target, shut and conns
	target string
	shut   bool
	conns  map[net.Conn]struct{}
}

// newResumeGate forwards a new loopback port to target until the test ends.
func newResumeGate(t *testing.T, target string) *resumeGate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &resumeGate{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	g.wg.Add(1)
	go g.serve()
	t.Cleanup(func() {
		ln.Close()
		g.close(true)
		g.wg.Wait()
	})
	return g
}

// url is the chat page's address through the gate.
func (g *resumeGate) url() string { return "http://" + g.ln.Addr().String() + "/" }

func (g *resumeGate) serve() {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return // the listener is closed
		}
		target, ok := g.track(c)
		if !ok {
			c.Close() // shut: the page sees its connection fail (1006)
			continue
		}
		g.wg.Add(1)
		go g.forward(c, target)
	}
}

// track registers c and returns the target to forward it to, unless the
// gate is shut.
func (g *resumeGate) track(c net.Conn) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut {
		return "", false
	}
	g.conns[c] = struct{}{}
	return g.target, true
}

// retarget forwards the connections accepted from now on to target.
func (g *resumeGate) retarget(target string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.target = target
}

// forward copies between c and a new connection to target until either
// side ends, then closes both.
func (g *resumeGate) forward(c net.Conn, target string) {
	defer g.wg.Done()
	defer func() {
		g.mu.Lock()
		delete(g.conns, c)
		g.mu.Unlock()
		c.Close()
	}()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return // the chat is down: the page sees its connection fail
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
}

// close shuts the gate (shut true: connections are cut and refused) or
// opens it again.
func (g *resumeGate) close(shut bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.shut = shut
	if shut {
		for c := range g.conns {
			c.Close()
		}
	}
}

// resumeMessages returns the texts of the messages the tab's room shows, in
// order.
func resumeMessages(t *testing.T, tab context.Context) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, browsertest.WaitFor)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#log li.msg .text")].map((e) => e.textContent)`))
	if err != nil {
		t.Fatalf("reading the log: %v\n%s", err, browsertest.State(tab))
	}
	return got
}

// resumeWaitLong is browserWait with room for a reconnect backoff that grew
// while the page was away (up to wsgate.js's maxDelay, 10 s) on a loaded
// machine.
func resumeWaitLong(t *testing.T, tab context.Context, what, cond string) {
	t.Helper()
	const d = 40 * time.Second
	ctx, cancel := context.WithTimeout(tab, d+time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(d)))
	if err != nil {
		t.Fatalf("waiting for %s: %v\n%s", what, err, browsertest.State(tab))
	}
}

const resyncNote = "⚠ you may have missed messages"

// resumeRestart runs the scenario of both tests: ada (through a gate) and bob
// chat in lobby; ada is cut off; bob talks, the server restarts on the same
// address (with store when it is not nil, else each run with its own
// history), bob talks again; ada comes back. It returns the two tabs and the
// second chat for the tests' checks.
func resumeRestart(t *testing.T, store hub.Store) (ada, bob context.Context, second *browserChat) {
	t.Helper()
	ada = browsertest.New(t)
	bob = browsertest.Tab(t, ada)
	addr := browserFreeAddr(t)
	first := browserStartChatWith(t, addr, store)
	gate := newResumeGate(t, addr)

	browserEnter(t, ada, gate.url(), "ada", "lobby")
	browserEnter(t, bob, first.url(), "bob", "lobby")
	browsertest.Wait(t, ada, "ada's member list to hold both", browserMembersAre("ada", "bob"))
	browsertest.Wait(t, bob, "bob's member list to hold both", browserMembersAre("ada", "bob"))
	browserSay(t, ada, "before 1")
	browsertest.Wait(t, bob, "bob to see before 1", browserHasMessage("ada", "before 1"))
	browserSay(t, bob, "before 2")
	browsertest.Wait(t, ada, "ada to see before 2", browserHasMessage("bob", "before 2"))

	// ada goes away; bob talks on the first server.
	gate.close(true)
	browsertest.Wait(t, ada, "ada to note the disconnect", browserHasNote("disconnected: closed 1006"))
	browsertest.Wait(t, bob, "bob to see ada leave", browserMembersAre("bob"))
	browserSay(t, bob, "while away 1")
	browsertest.Wait(t, bob, "bob to see while away 1", browserHasMessage("bob", "while away 1"))

	// The server restarts on the same address; bob comes back and talks.
	first.stop(t)
	browsertest.Wait(t, bob, "bob to note the shutdown", browserHasNote("disconnected: closed 1001"))
	second = browserStartChatWith(t, addr, store)
	resumeWaitLong(t, bob, "bob's socket to reopen", browserStatusIs("open"))
	browsertest.Wait(t, bob, "bob back in lobby", browserMembersAre("bob"))
	browserSay(t, bob, "while away 2")
	browserSay(t, bob, "while away 3")
	browsertest.Wait(t, bob, "bob to see while away 3", browserHasMessage("bob", "while away 3"))

	// ada comes back.
	gate.close(false)
	resumeWaitLong(t, ada, "ada's socket to reopen", browserStatusIs("open"))
	browsertest.Wait(t, ada, "ada back in lobby with bob", browserMembersAre("ada", "bob"))
	return ada, bob, second
}

// TestBrowserResumeAfterRestart: the history outlives the restart (a store
// shared by both runs, as Redis or JetStream would be), so ada's page, which
// was away from before the restart until after it, shows every message said
// meanwhile, once, in order, and no resync notice; so does bob's, which
// rejoined from its own position across the restart.
func TestBrowserResumeAfterRestart(t *testing.T) {
	store, err := hub.NewMemoryStore(hub.MemoryStoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ada, bob, _ := resumeRestart(t, store)
	want := []string{"before 1", "before 2", "while away 1", "while away 2", "while away 3"}
	browsertest.Wait(t, ada, "ada to see what she missed", browserHasMessage("bob", "while away 3"))
	browserSay(t, bob, "live again")
	want = append(want, "live again")
	for _, p := range []struct {
		name string
		tab  context.Context
	}{{"ada", ada}, {"bob", bob}} {
		browsertest.Wait(t, p.tab, p.name+" to see live again", browserHasMessage("bob", "live again"))
		if got := resumeMessages(t, p.tab); !slices.Equal(got, want) {
			t.Errorf("%s's page shows %q, want %q (each once, in order)", p.name, got, want)
		}
		if ok := resumeEval[bool](t, p.tab, browserHasNote(resyncNote)); ok {
			t.Errorf("%s's page shows a resync notice, but nothing was lost\n%s", p.name, browsertest.State(p.tab))
		}
	}
}

// TestBrowserResyncAfterRestartWithoutStore: each run of the chat has its own
// history, lost in the restart (a new epoch), so the pages cannot be replayed
// what they missed: both say so, and chat on live.
func TestBrowserResyncAfterRestartWithoutStore(t *testing.T) {
	ada, bob, _ := resumeRestart(t, nil)
	for _, p := range []struct {
		name string
		tab  context.Context
	}{{"ada", ada}, {"bob", bob}} {
		browsertest.Wait(t, p.tab, p.name+" to show the resync notice", browserHasNote(resyncNote))
	}
	browserSay(t, bob, "live again")
	browsertest.Wait(t, ada, "ada to see live again", browserHasMessage("bob", "live again"))
	// What ada missed is not shown (the notice says so), and nothing twice.
	want := []string{"before 1", "before 2", "live again"}
	if got := resumeMessages(t, ada); !slices.Equal(got, want) {
		t.Errorf("ada's page shows %q, want %q", got, want)
	}
}

// resumeEval evaluates the JavaScript expression js in tab.
func resumeEval[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, browsertest.WaitFor)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// TestBrowserClientResumeMode checks wsgate.js's resume mode on its own
// against the chat: the client remembers the position of the last message
// of a joined room, a reconnect rejoins with it (the server replays from
// there), forgetRoom stops remembering, and a message positionOf throws on
// is still delivered.
func TestBrowserClientResumeMode(t *testing.T) {
	tab := browsertest.New(t)
	chat := browserStartChat(t, "127.0.0.1:0")
	browsertest.Do(t, tab, "open the chat page", chromedp.Navigate(chat.url()))
	ctx, cancel := context.WithTimeout(tab, 2*browsertest.WaitFor)
	defer cancel()
	type pos struct {
		E string `json:"e"`
		O uint64 `json:"o"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Sent     []*pos `json:"sent"`     // the positions joinRoom's make was given
		First    *pos   `json:"first"`    // position("lobby") after the first members event
		Members  *pos   `json:"members"`  // that event's own position
		One      *pos   `json:"one"`      // the position of message "one"
		AfterOne *pos   `json:"afterOne"` // position("lobby") then
		Back     *pos   `json:"back"`     // position("lobby") after the rejoin's live joined event
		Joined   *pos   `json:"joined"`   // that event's position
		Late     *pos   `json:"late"`     // the position of a message after forgetRoom
		Forgot   *pos   `json:"forgot"`   // position("lobby") then
		Error    string `json:"error"`    // the error event positionOf threw on
	}](`(async () => {
		const { Client } = await import("/wsgate.js");
		const c = new Client("/ws", {
			protocols: ["chat.v1"], minDelay: 10, maxDelay: 20,
			positionOf: (data) => {
				const m = JSON.parse(data);
				if (m.type === "error") throw new Error("no position here");
				return m.pos ? { room: m.room, pos: m.pos } : null;
			},
		});
		const next = (pred) => new Promise((resolve) => {
			const f = (e) => {
				const m = JSON.parse(e.detail);
				if (pred(m)) { c.removeEventListener("message", f); resolve(m); }
			};
			c.addEventListener("message", f);
		});
		const sent = [];
		c.replay("hello", () => JSON.stringify({ type: "hello", name: "zed" }));
		c.joinRoom("lobby", (pos) => {
			sent.push(pos ?? null);
			return JSON.stringify({ type: "join", room: "lobby", pos });
		});
		let m = next((x) => x.type === "members");
		c.connect();
		const members = await m;
		const first = c.position("lobby");
		m = next((x) => x.type === "message" && x.text === "one");
		c.send(JSON.stringify({ type: "say", room: "lobby", text: "one" }));
		const one = await m;
		const afterOne = c.position("lobby");
		m = next((x) => x.type === "joined" && x.name === "zed");
		c.ws.close(4000); // a drop: the client reconnects and rejoins from afterOne
		const joined = await m;
		const back = c.position("lobby");
		m = next((x) => x.type === "error");
		c.send(JSON.stringify({ type: "say", room: "nowhere", text: "x" }));
		const error = (await m).text;
		c.forgetRoom("lobby");
		m = next((x) => x.type === "message" && x.text === "late");
		c.send(JSON.stringify({ type: "say", room: "lobby", text: "late" }));
		const late = await m;
		const forgot = c.position("lobby") ?? null;
		c.close();
		return { sent, first, members: members.pos, one: one.pos, afterOne, back, joined: joined.pos, late: late.pos, forgot, error };
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%v\n%s", err, browsertest.State(tab))
	}
	switch {
	case got.Members == nil || got.One == nil || got.Joined == nil || got.Late == nil:
		t.Fatalf("chat events without a position: %+v", got)
	case got.First == nil || *got.First != *got.Members:
		t.Errorf("position after members %v, want the event's %v", got.First, got.Members)
	case got.AfterOne == nil || *got.AfterOne != *got.One:
		t.Errorf("position after message one %v, want its %v", got.AfterOne, got.One)
	case len(got.Sent) != 2 || got.Sent[0] != nil || got.Sent[1] == nil || *got.Sent[1] != *got.One:
		t.Errorf("joins sent with %v, want none on the first join, then message one's %v", got.Sent, got.One)
	case got.Back == nil || *got.Back != *got.Joined || got.Joined.O <= got.One.O:
		t.Errorf("position after the rejoin %v, want the live joined event's %v (after one's %v)", got.Back, got.Joined, got.One)
	case got.Error != "you are not in that room":
		t.Errorf("error event %q: a message positionOf throws on must still be delivered", got.Error)
	case got.Forgot != nil:
		t.Errorf("position %v after forgetRoom, want none (late message at %v)", got.Forgot, got.Late)
	}
}
