package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/chatbaseline"
)

// implementation is a WebSocket server under test.
type implementation interface {
	http.Handler
	sessions() int
	broadcast(payload []byte)
	// shutdown ends every session and every goroutine the implementation
	// started.
	shutdown(ctx context.Context)
}

// newImplementation returns the named server. Every one sends each message
// a client sends back to that client (request/response): wsgate from its
// OnMessage, the chat baseline through the client's write pump (gorilla) or
// from its reader goroutine (gorilla-inline).
func newImplementation(name string, ping time.Duration) (implementation, error) {
	switch name {
	case "gorilla":
		return gorillaServer{chatbaseline.New(chatbaseline.EchoQueued)}, nil
	case "gorilla-inline":
		return gorillaServer{chatbaseline.New(chatbaseline.EchoInline)}, nil
	}
	h, err := hub.New(hub.Config{PingInterval: ping})
	if err != nil {
		return nil, err
	}
	h.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
	return &wsgateServer{h: h}, nil
}

// gorillaServer is the baseline.
type gorillaServer struct{ *chatbaseline.Hub }

func (s gorillaServer) sessions() int                { return s.Sessions() }
func (s gorillaServer) broadcast(p []byte)           { s.Broadcast(p) }
func (s gorillaServer) shutdown(ctx context.Context) { s.Shutdown(ctx) }

// wsgateServer serves every upgrade with a default hub.
type wsgateServer struct{ h *hub.Hub }

func (s *wsgateServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, err := s.h.Accept(w, r, hub.AcceptOptions{OriginChecked: true})
	if errors.Is(err, hub.ErrFull) || errors.Is(err, hub.ErrShuttingDown) {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
	}
}

func (s *wsgateServer) sessions() int { return s.h.Stats().Active }

func (s *wsgateServer) broadcast(p []byte) {
	s.h.Broadcast(hub.Message{Type: hub.TextMessage, Data: p})
}

func (s *wsgateServer) shutdown(ctx context.Context) { s.h.Shutdown(ctx) }

// runServer serves until "quit", the end of stdin or ctx.
func runServer(ctx context.Context, o options, stdin io.Reader, stdout io.Writer) error {
	impl, err := newImplementation(o.impl, o.ping)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           impl,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // cleared on hijack: sessions are not cut
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		impl.shutdown(sctx)
		<-served
	}()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())

	lines := readLines(stdin)
	for {
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			served <- err // for the deferred wait
			return err
		case line, ok = <-lines:
		}
		if !ok {
			return nil
		}
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch cmd {
		case "sessions":
			fmt.Fprintf(stdout, "sessions %d\n", impl.sessions())
		case "stats":
			fmt.Fprintln(stdout, serverStats(impl.sessions()))
		case "broadcast":
			k, err := strconv.Atoi(arg)
			if err != nil || k < 1 {
				fmt.Fprintln(stdout, "error broadcast needs a positive count")
				continue
			}
			for range k {
				impl.broadcast(chatbaseline.AppendStamp(nil, chatbaseline.StampKindPaced, time.Now(), 64))
			}
			fmt.Fprintf(stdout, "broadcast %d\n", k)
		case "quit":
			return nil
		case "":
		default:
			fmt.Fprintf(stdout, "error unknown command %q\n", cmd)
		}
	}
}

// serverStats reads VmRSS, then collects garbage, returns free memory to
// the system and reads it again.
func serverStats(sessions int) string {
	rss, _ := vmRSS()
	runtime.GC()
	debug.FreeOSMemory()
	rssGC, _ := vmRSS()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return fmt.Sprintf("stats rss=%d rss_gc=%d heap_inuse=%d stack_inuse=%d sessions=%d goroutines=%d",
		rss, rssGC, ms.HeapInuse, ms.StackInuse, sessions, runtime.NumGoroutine())
}

// readLines sends each line of r on the returned channel, which is closed at
// the end of r. The reading goroutine ends with r; the process exits with it.
func readLines(r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}
