package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// dial opens a TCP connection whose every read and write ends by deadline
// (or earlier, with ctx).
func dial(ctx context.Context, addr string, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(deadline)
	return c, nil
}

// request writes an HTTP/1.1 request head with the configured headers and
// extra lines.
func request(w io.Writer, cfg *config, method, path string, extra ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: wsattack\r\n", method, path)
	for name, vs := range cfg.header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		}
	}
	for _, e := range extra {
		b.WriteString(e + "\r\n")
	}
	b.WriteString("\r\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// closedByServer reads and discards until the server ends the connection:
// nil for EOF or a reset, the read error otherwise (a deadline: not closed).
func closedByServer(c net.Conn, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	if err == nil || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return err
}

// attackHeader sends one request with a header of cfg.headerSize bytes and
// expects 431 Request Header Fields Too Large.
func attackHeader(ctx context.Context, cfg *config, tg *target) (string, error) {
	c, err := dial(ctx, tg.addr, time.Now().Add(cfg.grace))
	if err != nil {
		return "", err
	}
	defer c.Close()
	// Written in the background: the server may answer and close before
	// taking the whole header.
	go request(c, cfg, "GET", "/", "X-Wsattack: "+strings.Repeat("a", cfg.headerSize))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", fmt.Errorf("no answer to a %d-byte header: %w", cfg.headerSize, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		return "", fmt.Errorf("a %d-byte header got %s, want 431", cfg.headerSize, resp.Status)
	}
	return fmt.Sprintf("a %d-byte header got %s", cfg.headerSize, resp.Status), nil
}

// attackIdle opens cfg.idleConns keep-alive connections, sends one GET on
// each, then leaves them idle (every other one after the first two bytes
// of a second request, fewer than net/http waits for before it starts
// reading a request) and expects the server to close every one within
// idleTimeout+grace of its answer.
func attackIdle(ctx context.Context, cfg *config, tg *target) (string, error) {
	bound := cfg.idleTimeout + cfg.grace
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		slowest time.Duration
		errs    []error
	)
	for i := range cfg.idleConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held, err := idleOne(ctx, cfg, tg.addr, i%2 == 1, bound)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("connection %d: %w", i, err))
			}
			slowest = max(slowest, held)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return "", fmt.Errorf("%d of %d idle connections failed, first: %w", len(errs), cfg.idleConns, errs[0])
	}
	return fmt.Sprintf("%d idle keep-alive connections closed by the server, the last %v after its answer (IdleTimeout %v)",
		cfg.idleConns, slowest.Round(time.Millisecond), cfg.idleTimeout), nil
}

// idleOne is one connection of attackIdle; it returns how long the server
// held it after answering.
func idleOne(ctx context.Context, cfg *config, addr string, partial bool, bound time.Duration) (time.Duration, error) {
	c, err := dial(ctx, addr, time.Now().Add(bound+cfg.grace))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if err := request(c, cfg, "GET", "/"); err != nil {
		return 0, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, fmt.Errorf("GET: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		return 0, nil // the server ended it with its answer
	}
	answered := time.Now()
	c.SetDeadline(answered.Add(bound))
	if partial {
		if _, err := io.WriteString(c, "GE"); err != nil {
			return 0, err
		}
	}
	if err := closedByServer(c, br); err != nil {
		return time.Since(answered), fmt.Errorf("still open %v after its answer: %w", bound, err)
	}
	return time.Since(answered), nil
}

// wsDialer dials the target's WebSocket endpoint with the configured
// headers.
func wsDial(ctx context.Context, cfg *config, tg *target) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: cfg.grace + time.Second}
	c, resp, err := d.DialContext(ctx, "ws://"+tg.addr+cfg.wsPath, cfg.header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("WebSocket handshake: %s", resp.Status)
		}
		return nil, fmt.Errorf("WebSocket handshake: %w", err)
	}
	return c, nil
}

// attackMessage, cfg.rounds times, opens a session and writes one text
// message of cfg.messageSize bytes as a single frame, as browsers do,
// writing on while the server refuses it; it expects to read close 1009.
func attackMessage(ctx context.Context, cfg *config, tg *target) (string, error) {
	seen := map[string]int{}
	for range cfg.rounds {
		got, err := oversizedOnce(ctx, cfg, tg)
		if err != nil {
			return "", err
		}
		seen[got]++
	}
	if n := seen["close 1009"]; n != cfg.rounds {
		return "", fmt.Errorf("%d of %d clients read close 1009; they saw %v", n, cfg.rounds, seen)
	}
	return fmt.Sprintf("%d of %d clients writing a %d-byte message read close 1009", cfg.rounds, cfg.rounds, cfg.messageSize), nil
}

// oversizedOnce is one round of attackMessage; it returns what the client
// saw: "close N", or the read error's text.
func oversizedOnce(ctx context.Context, cfg *config, tg *target) (string, error) {
	c, err := wsDial(ctx, cfg, tg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	deadline := time.Now().Add(cfg.grace)
	c.SetReadDeadline(deadline)
	c.SetCloseHandler(func(int, string) error { return nil }) // only the raw writer writes
	stop := context.AfterFunc(ctx, func() { c.NetConn().SetDeadline(time.Now()) })
	defer stop()

	wrote := make(chan error, 1)
	go func() { wrote <- writeFrame(c.NetConn(), cfg.messageSize, deadline) }()
	var readErr error
	for readErr == nil { // discard what the server says first (a welcome)
		_, _, readErr = c.ReadMessage()
	}
	c.NetConn().SetDeadline(time.Now()) // end the writer if it still writes
	// A browser whose write fails (the server reset the connection) drops
	// it without reading what is left, and reports 1006: the server must
	// keep reading until the client is done, never reset it.
	if werr := <-wrote; werr != nil && !errors.Is(werr, os.ErrDeadlineExceeded) {
		return "write failed: " + werr.Error(), nil
	}
	var ce *websocket.CloseError
	if errors.As(readErr, &ce) {
		return "close " + strconv.Itoa(ce.Code), nil
	}
	return readErr.Error(), nil
}

// writeFrame writes one masked, final text frame of n bytes of "a" in
// 64 KiB writes, as a client must frame it (RFC 6455 section 5.2).
func writeFrame(w net.Conn, n int, deadline time.Time) error {
	var key [4]byte
	rand.Read(key[:])
	head := []byte{0x81, 0x80 | 127}
	head = binary.BigEndian.AppendUint64(head, uint64(n))
	head = append(head, key[:]...)
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'a' ^ key[i%4] // 64 KiB is a multiple of 4: the mask lines up
	}
	w.SetWriteDeadline(deadline)
	if _, err := w.Write(head); err != nil {
		return err
	}
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// getOnce sends one GET on a new connection and reads the answer.
func getOnce(ctx context.Context, cfg *config, addr string, deadline time.Time) error {
	c, err := dial(ctx, addr, deadline)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := request(c, cfg, "GET", "/", "Connection: close"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// report matches the target's shutdown lines.
var report = regexp.MustCompile(`^shutdown: (\d+) sessions drained, (\d+) forced$`)

// attackBodyless opens a session and a POST that declares 1000 bytes of
// body and sends none, then stops the target with SIGTERM: the session must
// read close 1001, the target must report it drained with none forced,
// close the stuck connection, and exit within shutdownTimeout+grace.
func attackBodyless(ctx context.Context, cfg *config, tg *target) (string, error) {
	bound := cfg.shutdownTimeout + cfg.grace
	ws, err := wsDial(ctx, cfg, tg)
	if err != nil {
		return "", err
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(bound + cfg.grace))
	closed := make(chan error, 1)
	go func() {
		var err error
		for err == nil {
			_, _, err = ws.ReadMessage() // answers the close frame
		}
		closed <- err
	}()
	stuck, err := dial(ctx, tg.addr, time.Now().Add(bound+cfg.grace))
	if err != nil {
		return "", err
	}
	defer stuck.Close()
	if err := request(stuck, cfg, "POST", "/", "Content-Length: 1000", "Content-Type: application/json"); err != nil {
		return "", err
	}
	// The server accepts connections in order and tracks each before it
	// serves it: once a connection dialed after the stuck one is answered,
	// the stuck one is tracked, so Shutdown has to deal with it.
	if err := getOnce(ctx, cfg, tg.addr, time.Now().Add(cfg.grace)); err != nil {
		return "", fmt.Errorf("a GET after the stuck POST: %w", err)
	}

	start := time.Now()
	if err := tg.terminate(); err != nil {
		return "", err
	}
	var ce *websocket.CloseError
	if err := <-closed; !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		return "", fmt.Errorf("on SIGTERM the session saw %v, want close 1001", err)
	}
	lines, err := tg.wait(time.Until(start.Add(bound)))
	if err != nil {
		return "", fmt.Errorf("program after SIGTERM: %w", err)
	}
	took := time.Since(start)
	drained, forced := 0, 0
	for _, l := range lines {
		if m := report.FindStringSubmatch(l); m != nil {
			d, _ := strconv.Atoi(m[1])
			f, _ := strconv.Atoi(m[2])
			drained, forced = drained+d, forced+f
		}
	}
	if drained < 1 || forced != 0 {
		return "", fmt.Errorf("shutdown report %q: want the session drained and none forced", lines)
	}
	if err := closedByServer(stuck, stuck); err != nil {
		return "", fmt.Errorf("the stuck POST's connection was not closed: %w", err)
	}
	return fmt.Sprintf("SIGTERM with a stuck POST: %d drained, 0 forced, exited after %v (budget %v)",
		drained, took.Round(time.Millisecond), cfg.shutdownTimeout), nil
}
