package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// counted is one client connection and what it has received.
type counted struct {
	conn   *websocket.Conn
	count  atomic.Int64 // data messages received
	mark   atomic.Int64 // the last wait target this connection was counted for
	closed atomic.Bool
}

// waiter lets "wait T" learn, without polling, when every connection has
// received T messages: each connection is counted once per target, by
// whichever of the reader and the waiter sees it reach the target first.
type waiter struct {
	target    atomic.Int64
	remaining atomic.Int64
	done      atomic.Pointer[chan struct{}]
}

func (w *waiter) reached(c *counted, n int64) {
	t := w.target.Load()
	if t == 0 || n < t {
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

// wait blocks until every connection has received t messages, or timeout.
// Waits must not overlap.
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
				c := &counted{conn: conn}
				conns[i] = c
				readers.Add(1)
				go read(c, &w, &readers)
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
			if w.wait(conns, t, time.Minute) {
				fmt.Fprintf(stdout, "ok %d\n", t)
			} else {
				fmt.Fprintf(stdout, "timeout %d %s\n", t, countLine(conns))
			}
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

// read counts the data messages c receives until its connection ends.
func read(c *counted, w *waiter, wg *sync.WaitGroup) {
	defer wg.Done()
	defer c.closed.Store(true)
	for {
		_, r, err := c.conn.NextReader()
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}
		w.reached(c, c.count.Add(1))
	}
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
