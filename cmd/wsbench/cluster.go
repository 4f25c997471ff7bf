package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/wsgate/wsgate/internal/redistest"
)

// clusterOptions are the flags of the node and cluster modes.
type clusterOptions struct {
	// node mode
	broker       string
	nodeID       string
	subscribeAll bool
	// cluster mode
	engines  string
	nodes    string
	interest string
	runs     int
	rate     int
	members  int
	span     int
	size     int
	duration time.Duration
}

func (c *clusterOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&c.broker, "broker", "", "broker `URL` of a node: redis://127.0.0.1:PORT or nats://127.0.0.1:PORT (node mode)")
	fs.StringVar(&c.nodeID, "node-id", "", "the node's name (node mode)")
	fs.BoolVar(&c.subscribeAll, "subscribe-all", false, "per-room interest off: the node receives every room's traffic (node mode)")
	fs.StringVar(&c.engines, "engines", "redis,nats", "brokers to measure, comma-separated: redis, nats (cluster mode)")
	fs.StringVar(&c.nodes, "nodes", "2,4,10", "node process counts to measure, comma-separated, 1 to 16 each (cluster mode)")
	fs.StringVar(&c.interest, "interest", "on,off", "per-room interest settings to measure: on, off (cluster mode)")
	fs.IntVar(&c.runs, "runs", 3, "runs of each setting; the report gives their medians, 1 to 9 (cluster mode)")
	fs.IntVar(&c.rate, "room-rate", 100, "messages per second published in each room, 1 to 2000 (cluster mode)")
	fs.IntVar(&c.members, "members", 5, "members of each room on each of its nodes, 1 to 50 (cluster mode)")
	fs.IntVar(&c.span, "span", 2, "nodes each room has members on, at most -nodes (cluster mode)")
	fs.IntVar(&c.size, "size", 64, "message size in bytes, 16 to 65536 (cluster mode)")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "publishing time of each run, 100ms to 1m (cluster mode)")
}

// check validates the flags of mode.
func (c *clusterOptions) check(mode string) error {
	switch mode {
	case "node":
		if c.broker == "" || c.nodeID == "" {
			return errors.New("node mode needs -broker and -node-id")
		}
		host, err := brokerHost(c.broker)
		if err != nil {
			return err
		}
		return checkLoopback(host)
	case "cluster":
		if _, err := c.engineList(); err != nil {
			return err
		}
		ns, err := c.nodeList()
		if err != nil {
			return err
		}
		if _, err := c.interestList(); err != nil {
			return err
		}
		switch {
		case c.runs < 1 || c.runs > 9:
			return errors.New("-runs must be 1 to 9")
		case c.rate < 1 || c.rate > 2000:
			return errors.New("-room-rate must be 1 to 2000")
		case c.members < 1 || c.members > 50:
			return errors.New("-members must be 1 to 50")
		case c.span < 1 || c.span > slices.Min(ns):
			return errors.New("-span must be 1 to the smallest -nodes")
		case c.size < 16 || c.size > 65536:
			return errors.New("-size must be 16 to 65536")
		case c.duration < 100*time.Millisecond || c.duration > time.Minute:
			return errors.New("-duration must be 100ms to 1m")
		}
	}
	return nil
}

func brokerHost(rawURL string) (string, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok || (scheme != "redis" && scheme != "nats") {
		return "", fmt.Errorf("-broker %q: want redis://HOST:PORT or nats://HOST:PORT", rawURL)
	}
	host, _, _ := strings.Cut(rest, "/")
	return host, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (c *clusterOptions) engineList() ([]string, error) {
	l := splitList(c.engines)
	for _, e := range l {
		if e != "redis" && e != "nats" {
			return nil, fmt.Errorf("-engines: %q is not redis or nats", e)
		}
	}
	if len(l) == 0 {
		return nil, errors.New("-engines is empty")
	}
	return l, nil
}

func (c *clusterOptions) nodeList() ([]int, error) {
	var ns []int
	for _, f := range splitList(c.nodes) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 16 {
			return nil, fmt.Errorf("-nodes: %q is not 1 to 16", f)
		}
		ns = append(ns, n)
	}
	if len(ns) == 0 {
		return nil, errors.New("-nodes is empty")
	}
	return ns, nil
}

func (c *clusterOptions) interestList() ([]bool, error) {
	var l []bool
	for _, f := range splitList(c.interest) {
		switch f {
		case "on":
			l = append(l, true)
		case "off":
			l = append(l, false)
		default:
			return nil, fmt.Errorf("-interest: %q is not on or off", f)
		}
	}
	if len(l) == 0 {
		return nil, errors.New("-interest is empty")
	}
	return l, nil
}

// clusterResult is one run's figures.
type clusterResult struct {
	engine             string
	nodes              int
	interest           bool
	sent, expected     int64
	delivered          int64
	perSecond          float64
	p50, p99           time.Duration
	brokerMsgsPerNode  float64
	brokerBytesPerNode float64
	dropped            int64 // hub drops and failed publishes on the nodes
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (r clusterResult) String() string {
	return fmt.Sprintf("engine=%s nodes=%d interest=%s sent=%d expected=%d delivered=%d deliveries_per_s=%.0f p50_us=%d p99_us=%d broker_msgs_per_node=%.0f broker_bytes_per_node=%.0f dropped=%d",
		r.engine, r.nodes, onOff(r.interest), r.sent, r.expected, r.delivered, r.perSecond,
		r.p50.Microseconds(), r.p99.Microseconds(), r.brokerMsgsPerNode, r.brokerBytesPerNode, r.dropped)
}

// runCluster measures the cluster: for each engine it starts the broker
// server (a redis-server child process, or a NATS server in this process),
// then for each node count and interest setting, runs times: starts that
// many node processes, connects the clients, publishes for the duration
// and collects the figures. It prints a "result" line per run, a "median"
// line per setting, and a Markdown table of the medians.
func runCluster(ctx context.Context, o options, stdout, stderr io.Writer) error {
	engines, _ := o.cluster.engineList()
	counts, _ := o.cluster.nodeList()
	interests, _ := o.cluster.interestList()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	stderr = &lockedWriter{w: stderr}
	var medians []clusterResult
	for _, engine := range engines {
		url, stop, err := startBrokerServer(ctx, engine, stderr)
		if err != nil {
			return err
		}
		for _, n := range counts {
			for _, interest := range interests {
				var rs []clusterResult
				for run := 1; run <= o.cluster.runs; run++ {
					r, err := clusterRun(ctx, exe, url, engine, n, interest, o, stderr)
					if err != nil {
						stop()
						return fmt.Errorf("%s, %d nodes, interest %s, run %d: %w", engine, n, onOff(interest), run, err)
					}
					fmt.Fprintf(stdout, "result run=%d %s\n", run, r)
					rs = append(rs, r)
				}
				m := medianOf(rs)
				fmt.Fprintf(stdout, "median %s\n", m)
				medians = append(medians, m)
			}
		}
		stop()
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "| engine | nodes | interest | deliveries/s | p50 | p99 | broker msgs/node | broker KiB/node |")
	fmt.Fprintln(stdout, "|---|---:|---|---:|---:|---:|---:|---:|")
	for _, m := range medians {
		fmt.Fprintf(stdout, "| %s | %d | %s | %.0f | %s | %s | %.0f | %.0f |\n", m.engine, m.nodes, onOff(m.interest),
			m.perSecond, fmtLatency(m.p50), fmtLatency(m.p99), m.brokerMsgsPerNode, m.brokerBytesPerNode/1024)
	}
	return nil
}

func fmtLatency(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

// medianOf takes each figure's median over the runs separately.
func medianOf(rs []clusterResult) clusterResult {
	m := rs[0]
	med := func(f func(clusterResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	m.sent = int64(med(func(r clusterResult) float64 { return float64(r.sent) }))
	m.expected = int64(med(func(r clusterResult) float64 { return float64(r.expected) }))
	m.delivered = int64(med(func(r clusterResult) float64 { return float64(r.delivered) }))
	m.perSecond = med(func(r clusterResult) float64 { return r.perSecond })
	m.p50 = time.Duration(med(func(r clusterResult) float64 { return float64(r.p50) }))
	m.p99 = time.Duration(med(func(r clusterResult) float64 { return float64(r.p99) }))
	m.brokerMsgsPerNode = med(func(r clusterResult) float64 { return r.brokerMsgsPerNode })
	m.brokerBytesPerNode = med(func(r clusterResult) float64 { return r.brokerBytesPerNode })
	m.dropped = int64(med(func(r clusterResult) float64 { return float64(r.dropped) }))
	return m
}

// startBrokerServer starts the engine's server on a free loopback port and
// returns its URL and a function that stops it.
func startBrokerServer(ctx context.Context, engine string, stderr io.Writer) (string, func(), error) {
	if engine == "nats" {
		srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, NoLog: true, NoSigs: true})
		if err != nil {
			return "", nil, err
		}
		srv.Start()
		stop := func() { srv.Shutdown(); srv.WaitForShutdown() }
		if !srv.ReadyForConnections(20 * time.Second) {
			stop()
			return "", nil, errors.New("nats server not ready")
		}
		return "nats://" + srv.Addr().String(), stop, nil
	}
	bin := redistest.Binary()
	if bin == "" {
		return "", nil, errors.New("redis-server not found (install it, set WSGATE_REDIS_SERVER, or pass -engines nats)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir, err := os.MkdirTemp("", "wsbench-redis-")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "yes")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Kill() // our child, by its PID
		cmd.Wait()
		os.RemoveAll(dir)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for {
		if pingRedis(addr) == nil {
			return "redis://" + addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server on %s does not answer PING", addr)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval for the server's start
	}
}

// pingRedis sends PING and expects +PONG.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// benchConn is one client connection of a run.
type benchConn struct {
	ws        *websocket.Conn
	id        string
	joined    chan struct{} // closed when its own hello came back
	latencies []time.Duration
	publisher bool
}

// Message kinds, the first byte of every message of a run.
const (
	helloByte = 'h' // 'h' + the connection's id: proves the join
	dataByte  = 'd' // 'd' + 8-byte big-endian send time (UnixNano) + padding
)

// maxSamples bounds the latency samples a run keeps.
const maxSamples = 4 << 20

// clusterRun is one run: n node processes, the clients, the publishing
// and the figures.
func clusterRun(ctx context.Context, exe, url, engine string, n int, interest bool, o options, stderr io.Writer) (clusterResult, error) {
	co := o.cluster
	res := clusterResult{engine: engine, nodes: n, interest: interest}
	limit := o.timeout.String()
	nodes := make([]*child, n)
	addrs := make([]string, n)
	defer func() {
		for _, c := range nodes {
			if c != nil {
				c.stop()
			}
		}
	}()
	for i := range n {
		args := []string{"-mode", "node", "-broker", url, "-node-id", fmt.Sprintf("n%d", i), "-timeout", limit}
		if !interest {
			args = append(args, "-subscribe-all")
		}
		c, err := startChild(ctx, exe, stderr, args...)
		if err != nil {
			return res, err
		}
		nodes[i] = c
		line, err := c.expect("listening ")
		if err != nil {
			return res, fmt.Errorf("node %d: %w", i, err)
		}
		addrs[i] = strings.TrimPrefix(line, "listening ")
	}

	// Room r has co.members members on each of nodes r, r+1, ...
	// r+span-1 (mod n), and a publisher on node r.
	var conns []*benchConn
	var samples atomic.Int64
	var delivered atomic.Int64
	var lastRecv atomic.Int64
	var readers sync.WaitGroup
	defer func() {
		for _, c := range conns {
			c.ws.Close()
		}
		readers.Wait()
	}()
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	dial := func(node, room int, publisher bool) error {
		u := fmt.Sprintf("ws://%s/?room=r%d", addrs[node], room)
		ws, _, err := dialer.DialContext(ctx, u, nil)
		if err != nil {
			return err
		}
		c := &benchConn{ws: ws, id: strconv.Itoa(len(conns)), joined: make(chan struct{}), publisher: publisher}
		conns = append(conns, c)
		readers.Add(1)
		go c.read(&readers, &samples, &delivered, &lastRecv)
		return ws.WriteMessage(websocket.BinaryMessage, append([]byte{helloByte}, c.id...))
	}
	publishers := make([]*benchConn, n)
	for r := range n {
		if err := dial(r, r, true); err != nil {
			return res, err
		}
		publishers[r] = conns[len(conns)-1]
		for k := range co.span {
			for range co.members {
				if err := dial((r+k)%n, r, false); err != nil {
					return res, err
				}
			}
		}
	}
	for _, c := range conns {
		select {
		case <-c.joined:
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(30 * time.Second):
			return res, errors.New("a client's join was not confirmed within 30s")
		}
	}
	before, err := nodeStats(nodes)
	if err != nil {
		return res, err
	}

	// Publish: each room's publisher at co.rate messages per second.
	start := time.Now()
	var sent atomic.Int64
	var pubs sync.WaitGroup
	pubErr := make(chan error, n)
	for _, p := range publishers {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			msg := make([]byte, co.size)
			msg[0] = dataByte
			tick := time.NewTicker(time.Second / time.Duration(co.rate))
			defer tick.Stop()
			end := time.NewTimer(co.duration)
			defer end.Stop()
			for {
				select {
				case <-tick.C:
				case <-end.C:
					return
				}
				binary.BigEndian.PutUint64(msg[1:], uint64(time.Now().UnixNano()))
				if err := p.ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
					pubErr <- err
					return
				}
				sent.Add(1)
			}
		}()
	}
	pubs.Wait()
	close(pubErr)
	if err := <-pubErr; err != nil {
		return res, fmt.Errorf("publishing: %w", err)
	}
	res.sent = sent.Load()
	res.expected = res.sent * int64(co.span*co.members)
	// Wait for the deliveries in flight, bounded: what is missing then is
	// reported, not waited for.
	drain := time.Now().Add(30 * time.Second)
	for delivered.Load() < res.expected && time.Now().Before(drain) {
		time.Sleep(10 * time.Millisecond) // a poll interval over counters
	}
	res.delivered = delivered.Load()
	after, err := nodeStats(nodes)
	if err != nil {
		return res, err
	}
	if last := lastRecv.Load(); last > 0 {
		res.perSecond = float64(res.delivered) / time.Unix(0, last).Sub(start).Seconds()
	}
	for i := range nodes {
		res.brokerMsgsPerNode += float64(after[i]["recv_msgs"] - before[i]["recv_msgs"])
		res.brokerBytesPerNode += float64(after[i]["recv_bytes"] - before[i]["recv_bytes"])
		res.dropped += after[i]["dropped"] + after[i]["failed"] + after[i]["refused"]
	}
	res.brokerMsgsPerNode /= float64(n)
	res.brokerBytesPerNode /= float64(n)
	for _, c := range conns { // stop the readers before reading their samples
		c.ws.Close()
	}
	readers.Wait()
	var all []time.Duration
	for _, c := range conns {
		all = append(all, c.latencies...)
	}
	conns = nil
	if len(all) > 0 {
		slices.Sort(all)
		res.p50 = all[len(all)/2]
		res.p99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return res, nil
}

// read reads until the connection ends: it closes joined on the
// connection's own hello, and for a member (not a publisher) counts each
// data message and its latency.
func (c *benchConn) read(wg *sync.WaitGroup, samples, delivered, lastRecv *atomic.Int64) {
	defer wg.Done()
	hello := append([]byte{helloByte}, c.id...)
	for {
		_, p, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		switch {
		case len(p) > 0 && p[0] == helloByte:
			if string(p) == string(hello) {
				close(c.joined)
			}
		case len(p) >= 9 && p[0] == dataByte && !c.publisher:
			delivered.Add(1)
			lastRecv.Store(now.UnixNano())
			if samples.Add(1) <= maxSamples {
				c.latencies = append(c.latencies, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(p[1:])))))
			}
		}
	}
}

// nodeStats asks every node for its counters.
func nodeStats(nodes []*child) ([]map[string]int64, error) {
	out := make([]map[string]int64, len(nodes))
	for i, c := range nodes {
		f, err := c.askFields("stats")
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		out[i] = f
	}
	return out, nil
}
