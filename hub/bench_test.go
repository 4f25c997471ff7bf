package hub_test

// Benchmarks of the hub against a baseline: the hub of gorilla/websocket's
// examples/chat, written out in internal/chatbaseline. Both serve real loopback connections; the
// clients are real gorilla/websocket clients in a child process (the
// wsbench command, built by the benchmark), so that this process holds only
// the server's file descriptors, allocations and CPU time. See BENCHMARKS.md
// at the repository root for the commands and results.
//
// Nothing here runs without -bench.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/chatbaseline"
)

const (
	// benchPayload is the size of every broadcast message.
	benchPayload = 64
	// benchWindow is how far the publisher may run ahead of the slowest
	// client: it publishes in a tight loop and, after every benchWindow
	// messages, waits until every client has what it published one window
	// earlier. At most 2*benchWindow messages are then unread by a client.
	// A server may count more as unwritten: wsgate's queue bound counts the
	// whole batch its writer is writing, part of which the client may
	// already have read, so a session can hold a batch of up to
	// 2*benchWindow plus 2*benchWindow queued behind it. 4*60 = 240 stays
	// within both implementations' default bound of 256, so a client that
	// keeps up never loses a message. (With a window of 100, wsgate closed
	// a session as a slow consumer now and then on a loaded machine.)
	benchWindow = 60
	// benchIdleSessions is the session count of the memory benchmark.
	benchIdleSessions = 10000
)

var benchImpls = []string{"wsgate", "gorilla"}

// BenchmarkBroadcast broadcasts one 64-byte text message per iteration to
// every session and reports, per message delivered to a client:
//
//	deliveries/s        messages received by clients / elapsed time
//	writes/delivery     Write calls on the server's sockets (≈ write syscalls)
//	allocs/delivery     heap allocations in the server process
//	B/delivery          bytes allocated in the server process
//	server-ns/delivery  CPU time (user+system) of the server process
//	client-ns/delivery  CPU time of the client process
//
// At the end of each run every client must have received every message.
func BenchmarkBroadcast(b *testing.B) {
	bin := benchBuildWsbench(b)
	for _, impl := range benchImpls {
		b.Run(impl, func(b *testing.B) {
			for _, n := range []int{1000, 10000} {
				// gorilla's chat example waits 60s for a pong; so does wsgate
				// here. With its default 10s, a ping queued behind a session's
				// backlog can miss its pong at 10,000 sessions.
				srv := benchStartServer(b, impl, hub.Config{PongTimeout: 60 * time.Second}, true)
				cl := benchDial(b, bin, srv.addr, n)
				benchAwaitSessions(b, srv, n)
				var sent int64 // cumulative over the framework's runs
				b.Run(strconv.Itoa(n), func(b *testing.B) { benchBroadcast(b, srv, cl, n, &sent) })
				cl.close(b)
				srv.stop()
			}
		})
	}
}

func benchBroadcast(b *testing.B, srv *benchServer, cl *benchClients, n int, sent *int64) {
	payload := []byte(strings.Repeat("m", benchPayload))
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	writes0, cpu0, ccpu0 := srv.writes.Load(), benchCPU(), cl.cpu(b)
	first := *sent

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		srv.broadcast(payload)
		*sent++
		if (*sent-first)%benchWindow == 0 && *sent-first > benchWindow {
			cl.wait(b, *sent-benchWindow)
		}
	}
	cl.wait(b, *sent)
	elapsed := time.Since(start)
	b.StopTimer()

	cpu1, ccpu1 := benchCPU(), cl.cpu(b)
	runtime.ReadMemStats(&ms1)
	cl.check(b, *sent)
	d := float64(b.N) * float64(n)
	b.ReportMetric(d/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(srv.writes.Load()-writes0)/d, "writes/delivery")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/d, "allocs/delivery")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/d, "B/delivery")
	b.ReportMetric(float64(cpu1-cpu0)/d, "server-ns/delivery")
	b.ReportMetric(float64(ccpu1-ccpu0)/d, "client-ns/delivery")
}

// BenchmarkEcho measures request/response: 100 connections in a closed
// loop, each sending a 64-byte text request stamped with its send time,
// awaiting the reply (the server sends every message back to its sender)
// and sending the next. One iteration is one round trip; b.N round trips
// are spread evenly over the connections. Reported:
//
//	rt/s          round trips / time from the first request to the last reply
//	p50-µs p99-µs round-trip latency seen by the clients
//	server-ns/rt  CPU time of the server process (this one) per round trip
//	client-ns/rt  CPU time of the client process per round trip
//	allocs/rt     heap allocations of the server process per round trip
//
// gorilla is the chat baseline answering through the client's write pump
// (the same shape as wsgate: the reader hands the reply to a writer);
// gorilla-inline writes the reply on the reader goroutine, as gorilla's
// examples/echo does. Run with -benchtime=200000x or so; compare
// implementations within one run.
func BenchmarkEcho(b *testing.B) {
	bin := benchBuildWsbench(b)
	const conns = benchEchoConns
	for _, impl := range []string{"wsgate", "gorilla", "gorilla-inline"} {
		b.Run(impl, func(b *testing.B) {
			srv := benchStartServer(b, impl, hub.Config{}, false)
			cl := benchDial(b, bin, srv.addr, conns)
			benchAwaitSessions(b, srv, conns)
			b.Run(strconv.Itoa(conns), func(b *testing.B) { benchEcho(b, cl) })
			cl.close(b)
			srv.stop()
		})
	}
}

// benchEchoConns is the connection count of BenchmarkEcho.
const benchEchoConns = 100

func benchEcho(b *testing.B, cl *benchClients) {
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0, ccpu0 := benchCPU(), cl.cpu(b)
	b.ResetTimer()
	line := cl.ask(b, "echo "+strconv.Itoa(b.N))
	b.StopTimer()
	cpu1, ccpu1 := benchCPU(), cl.cpu(b)
	runtime.ReadMemStats(&ms1)
	f := benchFields(b, line, "echo ")
	if f["rt"] != float64(b.N) || f["n"] != float64(b.N) || f["ns"] <= 0 {
		b.Fatalf("wsbench client: %s", line)
	}
	n := float64(b.N)
	b.ReportMetric(n/(f["ns"]/1e9), "rt/s")
	b.ReportMetric(f["p50_ns"]/1e3, "p50-µs")
	b.ReportMetric(f["p99_ns"]/1e3, "p99-µs")
	b.ReportMetric(float64(cpu1-cpu0)/n, "server-ns/rt")
	b.ReportMetric(float64(ccpu1-ccpu0)/n, "client-ns/rt")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/rt")
}

// BenchmarkEchoCompare is BenchmarkEcho with the implementations side by
// side: every server and its client process are up at once, and the b.N
// round trips of each implementation are made in 10 rounds, the
// implementations taking turns (in a rotating order) within each round, so
// that a change of load on a shared machine falls on all of them alike. Its
// ratios are the figure to compare:
//
//	IMPL-rt/s             round trips / time spent making them
//	IMPL-p50-µs IMPL-p99-µs  over all of IMPL's round trips
//	IMPL-server-ns/rt     CPU time of the server process (this one, with
//	                      only IMPL busy) per round trip
//	wsgate/gorilla        wsgate's rt/s / gorilla's (and /gorilla-inline)
//	wsgate/gorilla-cpu    wsgate's server-ns/rt / gorilla's (and
//	                      /gorilla-inline-cpu): steadier than the rates
//	                      when the machine is loaded
//
// Run it with -benchtime=300000x (round trips per implementation).
func BenchmarkEchoCompare(b *testing.B) {
	bin := benchBuildWsbench(b)
	const conns = benchEchoConns
	impls := []string{"wsgate", "gorilla", "gorilla-inline"}
	type side struct {
		name   string
		srv    *benchServer
		cl     *benchClients
		rt, ns float64
		cpu    int64
	}
	var sides []*side
	defer func() {
		for _, s := range sides {
			s.cl.close(b)
			s.srv.stop()
		}
	}()
	for _, impl := range impls {
		srv := benchStartServer(b, impl, hub.Config{}, false)
		cl := benchDial(b, bin, srv.addr, conns)
		sides = append(sides, &side{name: impl, srv: srv, cl: cl})
		benchAwaitSessions(b, srv, conns)
	}
	b.Run(strconv.Itoa(conns), func(b *testing.B) {
		rounds := min(10, max(1, b.N/conns))
		for _, s := range sides {
			s.rt, s.ns, s.cpu = 0, 0, 0
			s.cl.ask(b, "echolat") // forget earlier runs
		}
		b.ResetTimer()
		for r := range rounds {
			share := b.N / rounds
			if r < b.N%rounds {
				share++
			}
			for i := range sides {
				s := sides[(r+i)%len(sides)]
				cpu0 := benchCPU()
				line := s.cl.ask(b, "echo "+strconv.Itoa(share))
				s.cpu += benchCPU() - cpu0
				f := benchFields(b, line, "echo ")
				if f["rt"] != float64(share) || f["ns"] <= 0 {
					b.Fatalf("%s: wsbench client: %s", s.name, line)
				}
				s.rt += f["rt"]
				s.ns += f["ns"]
			}
		}
		b.StopTimer()
		rate, cpu := make(map[string]float64), make(map[string]float64)
		for _, s := range sides {
			lat := benchFields(b, s.cl.ask(b, "echolat"), "echolat ")
			if lat["n"] != s.rt {
				b.Fatalf("%s: %v round trips timed, %v made", s.name, lat["n"], s.rt)
			}
			rate[s.name] = s.rt / (s.ns / 1e9)
			b.ReportMetric(rate[s.name], s.name+"-rt/s")
			b.ReportMetric(lat["p50_ns"]/1e3, s.name+"-p50-µs")
			b.ReportMetric(lat["p99_ns"]/1e3, s.name+"-p99-µs")
			cpu[s.name] = float64(s.cpu) / s.rt
			b.ReportMetric(cpu[s.name], s.name+"-server-ns/rt")
		}
		b.ReportMetric(rate["wsgate"]/rate["gorilla"], "wsgate/gorilla")
		b.ReportMetric(rate["wsgate"]/rate["gorilla-inline"], "wsgate/gorilla-inline")
		b.ReportMetric(cpu["wsgate"]/cpu["gorilla"], "wsgate/gorilla-cpu")
		b.ReportMetric(cpu["wsgate"]/cpu["gorilla-inline"], "wsgate/gorilla-inline-cpu")
	})
}

// BenchmarkPaced broadcasts 64-byte text messages at a fixed rate to every
// session, each stamped with the time it was due to be published (so a
// publisher that falls behind counts against the implementation, not in
// its favour), and reports what the clients saw:
//
//	deliveries/s       messages received / time from the first due time to the last receipt
//	p50-ms p99-ms max-ms  latency from the due time to receipt, over every delivery
//	lost/delivery      deliveries that never arrived (a session closed) / deliveries due
//	server-ns/delivery CPU time of the server process
//
// The cases are sessions x messages per second: 1000x100 and 10000x10 offer
// 100,000 deliveries/s each, within both implementations' closed-loop
// capacity here. One iteration is one broadcast, so -benchtime=1000x runs
// 10 s at 100 msg/s.
func BenchmarkPaced(b *testing.B) {
	bin := benchBuildWsbench(b)
	for _, impl := range benchImpls {
		b.Run(impl, func(b *testing.B) {
			for _, c := range []struct{ n, rate int }{{1000, 100}, {10000, 10}} {
				srv := benchStartServer(b, impl, hub.Config{PongTimeout: 60 * time.Second}, false)
				cl := benchDial(b, bin, srv.addr, c.n)
				benchAwaitSessions(b, srv, c.n)
				var sent int64 // cumulative over the framework's runs
				b.Run(fmt.Sprintf("%dx%d", c.n, c.rate), func(b *testing.B) { benchPaced(b, srv, cl, c.n, c.rate, &sent) })
				cl.close(b)
				srv.stop()
			}
		})
	}
}

func benchPaced(b *testing.B, srv *benchServer, cl *benchClients, n, rate int, sent *int64) {
	interval := time.Second / time.Duration(rate)
	cl.ask(b, "latency") // forget earlier runs
	before := benchFields(b, cl.ask(b, "count"), "count ")
	cpu0 := benchCPU()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d) // pacing the publisher, not synchronising
		}
		srv.broadcast(chatbaseline.AppendStamp(nil, chatbaseline.StampKindPaced, due, benchPayload))
	}
	*sent += int64(b.N)
	// "ok", or "short" if a session closed (reported below as lost).
	if line := cl.ask(b, "wait "+strconv.FormatInt(*sent, 10)); strings.HasPrefix(line, "timeout") {
		b.Fatalf("waiting for %d messages per client: %s", *sent, line)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu1 := benchCPU()
	lat := benchFields(b, cl.ask(b, "latency"), "latency ")
	after := benchFields(b, cl.ask(b, "count"), "count ")
	due := float64(b.N) * float64(n)
	got := after["total"] - before["total"]
	b.ReportMetric(got/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(lat["p50_ns"]/1e6, "p50-ms")
	b.ReportMetric(lat["p99_ns"]/1e6, "p99-ms")
	b.ReportMetric(lat["max_ns"]/1e6, "max-ms")
	b.ReportMetric((due-got)/due, "lost/delivery")
	b.ReportMetric(float64(cpu1-cpu0)/due, "server-ns/delivery")
	if lat["n"] != got {
		b.Errorf("%v latency samples for %v deliveries", lat["n"], got)
	}
}

// BenchmarkPacedCompare is BenchmarkPaced at 1,000 sessions x 100 msg/s
// with wsgate and gorilla side by side: both servers and their client
// processes are up at once, and the b.N broadcasts of each are published in
// 10 rounds, the two taking turns, so that a change of load on the shared
// machine falls on both alike. Reported per implementation: IMPL-p50-ms,
// IMPL-p99-ms, IMPL-max-ms (due time to receipt, every delivery),
// IMPL-lost/delivery, and wsgate/gorilla-p50 and wsgate/gorilla-p99 (ratios
// of latencies: below 1 is wsgate faster). (Two servers of 10,000 sessions
// would need more descriptors than this process may open.) Run it with
// -benchtime=1000x (10 s per implementation).
func BenchmarkPacedCompare(b *testing.B) {
	bin := benchBuildWsbench(b)
	const n, rate = 1000, 100
	type side struct {
		name string
		srv  *benchServer
		cl   *benchClients
		sent int64 // cumulative over the framework's runs
	}
	var sides []*side
	defer func() {
		for _, s := range sides {
			s.cl.close(b)
			s.srv.stop()
		}
	}()
	for _, impl := range benchImpls {
		srv := benchStartServer(b, impl, hub.Config{PongTimeout: 60 * time.Second}, false)
		cl := benchDial(b, bin, srv.addr, n)
		sides = append(sides, &side{name: impl, srv: srv, cl: cl})
		benchAwaitSessions(b, srv, n)
	}
	b.Run(fmt.Sprintf("%dx%d", n, rate), func(b *testing.B) {
		interval := time.Second / time.Duration(rate)
		rounds := min(10, b.N)
		before := make(map[string]float64)
		for _, s := range sides {
			s.cl.ask(b, "latency") // forget earlier runs
			before[s.name] = benchFields(b, s.cl.ask(b, "count"), "count ")["total"]
		}
		b.ResetTimer()
		for r := range rounds {
			k := b.N / rounds
			if r < b.N%rounds {
				k++
			}
			for i := range sides {
				s := sides[(r+i)%len(sides)]
				start := time.Now()
				for j := range k {
					due := start.Add(time.Duration(j) * interval)
					if d := time.Until(due); d > 0 {
						time.Sleep(d) // pacing the publisher, not synchronising
					}
					s.srv.broadcast(chatbaseline.AppendStamp(nil, chatbaseline.StampKindPaced, due, benchPayload))
				}
				s.sent += int64(k)
				// Let this round's messages arrive before the other
				// implementation's round starts.
				if line := s.cl.ask(b, "wait "+strconv.FormatInt(s.sent, 10)); strings.HasPrefix(line, "timeout") {
					b.Fatalf("%s: waiting for %d messages per client: %s", s.name, s.sent, line)
				}
			}
		}
		b.StopTimer()
		p := make(map[string]map[string]float64)
		for _, s := range sides {
			lat := benchFields(b, s.cl.ask(b, "latency"), "latency ")
			got := benchFields(b, s.cl.ask(b, "count"), "count ")["total"] - before[s.name]
			due := float64(b.N) * n
			if lat["n"] != got {
				b.Errorf("%s: %v latency samples for %v deliveries", s.name, lat["n"], got)
			}
			p[s.name] = lat
			b.ReportMetric(lat["p50_ns"]/1e6, s.name+"-p50-ms")
			b.ReportMetric(lat["p99_ns"]/1e6, s.name+"-p99-ms")
			b.ReportMetric(lat["max_ns"]/1e6, s.name+"-max-ms")
			b.ReportMetric((due-got)/due, s.name+"-lost/delivery")
		}
		b.ReportMetric(p["wsgate"]["p50_ns"]/p["gorilla"]["p50_ns"], "wsgate/gorilla-p50")
		b.ReportMetric(p["wsgate"]["p99_ns"]/p["gorilla"]["p99_ns"], "wsgate/gorilla-p99")
	})
}

// benchFields parses a wsbench answer "prefix k=v k=v…".
func benchFields(b *testing.B, line, prefix string) map[string]float64 {
	b.Helper()
	if !strings.HasPrefix(line, prefix) {
		b.Fatalf("wsbench client: %q, want %q…", line, prefix)
	}
	f := make(map[string]float64)
	for _, kv := range strings.Fields(strings.TrimPrefix(line, prefix)) {
		k, v, ok := strings.Cut(kv, "=")
		x, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			b.Fatalf("wsbench client: %q", line)
		}
		f[k] = x
	}
	return f
}

// BenchmarkIdleSessions opens 10,000 idle sessions and reports the server's
// memory per session, two ways:
//
//	heap+stack-B/session  (HeapInuse+StackInuse) growth of this process,
//	                      after GC, with the clients in a child process
//	rss-B/session         VmRSS growth of a wsbench server process, as is
//	rss-gc-B/session      the same after a GC that returns free memory
//
// One iteration does all the work; run it with -benchtime=1x.
func BenchmarkIdleSessions(b *testing.B) {
	bin := benchBuildWsbench(b)
	n := benchIdleSessions
	for _, impl := range benchImpls {
		b.Run(impl, func(b *testing.B) {
			b.Run(strconv.Itoa(n), func(b *testing.B) {
				var ms0, ms1 runtime.MemStats
				benchSettle()
				runtime.ReadMemStats(&ms0)
				g0 := runtime.NumGoroutine()
				srv := benchStartServer(b, impl, hub.Config{}, false)
				cl := benchDial(b, bin, srv.addr, n)
				benchAwaitSessions(b, srv, n)
				benchSettle()
				runtime.ReadMemStats(&ms1)
				g1 := runtime.NumGoroutine()
				cl.close(b)
				srv.stop()

				f := benchMeasureRSS(b, bin, impl, n)
				per := func(after, before uint64) float64 { return (float64(after) - float64(before)) / float64(n) }
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(per(ms1.HeapInuse+ms1.StackInuse, ms0.HeapInuse+ms0.StackInuse), "heap+stack-B/session")
				b.ReportMetric(per(ms1.HeapInuse, ms0.HeapInuse), "heap-B/session")
				b.ReportMetric(per(ms1.StackInuse, ms0.StackInuse), "stack-B/session")
				b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/session")
				b.ReportMetric(f["rss_per_conn"], "rss-B/session")
				b.ReportMetric(f["rss_gc_per_conn"], "rss-gc-B/session")
			})
		})
	}
}

// benchSettle collects garbage until the heap stops shrinking much.
func benchSettle() {
	runtime.GC()
	runtime.GC()
}

func benchCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchBuildWsbench builds the wsbench command into a temporary directory.
func benchBuildWsbench(b *testing.B) string {
	b.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		gocmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(b.TempDir(), "wsbench")
	// Built in its own directory: wsbench is a module of its own.
	cmd := exec.Command(gocmd, "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "cmd", "wsbench")
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("building wsbench: %v\n%s", err, out)
	}
	return bin
}

// benchMeasureRSS runs wsbench -mode measure and returns its result fields.
func benchMeasureRSS(b *testing.B, bin, impl string, n int) map[string]float64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-mode", "measure", "-impl", impl,
		"-conns", strconv.Itoa(n), "-timeout", "3m").CombinedOutput()
	if err != nil {
		b.Fatalf("wsbench -mode measure: %v\n%s", err, out)
	}
	f := make(map[string]float64)
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "result ") {
			continue
		}
		for _, kv := range strings.Fields(line)[1:] {
			k, v, _ := strings.Cut(kv, "=")
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				f[k] = x
			}
		}
		return f
	}
	b.Fatalf("wsbench -mode measure printed no result:\n%s", out)
	return nil
}

// benchServer is one implementation serving upgrades on loopback.
type benchServer struct {
	addr      string
	writes    atomic.Int64 // Write calls on accepted connections
	broadcast func(payload []byte)
	sessions  func() int
	stop      func()
}

// benchStartServer starts impl on 127.0.0.1 (wsgate with cfg); with count,
// the listener counts every Write on the connections it accepts. Every
// implementation sends a message a client sends back to that client: wsgate
// from OnMessage, the chat baseline through the client's write pump
// (gorilla) or from its reader goroutine (gorilla-inline).
func benchStartServer(b *testing.B, impl string, cfg hub.Config, count bool) *benchServer {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &benchServer{addr: ln.Addr().String()}
	if count {
		ln = &benchCountingListener{Listener: ln, writes: &s.writes}
	}
	var handler http.Handler
	var shutdown func()
	switch impl {
	case "wsgate":
		h, err := hub.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		h.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.Accept(w, r, hub.AcceptOptions{OriginChecked: true})
		})
		s.broadcast = func(p []byte) { h.Broadcast(hub.Message{Type: hub.TextMessage, Data: p}) }
		s.sessions = func() int { return h.Stats().Active }
		shutdown = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h.Shutdown(ctx)
		}
	case "gorilla", "gorilla-inline":
		reply := chatbaseline.EchoQueued
		if impl == "gorilla-inline" {
			reply = chatbaseline.EchoInline
		}
		h := chatbaseline.New(reply)
		handler = h
		s.broadcast = h.Broadcast
		s.sessions = h.Sessions
		shutdown = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h.Shutdown(ctx)
		}
	default:
		b.Fatalf("unknown implementation %q", impl)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	s.stop = func() {
		srv.Close()
		<-served
		shutdown()
	}
	return s
}

// benchAwaitSessions waits until the server has attached n sessions. The
// clients' "ready" means every handshake completed on their side; the server
// may still be registering the last few.
func benchAwaitSessions(b *testing.B, s *benchServer, n int) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for s.sessions() < n {
		if time.Now().After(deadline) {
			b.Fatalf("server has %d of %d sessions", s.sessions(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type benchCountingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l *benchCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &benchCountingConn{Conn: c, writes: l.writes}, nil
}

type benchCountingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *benchCountingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// benchClients drives a wsbench client process.
type benchClients struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	n   int
}

// benchDial starts a wsbench client process holding n connections to addr.
func benchDial(b *testing.B, bin, addr string, n int) *benchClients {
	b.Helper()
	cmd := exec.Command(bin, "-mode", "client", "-addr", addr, "-conns", strconv.Itoa(n), "-timeout", "20m")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &benchClients{cmd: cmd, in: in, out: bufio.NewScanner(out), n: n}
	if !c.out.Scan() {
		c.in.Close()
		cmd.Wait()
		b.Fatalf("wsbench client did not get ready: %s", stderr.String())
	}
	if line := c.out.Text(); line != "ready "+strconv.Itoa(n) {
		b.Fatalf("wsbench client: %q", line)
	}
	return c
}

// ask sends one command and returns the answer line.
func (c *benchClients) ask(b *testing.B, cmd string) string {
	b.Helper()
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		b.Fatalf("wsbench client: %v", err)
	}
	if !c.out.Scan() {
		b.Fatalf("wsbench client exited: %v", c.out.Err())
	}
	return c.out.Text()
}

// wait returns once every client has received t messages.
func (c *benchClients) wait(b *testing.B, t int64) {
	b.Helper()
	if line := c.ask(b, "wait "+strconv.FormatInt(t, 10)); line != "ok "+strconv.FormatInt(t, 10) {
		b.Fatalf("waiting for %d messages per client: %s", t, line)
	}
}

// cpu returns the client process's CPU time in nanoseconds.
func (c *benchClients) cpu(b *testing.B) int64 {
	b.Helper()
	line := c.ask(b, "cpu")
	ns, err := strconv.ParseInt(strings.TrimPrefix(line, "cpu ns="), 10, 64)
	if err != nil {
		b.Fatalf("wsbench client: %q", line)
	}
	return ns
}

// check fails the benchmark unless every client received exactly want
// messages and none lost its connection.
func (c *benchClients) check(b *testing.B, want int64) {
	b.Helper()
	got := c.ask(b, "count")
	exp := fmt.Sprintf("count total=%d min=%d max=%d closed=0", want*int64(c.n), want, want)
	if got != exp {
		b.Fatalf("clients got %s, want %s", got, exp)
	}
}

// close ends the client process and its connections.
func (c *benchClients) close(b *testing.B) {
	b.Helper()
	fmt.Fprintln(c.in, "quit")
	c.in.Close()
	if err := c.cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			b.Errorf("wsbench client: %v", err)
		}
	}
}
