package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/examples/internal/serve"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
	"github.com/wsgate/wsgate/wstest"
)

// engines are the brokers the cluster tests run over: each returns the
// broker flags of the first node, and of the others given what the first
// printed before listening (they differ for the embedded NATS server,
// which the first node runs).
var engines = []struct {
	name  string
	setup func(t *testing.T) (first []string, others func(t *testing.T, out []string) []string)
}{
	{"redis", func(t *testing.T) ([]string, func(*testing.T, []string) []string) {
		srv := redistest.Start(t)
		args := []string{"-broker", "redis://" + srv.Addr()}
		return args, func(*testing.T, []string) []string { return args }
	}},
	{"nats", func(t *testing.T) ([]string, func(*testing.T, []string) []string) {
		return []string{"-embedded-nats", "-nats-addr", "127.0.0.1:0"}, othersOfEmbedded
	}},
}

// othersOfEmbedded returns -broker with the URL the first node printed for
// its embedded NATS server.
func othersOfEmbedded(t *testing.T, out []string) []string {
	t.Helper()
	for _, l := range out {
		if u, ok := strings.CutPrefix(l, "nats listening on "); ok {
			return []string{"-broker", u}
		}
	}
	t.Fatalf("the first node printed no NATS address: %q", out)
	return nil
}

// node is one echo program of a cluster, run in-process.
type node struct {
	name, addr string
}

// startCluster starts n echo nodes named a, b, c... over the engine.
func startCluster(t *testing.T, first []string, others func(*testing.T, []string) []string, n int) []node {
	t.Helper()
	addr, out, _ := startOut(t, append([]string{"-node-id", "a"}, first...)...)
	nodes := []node{{"a", addr}}
	rest := others(t, out)
	for i := 1; i < n; i++ {
		name := string(rune('a' + i))
		addr, _ := start(t, append([]string{"-node-id", name}, rest...)...)
		nodes = append(nodes, node{name, addr})
	}
	return nodes
}

// join dials /fanout?room=room on n and waits until the session is in the
// room cluster-wide: the server joins it before reading its first message,
// so once that message comes back the join (and the subscription at the
// broker) is done.
func (n node) join(t *testing.T, room, who string) *wstest.Conn {
	t.Helper()
	c := wstest.Dial(t, "ws://"+n.addr+"/fanout?room="+room)
	hello := "hello from " + who
	c.SendText(t, hello)
	for c.ReadText(t) != hello {
	}
	return c
}

// report fetches n's GET /cluster.
func (n node) report(t *testing.T) serve.BrokerReport {
	t.Helper()
	resp, err := http.Get("http://" + n.addr + "/cluster")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r serve.ClusterReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Node != n.name {
		t.Fatalf("GET /cluster on %s says node %q", n.name, r.Node)
	}
	return r.Hubs["echo.fanout"].Broker
}

// fromOthers is how many messages the broker server sent the node that
// other nodes published: Redis also sends a node its own publishes back
// (counted in redisbroker.Stats.Own, then dropped); NATS does not.
func fromOthers(r serve.BrokerReport) uint64 {
	own := 0.0
	if st, ok := r.Stats.(map[string]any); ok {
		own, _ = st["Own"].(float64)
	}
	return r.ReceivedMsgs - uint64(own)
}

// readData reads until it has k messages that are not hellos.
func readData(t *testing.T, c *wstest.Conn, k int) []string {
	t.Helper()
	var got []string
	for len(got) < k {
		if m := c.ReadText(t); !strings.HasPrefix(m, "hello from ") {
			got = append(got, m)
		}
	}
	return got
}

// TestClusterFanout runs three echo nodes over one broker: a /fanout
// message from a publisher on one node reaches the room's members on all
// three, in order, once; and a node with no member of a room receives
// nothing of that room from the broker.
func TestClusterFanout(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			first, others := eng.setup(t)
			nodes := startCluster(t, first, others, 3)
			a, b, c := nodes[0], nodes[1], nodes[2]

			// Every node has a member of r1; the publisher is on a.
			pub := a.join(t, "r1", "pub")
			subs := []*wstest.Conn{a.join(t, "r1", "a"), b.join(t, "r1", "b"), c.join(t, "r1", "c")}
			const k = 20
			var want []string
			for i := range k {
				want = append(want, fmt.Sprintf("m%d", i))
				pub.SendText(t, want[i])
			}
			for i, s := range append(subs, pub) {
				if got := readData(t, s, k); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("member %d got %v, want %v", i, got, want)
				}
			}

			// r2 has members on a and b only: c gets none of its traffic.
			pub2 := a.join(t, "r2", "pub2")
			onB := b.join(t, "r2", "b2")
			// Settle what came before the counts are taken: b's publishes
			// reach c in order, so once c has b's barrier it has b's hello
			// (a's are settled by m0..m19, read above). The envelopes Redis
			// echoes back to their own node are subtracted (fromOthers).
			subs[1].SendText(t, "barrier from b")
			for i, s := range append(subs, pub) {
				if got := readData(t, s, 1); got[0] != "barrier from b" {
					t.Fatalf("member %d got %q, want b's barrier", i, got)
				}
			}
			beforeB, beforeC := b.report(t), c.report(t)
			for i := range k {
				pub2.SendText(t, fmt.Sprintf("r2-%d", i))
			}
			readData(t, onB, k)
			// A sentinel on r1 after r2's messages: the broker hands a's
			// envelopes over in order, so once c's member has it, any r2
			// envelope sent to c would have arrived before it.
			pub.SendText(t, "sentinel")
			if got := readData(t, subs[2], 1); got[0] != "sentinel" {
				t.Fatalf("c's member got %q, want the sentinel", got)
			}
			readData(t, subs[1], 1)
			afterB, afterC := b.report(t), c.report(t)
			gotB := fromOthers(afterB) - fromOthers(beforeB)
			gotC := fromOthers(afterC) - fromOthers(beforeC)
			t.Logf("%d messages to r2 (members on a and b): b received %d messages, %d bytes; c received %d messages (the r1 sentinel), %d bytes",
				k, gotB, afterB.ReceivedBytes-beforeB.ReceivedBytes, gotC, afterC.ReceivedBytes-beforeC.ReceivedBytes)
			if gotB < k+1 {
				t.Fatalf("b received %d messages from the broker, want at least the %d of r2 and the sentinel", gotB, k+1)
			}
			if gotC != 1 {
				t.Fatalf("c, with no member of r2, received %d messages from the broker, want 1 (the r1 sentinel)", gotC)
			}
		})
	}
}

// hubStats fetches n's GET /cluster counters of the /fanout hub.
func (n node) hubStats(t *testing.T) hub.ClusterStats {
	t.Helper()
	resp, err := http.Get("http://" + n.addr + "/cluster")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r serve.ClusterReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r.Hubs["echo.fanout"].Hub
}

// awaitStats polls n's counters until ok says yes (bounded).
func (n node) awaitStats(t *testing.T, what string, ok func(hub.ClusterStats) bool) hub.ClusterStats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := n.hubStats(t)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: %s did not happen: %+v", n.name, what, s)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval over HTTP, not a synchronisation
	}
}

// TestClusterBrokerDown: with Redis killed, each node goes on serving its
// own sessions (local fanout works), counts the outage and the envelopes it
// could not hand over; once Redis is back the nodes resubscribe by
// themselves and fanout spans the cluster again.
func TestClusterBrokerDown(t *testing.T) {
	srv := redistest.Start(t)
	args := []string{"-broker", "redis://" + srv.Addr()}
	nodes := startCluster(t, args, func(*testing.T, []string) []string { return args }, 2)
	a, b := nodes[0], nodes[1]
	pub := a.join(t, "r", "pub")
	onB := b.join(t, "r", "b")
	pub.SendText(t, "before")
	if got := readData(t, onB, 1); got[0] != "before" {
		t.Fatalf("b's member got %q", got)
	}

	srv.Stop()
	a.awaitStats(t, "the outage noticed", func(s hub.ClusterStats) bool { return s.Down && s.Outages == 1 })
	pub.SendText(t, "during")
	if got := readData(t, pub, 2); got[1] != "during" { // "before", then its own "during": local delivery
		t.Fatalf("the publisher's own node delivered %q during the outage", got)
	}
	a.awaitStats(t, "the failed publish counted", func(s hub.ClusterStats) bool { return s.Failed >= 1 })

	srv.Restart()
	for _, n := range nodes {
		n.awaitStats(t, "the broker back", func(s hub.ClusterStats) bool { return !s.Down && s.Outages == 1 })
	}
	pub.SendText(t, "after")
	if got := readData(t, onB, 1); got[0] != "after" {
		t.Fatalf("b's member got %q after the restart, want \"after\" (\"during\" was lost and counted)", got)
	}
}

// TestBrokerUnreachable: a node whose broker does not answer exits with an
// error that says so, instead of serving as a single node by surprise.
func TestBrokerUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	err = run(context.Background(), []string{"-addr", "127.0.0.1:0", "-broker", "nats://" + addr}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "starting broker") {
		t.Fatalf("run with an unreachable broker: %v, want an error starting the broker", err)
	}
}
