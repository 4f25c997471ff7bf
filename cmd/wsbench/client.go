package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/chatbaseline"
)

// counted is one client connection and what it has received.
type counted struct {
	index  int
	conn   *websocket.Conn
	count  atomic.Int64 // data messages received: lines, for the chat baseline's joined messages
	mark   atomic.Int64 // the last wait target this connection was counted for
	closed atomic.Bool

	// wmu serialises writes: the command goroutine sends the first request
	// of an echo run, the reader every later one.
	wmu      sync.Mutex
	echoLeft atomic.Int64 // requests this connection still has to complete in the current run
	out      []byte       // request buffer, guarded by wmu
	head     [24]byte     // the start of the line being read: enough for a stamp
	headLen  int
	lineLen  int
}

// stats is what every connection's reader records into.
type stats struct {
	paced histogram // paced broadcast: send time (stamped by the server) to receipt
	echo  histogram // request/response: request sent to reply received
	run   atomic.Pointer[echoRun]
	// echoTotal accumulates the round trips of every echo run since the
	// last "echolat"; only the command goroutine uses it.
	echoTotal histCounts
}

// echoRun is one "echo N" command in progress.
type echoRun struct {
	pending atomic.Int64 // connections that have not finished their share
	done    chan struct{}
	end     atomic.Int64 // Unix nanoseconds when the last reply arrived
	failed  atomic.Int64 // connections whose request could not be sent
}

// finish records that one connection has finished its share.
func (r *echoRun) finish() {
	if r.pending.Add(-1) == 0 {
		r.end.Store(time.Now().UnixNano())
		close(r.done)
	}
}

// waiter lets "wait T" learn, without polling, when every connection has
// received T messages or closed: each connection is counted once per
// target, by whichever of the reader and the waiter sees it first.
type waiter struct {
	target    atomic.Int64
	remaining atomic.Int64
	done      atomic.Pointer[chan struct{}]
}

func (w *waiter) reached(c *counted, n int64) {
	t := w.target.Load()
	if t == 0 || (n < t && !c.closed.Load()) {
		return
	}
	old := c.mark.Load()
	if old >= t || !c.mark.CompareAndSwap(old, t) {
		return
	}
	if w.remaining.Add(-1) == 0 {
		close(*w.done.Load())
	}
}

// wait blocks until every connection has received t messages or closed,
// or timeout. Waits must not overlap.
func (w *waiter) wait(conns []*counted, t int64, timeout time.Duration) bool {
	done := make(chan struct{})
	w.done.Store(&done)
	w.remaining.Store(int64(len(conns)))
	w.target.Store(t)
	for _, c := range conns {
		w.reached(c, c.count.Load())
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// runClient dials o.conns connections to o.addr and answers commands on
// stdin until "quit", the end of stdin or ctx.
func runClient(ctx context.Context, o options, stdin io.Reader, stdout io.Writer) error {
	dialer := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 256, HandshakeTimeout: 30 * time.Second}
	url := "ws://" + o.addr + "/"
	conns := make([]*counted, o.conns)
	var w waiter
	var st stats
	var readers sync.WaitGroup
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.conn.Close()
			}
		}
		readers.Wait()
	}()

	next := atomic.Int64{}
	errs := make(chan error, o.dialers)
	var dialers sync.WaitGroup
	for range min(o.dialers, o.conns) {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(conns)) {
					return
				}
				conn, _, err := dialer.DialContext(ctx, url, nil)
				if err != nil {
					errs <- fmt.Errorf("dialing connection %d: %w", i+1, err)
					next.Store(int64(len(conns))) // stop the other dialers
					return
				}
				c := &counted{index: int(i), conn: conn}
				conns[i] = c
				readers.Add(1)
				go read(c, &w, &st, &readers)
			}
		}()
	}
	dialers.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ready %d\n", len(conns))

	lines := readLines(stdin)
	for {
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case line, ok = <-lines:
		}
		if !ok {
			return nil
		}
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch cmd {
		case "count":
			fmt.Fprintln(stdout, countLine(conns))
		case "wait":
			t, err := strconv.ParseInt(arg, 10, 64)
			if err != nil || t < 1 {
				fmt.Fprintln(stdout, "error wait needs a positive count")
				continue
			}
			if !w.wait(conns, t, time.Minute) {
				fmt.Fprintf(stdout, "timeout %d %s\n", t, countLine(conns))
			} else if short(conns, t) {
				fmt.Fprintf(stdout, "short %d %s\n", t, countLine(conns))
			} else {
				fmt.Fprintf(stdout, "ok %d\n", t)
			}
		case "latency":
			fmt.Fprintf(stdout, "latency %s\n", st.paced.take().summary())
		case "echolat":
			fmt.Fprintf(stdout, "echolat %s\n", st.echoTotal.summary())
			st.echoTotal = histCounts{}
		case "echo":
			n, err := strconv.ParseInt(arg, 10, 64)
			if err != nil || n < 1 {
				fmt.Fprintln(stdout, "error echo needs a positive count")
				continue
			}
			fmt.Fprintln(stdout, runEcho(ctx, conns, &st, n, 2*time.Minute))
		case "cpu":
			fmt.Fprintf(stdout, "cpu ns=%d\n", cpuTime())
		case "quit":
			return nil
		case "":
		default:
			fmt.Fprintf(stdout, "error unknown command %q\n", cmd)
		}
	}
}

// runEcho makes n round trips in total, spread evenly over the
// connections, each connection sending its next request as soon as the
// reply to the previous one has arrived (a closed loop), and returns the
// answer line: "echo rt=N ns=ELAPSED n=N p50_ns=… p99_ns=… max_ns=…", or
// "error …".
func runEcho(ctx context.Context, conns []*counted, st *stats, n int64, timeout time.Duration) string {
	st.echo.take() // forget replies that came after an earlier run's end
	run := &echoRun{done: make(chan struct{})}
	per, extra := n/int64(len(conns)), n%int64(len(conns))
	var active []*counted
	for i, c := range conns {
		share := per
		if int64(i) < extra {
			share++
		}
		if share > 0 && !c.closed.Load() {
			c.echoLeft.Store(share)
			active = append(active, c)
		}
	}
	if len(active) == 0 {
		return "error echo: no open connection"
	}
	run.pending.Store(int64(len(active)))
	st.run.Store(run)
	defer st.run.Store(nil)
	start := time.Now()
	for _, c := range active {
		if err := c.request(); err != nil {
			run.failed.Add(1)
			if c.echoLeft.Swap(0) > 0 { // unless its reader, ending, did
				run.finish()
			}
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-run.done:
	case <-timer.C:
		return fmt.Sprintf("error echo: timeout after %v with %d connections unfinished", timeout, run.pending.Load())
	case <-ctx.Done():
		return "error echo: " + ctx.Err().Error()
	}
	if f := run.failed.Load(); f > 0 {
		return fmt.Sprintf("error echo: %d connections could not send", f)
	}
	counts := st.echo.take()
	st.echoTotal.add(counts)
	s := counts.summary()
	if int64(s.n) != n {
		return fmt.Sprintf("error echo: %d replies, want %d", s.n, n)
	}
	elapsed := run.end.Load() - start.UnixNano()
	return fmt.Sprintf("echo rt=%d ns=%d %s", n, elapsed, s)
}

// request sends one echo request stamped with the time now.
func (c *counted) request() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.out = chatbaseline.AppendStamp(c.out[:0], chatbaseline.StampKindEcho, time.Now(), 64)
	return c.conn.WriteMessage(websocket.TextMessage, c.out)
}

// read counts the data messages c receives until its connection ends,
// records the latency of stamped ones and answers echo replies with the
// next request while the connection's share of the run lasts.
func read(c *counted, w *waiter, st *stats, wg *sync.WaitGroup) {
	defer wg.Done()
	defer func() {
		c.closed.Store(true)
		w.reached(c, c.count.Load())
		if r := st.run.Load(); r != nil && c.echoLeft.Swap(0) > 0 {
			r.finish()
		}
	}()
	var buf [512]byte
	for {
		_, r, err := c.conn.NextReader()
		if err != nil {
			return
		}
		now := time.Now()
		var echoes int
		for {
			k, err := r.Read(buf[:])
			echoes += c.scan(buf[:k], now, st, false)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return
			}
		}
		echoes += c.scan(nil, now, st, true)
		w.reached(c, c.count.Load())
		for range echoes {
			left := c.echoLeft.Add(-1)
			switch {
			case left > 0:
				if err := c.request(); err != nil {
					return
				}
			case left == 0:
				if r := st.run.Load(); r != nil {
					r.finish()
				}
			}
		}
	}
}

// scan consumes p, a piece of a message received at now: it counts lines
// (the chat baseline joins queued messages with newlines), records the
// latency of each stamped line and returns how many echo replies ended in
// p. With end, p is empty and the message has ended.
func (c *counted) scan(p []byte, now time.Time, st *stats, end bool) (echoes int) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		piece := p
		if i >= 0 {
			piece = p[:i]
			p = p[i+1:]
		} else {
			p = nil
		}
		c.headLen += copy(c.head[c.headLen:], piece)
		c.lineLen += len(piece)
		if i >= 0 {
			echoes += c.endLine(now, st)
		}
	}
	if end && c.lineLen > 0 {
		echoes += c.endLine(now, st)
	}
	return echoes
}

// endLine counts the line whose start is in c.head and records its latency.
func (c *counted) endLine(now time.Time, st *stats) (echoes int) {
	kind, sent, ok := chatbaseline.ParseStamp(c.head[:c.headLen])
	c.headLen, c.lineLen = 0, 0
	if ok {
		d := time.Duration(now.UnixNano() - sent)
		switch kind {
		case chatbaseline.StampKindPaced:
			st.paced.record(c.index, d)
		case chatbaseline.StampKindEcho:
			st.echo.record(c.index, d)
			return 1 // a reply is not a broadcast: not counted
		}
	}
	c.count.Add(1)
	return 0
}

// short reports whether a connection closed before receiving t messages.
func short(conns []*counted, t int64) bool {
	for _, c := range conns {
		if c.count.Load() < t {
			return true
		}
	}
	return false
}

func countLine(conns []*counted) string {
	var total, closed int64
	lo, hi := int64(math.MaxInt64), int64(0)
	for _, c := range conns {
		n := c.count.Load()
		total += n
		lo, hi = min(lo, n), max(hi, n)
		if c.closed.Load() {
			closed++
		}
	}
	return fmt.Sprintf("count total=%d min=%d max=%d closed=%d", total, lo, hi, closed)
}
