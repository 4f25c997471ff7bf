package ratelimit_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// gate is a handler that holds requests carrying "X-Hold" until release is
// closed, reporting each held request on entered, and answers "ok".
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Hold") != "" {
		g.entered <- struct{}{}
		<-g.release
	}
	io.WriteString(w, "ok")
}

// result is a response read to the end, or the error getting it.
type result struct {
	status     int
	retryAfter string
	body       string
	err        error
}

// startServer serves h on a loopback httptest server closed at cleanup.
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newClient returns a client whose connections come from localIP (any
// address of 127.0.0.0/8 works on Linux), or from the default address if
// localIP is "". Its idle connections are closed at cleanup.
func newClient(t *testing.T, localIP string) *http.Client {
	t.Helper()
	d := &net.Dialer{}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
		ln, err := net.Listen("tcp", net.JoinHostPort(localIP, "0"))
		if err != nil {
			t.Skipf("cannot use local address %s: %v", localIP, err)
		}
		ln.Close()
	}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// get sends a GET to url with headers and reads the whole answer.
func get(c *http.Client, url string, headers map[string]string) result {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return result{err: err}
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(body), err: err}
}

// goGet runs get in a goroutine and delivers its result on the channel.
func goGet(c *http.Client, url string, headers map[string]string) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- get(c, url, headers) }()
	return ch
}
