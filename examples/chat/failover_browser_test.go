package main

// Browser test of a chat cluster losing a node: the page on the node that
// is killed comes back on the other one, and the rooms' history, kept in the
// broker's store, gives it everything said meanwhile.

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/examples/internal/browsertest"
	"github.com/wsgate/wsgate/examples/internal/serve"
	"github.com/wsgate/wsgate/internal/redistest"
)

// nodeEnv set to "1" makes the test binary run as the chat program with
// its arguments (TestMain), so that a test can kill a node like a crashed
// process: no close frames, no goodbye to the broker.
const nodeEnv = "WSGATE_CHAT_NODE"

// chatNode is the chat running as a child process.
type chatNode struct {
	addr string // host:port it listens on
	cmd  *exec.Cmd
	logs *serve.Buffer // its stderr
	done chan struct{} // closed when it has exited
}

// startNode runs the chat in a child process with args (and -addr
// 127.0.0.1:0) until kill or the end of the test.
func startNode(t *testing.T, args ...string) *chatNode {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), nodeEnv+"=1")
	n := &chatNode{cmd: cmd, logs: &serve.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = n.logs
	out, pw := io.Pipe()
	cmd.Stdout = pw // Wait returns once the output is copied, read below
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a chat node: %v", err)
	}
	go func() {
		cmd.Wait()
		pw.Close() // the reader below ends
		close(n.done)
	}()
	t.Cleanup(func() {
		n.kill(t)
		if t.Failed() {
			t.Logf("node %v stderr:\n%s", args, n.logs.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on http://"); ok {
				lines <- a
				break
			}
		}
		io.Copy(io.Discard, out) // until the process ends
		close(lines)
	}()
	select {
	case a, ok := <-lines:
		if !ok {
			t.Fatalf("chat node %v ended before listening:\n%s", args, n.logs.String())
		}
		n.addr = a
	case <-time.After(30 * time.Second):
		t.Fatalf("chat node %v not listening within 30s:\n%s", args, n.logs.String())
	}
	return n
}

// kill ends the node at once (SIGKILL) and waits until it has exited.
func (n *chatNode) kill(t *testing.T) {
	t.Helper()
	n.cmd.Process.Kill() // an error means it has already exited
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		t.Errorf("chat node pid %d did not exit within 30s of SIGKILL", n.cmd.Process.Pid)
	}
}

func (n *chatNode) url() string { return "http://" + n.addr + "/" }

// TestBrowserFailover: two chat nodes over one broker; ada's page reaches
// node a through a gate (the load balancer), bob's is on node b. Node a is
// killed; bob keeps talking; the gate now sends connections to node b.
// ada's page reconnects there and shows every message bob said meanwhile,
// once, in order, without the resync notice, because the history is in
// the broker's store, not in the node that died.
func TestBrowserFailover(t *testing.T) {
	for _, eng := range []struct {
		name string
		// brokers returns the broker flags of node b (started first) and
		// of node a.
		brokers func(t *testing.T) (b, a []string)
	}{
		{"nats", func(t *testing.T) ([]string, []string) {
			// Node b runs the NATS server, so it outlives node a.
			addr := browserFreeAddr(t)
			return []string{"-embedded-nats", "-nats-addr", addr}, []string{"-broker", "nats://" + addr}
		}},
		{"redis", func(t *testing.T) ([]string, []string) {
			flags := []string{"-broker", "redis://" + redistest.Start(t).Addr()}
			return flags, flags
		}},
	} {
		t.Run(eng.name, func(t *testing.T) {
			ada := browsertest.New(t) // skips without Chromium
			bob := browsertest.Tab(t, ada)
			bFlags, aFlags := eng.brokers(t)
			nodeB := startNode(t, append([]string{"-node-id", "b"}, bFlags...)...)
			nodeA := startNode(t, append([]string{"-node-id", "a"}, aFlags...)...)
			gate := newResumeGate(t, nodeA.addr)

			browserEnter(t, ada, gate.url(), "ada", "lobby")
			browsertest.Wait(t, ada, "ada in lobby", browserMembersAre("ada"))
			browserEnter(t, bob, nodeB.url(), "bob", "lobby")
			browsertest.Wait(t, ada, "ada to see bob join on node b", browserHasNote("→ bob joined"))
			browserSay(t, ada, "before 1")
			browsertest.Wait(t, bob, "bob to see before 1", browserHasMessage("ada", "before 1"))
			browserSay(t, bob, "before 2")
			browsertest.Wait(t, ada, "ada to see before 2", browserHasMessage("bob", "before 2"))

			// Node a dies; ada's page loses its connection (1006, no close
			// frame) and keeps failing to reconnect while the gate still
			// points at the dead node.
			nodeA.kill(t)
			browsertest.Wait(t, ada, "ada to note the disconnect", browserHasNote("disconnected: closed 1006"))
			browserSay(t, bob, "while away 1")
			browserSay(t, bob, "while away 2")
			browserSay(t, bob, "while away 3")
			browsertest.Wait(t, bob, "bob to see while away 3", browserHasMessage("bob", "while away 3"))

			// The load balancer notices; ada's page comes back on node b.
			gate.retarget(nodeB.addr)
			resumeWaitLong(t, ada, "ada's socket to reopen on node b", browserStatusIs("open"))
			browsertest.Wait(t, ada, "ada to see what she missed", browserHasMessage("bob", "while away 3"))
			browserSay(t, bob, "live again")
			browsertest.Wait(t, ada, "ada to see live again", browserHasMessage("bob", "live again"))

			want := []string{"before 1", "before 2", "while away 1", "while away 2", "while away 3", "live again"}
			if got := resumeMessages(t, ada); !slices.Equal(got, want) {
				t.Errorf("ada's page shows %q, want %q (each once, in order)", got, want)
			}
			if resumeEval[bool](t, ada, browserHasNote(resyncNote)) {
				t.Errorf("ada's page shows a resync notice, but the store kept everything\n%s", browsertest.State(ada))
			}
		})
	}
}
