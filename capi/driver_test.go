package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	proxyproto "github.com/pires/go-proxyproto"
)

// driver is ctest/driver.c running with some configuration.
type driver struct {
	p    *proc
	addr string
}

func runDriver(t *testing.T, args ...string) *driver {
	t.Helper()
	dir := built(t)
	p := start(t, filepath.Join(dir, "driver"), nil, nil, args...)
	var port int
	l := p.awaitPrefix("PORT ")
	fmt.Sscanf(l, "PORT %d", &port)
	return &driver{p: p, addr: fmt.Sprintf("127.0.0.1:%d", port)}
}

func (d *driver) url(path string) string { return "ws://" + d.addr + path }

// refused dials and returns the HTTP status of the refusal.
func (d *driver) refused(t *testing.T, dl *websocket.Dialer, url string, h http.Header) int {
	t.Helper()
	c, resp, err := dl.Dial(url, h)
	if err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded, want a refusal", url)
	}
	if resp == nil {
		t.Fatalf("dial %s: %v, want an HTTP refusal", url, err)
	}
	return resp.StatusCode
}

// stop asks the driver to stop through c, reads c meanwhile (a client
// that does not read cannot answer the close frame, and the drain would
// time out), and checks that the driver drained every session, freed
// everything and exited cleanly (the ASan build fails the exit status on
// a leak or a bad access). It returns what c received.
func (d *driver) stop(t *testing.T, c *websocket.Conn) received {
	t.Helper()
	send(t, c, "stop 10000")
	got := make(chan received, 1)
	go func() { got <- readAll(t, c) }()
	d.p.awaitPrefix("stopped 0")
	d.p.awaitPrefix("freed")
	if code := d.p.wait(); code != 0 {
		t.Fatalf("driver exit code %d; stderr:\n%s", code, d.p.errb.String())
	}
	r := <-got
	if r.code != websocket.CloseGoingAway {
		t.Errorf("close %d %q at stop, want 1001", r.code, r.text)
	}
	return r
}

func send(t *testing.T, c *websocket.Conn, text string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		t.Fatalf("write %q: %v", text, err)
	}
}

// expect reads the next message and compares it (type and text).
func expect(t *testing.T, c *websocket.Conn, typ int, want string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	gt, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("reading, want %q: %v", want, err)
	}
	if gt != typ || string(b) != want {
		t.Fatalf("got %d %q, want %d %q", gt, b, typ, want)
	}
}

func expectText(t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	expect(t, c, websocket.TextMessage, want)
}

// expectMatch reads the next text message and checks it against re.
func expectMatch(t *testing.T, c *websocket.Conn, re string) []string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("reading, want /%s/: %v", re, err)
	}
	m := regexp.MustCompile(re).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("got %q, want /%s/", b, re)
	}
	return m
}

// expectClose reads until the close frame and checks its code.
func expectClose(t *testing.T, c *websocket.Conn, code int, reason string) {
	t.Helper()
	r := readAll(t, c)
	if len(r.msgs) != 0 {
		t.Errorf("unexpected messages before the close: %q", r.msgs)
	}
	if r.code != code || (reason != "" && r.text != reason) {
		t.Fatalf("close %d %q, want %d %q", r.code, r.text, code, reason)
	}
}

// TestDriverRouting drives every routing, room, topic, session and stats
// function with three real clients and checks what each one receives: a
// client that must not get a message would see it in place of the next
// one expected.
func TestDriverRouting(t *testing.T) {
	d := runDriver(t)
	a := dial(t, d.url("/"), nil, false)
	d.p.awaitPrefix("connect 1 ")
	b := dial(t, d.url("/"), nil, false)
	d.p.awaitPrefix("connect 2 ")
	c := dial(t, d.url("/"), nil, false)
	d.p.awaitPrefix("connect 3 ")
	const B = websocket.BinaryMessage

	send(t, a, "join lobby")
	expectText(t, a, "ok 0")
	send(t, b, "join lobby")
	expectText(t, b, "ok 0")

	send(t, a, "room lobby hi")
	expectText(t, a, "hi")
	expectText(t, a, "ok 2")
	expectText(t, b, "hi")
	send(t, a, "roomx lobby hey")
	expectText(t, a, "ok 1")
	expectText(t, b, "hey")
	send(t, a, "roombin lobby bin")
	expect(t, a, B, "bin")
	expectText(t, a, "ok 2")
	expect(t, b, B, "bin")
	send(t, a, "roomxbin lobby bx")
	expectText(t, a, "ok 1")
	expect(t, b, B, "bx")
	send(t, a, "room empty x")
	expectText(t, a, "ok 0")

	send(t, a, "all everyone")
	expectText(t, a, "everyone")
	expectText(t, a, "ok 3")
	send(t, a, "allx others")
	expectText(t, a, "ok 2")
	send(t, a, "allbin B")
	expect(t, a, B, "B")
	expectText(t, a, "ok 3")
	send(t, a, "allxbin BX")
	expectText(t, a, "ok 2")
	for _, x := range []*websocket.Conn{b, c} {
		expectText(t, x, "everyone")
		expectText(t, x, "others")
		expect(t, x, B, "B")
		expect(t, x, B, "BX")
	}

	send(t, c, "sub prices.*")
	expectText(t, c, "ok 0")
	send(t, b, "sub prices.>")
	expectText(t, b, "ok 0")
	send(t, c, "sub bad..pattern")
	expectText(t, c, "ok -3")
	send(t, a, "pub prices.eu 1")
	expectText(t, a, "ok 2")
	expectText(t, b, "1")
	expectText(t, c, "1")
	send(t, a, "pubbin prices.eu.btc 2")
	expectText(t, a, "ok 1")
	expect(t, b, B, "2")
	send(t, c, "unsub prices.*")
	expectText(t, c, "ok 0")
	send(t, a, "pub prices.us 3")
	expectText(t, a, "ok 1")
	expectText(t, b, "3")

	send(t, a, "to 3 direct")
	expectText(t, a, "ok 1")
	expectText(t, c, "direct")
	send(t, a, "tobin 3 d")
	expectText(t, a, "ok 1")
	expect(t, c, B, "d")
	send(t, a, "to 99 x")
	expectText(t, a, "ok -5")

	send(t, a, "members lobby")
	expectText(t, a, "members 1 2")
	send(t, a, "ids")
	expectText(t, a, "ids 1 2 3")
	send(t, a, "leave lobby")
	expectText(t, a, "ok 0")
	send(t, a, "members lobby")
	expectText(t, a, "members 2")

	send(t, a, "meta user ada")
	expectText(t, a, "ok 0")
	send(t, a, "getmeta user")
	expectText(t, a, "meta 3 ada")
	send(t, a, "getmeta nope")
	expectMatch(t, a, `^meta -5 .*nope`)

	m := expectMatchAfter(t, a, "info", `^info id=1 remote=(\S+) connected=(\d+) last=(\d+) msent=(\d+) bsent=\d+ mrecv=(\d+) brecv=\d+$`)
	if m[1] != a.LocalAddr().String() {
		t.Errorf("remote %s, want %s", m[1], a.LocalAddr())
	}
	if m[5] == "0" || m[4] == "0" || m[3] < m[2] {
		t.Errorf("counters or times not updated: %q", m[0])
	}
	expectMatchAfter(t, a, "getsession 2", `^info id=2 remote=`+regexp.QuoteMeta(b.LocalAddr().String())+` `)
	expectMatchAfter(t, a, "getsession 77", `^err .*77`)
	expectMatchAfter(t, a, "stats", `^stats active=3 total=3 messages=\d+ bytes=\d+ recv=\d+ sent=\d+ dropped=0$`)

	send(t, a, "echo x")
	expectText(t, a, "x")
	send(t, a, "echotext y")
	expectText(t, a, "y")
	send(t, a, "echobin z")
	expect(t, a, B, "z")

	// disconnect: at once, with the code and reason given.
	send(t, a, "kick 2 4000 bye")
	expectText(t, a, "ok 0")
	expectClose(t, b, 4000, "bye")
	d.p.awaitPrefix("close 2 4000 bye")
	// session_close: after what is queued.
	send(t, c, "close 1000 done")
	r := readAll(t, c)
	if fmt.Sprint(r.msgs) != "[closing]" || r.code != 1000 || r.text != "done" {
		t.Errorf("client c got %q then close %d %q, want [closing] then 1000 done", r.msgs, r.code, r.text)
	}
	d.p.awaitPrefix("close 3 1000 done")
	send(t, a, "ids")
	expectText(t, a, "ids 1")

	d.stop(t, a)
	if !strings.Contains(d.p.output(), "close 1 1001") {
		t.Errorf("no on_close for session 1 after stop; output:\n%s", d.p.output())
	}
}

func expectMatchAfter(t *testing.T, c *websocket.Conn, cmd, re string) []string {
	t.Helper()
	send(t, c, cmd)
	return expectMatch(t, c, re)
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wsgate test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestDriverConfig checks each configuration feature from the C side with
// real clients: the refusal (status or close code, and what the C program
// saw) and that another session is unaffected.
func TestDriverConfig(t *testing.T) {
	dl := &websocket.Dialer{HandshakeTimeout: 30 * time.Second}

	t.Run("origin", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "origin=https://ok.example")
		if st := d.refused(t, dl, d.url("/"), http.Header{"Origin": {"https://evil.example"}}); st != http.StatusForbidden {
			t.Errorf("status %d, want 403", st)
		}
		c := dial(t, d.url("/"), http.Header{"Origin": {"https://ok.example"}}, false)
		d.stop(t, c)
	})

	t.Run("auth", func(t *testing.T) {
		t.Parallel()
		secret := "0123456789abcdef0123456789abcdef"
		d := runDriver(t, "secret="+secret, "issuer=wsgate-test")
		token := func(key, iss string) http.Header {
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"sub": "ada", "iss": iss, "exp": time.Now().Add(time.Hour).Unix(),
			}).SignedString([]byte(key))
			if err != nil {
				t.Fatal(err)
			}
			return http.Header{"Authorization": {"Bearer " + s}}
		}
		for name, h := range map[string]http.Header{
			"none":         nil,
			"wrong secret": token("ffffffffffffffffffffffffffffffff", "wsgate-test"),
			"wrong issuer": token(secret, "someone-else"),
		} {
			if st := d.refused(t, dl, d.url("/"), h); st != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, st)
			}
		}
		c := dial(t, d.url("/"), token(secret, "wsgate-test"), false)
		send(t, c, "echo in")
		expectText(t, c, "in")
		d.stop(t, c)
	})

	t.Run("per-ip", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "per_ip=1")
		c := dial(t, d.url("/"), nil, false)
		if st := d.refused(t, dl, d.url("/"), nil); st != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", st)
		}
		send(t, c, "echo still here")
		expectText(t, c, "still here")
		d.stop(t, c)
	})

	t.Run("max-connections", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "max_conn=1")
		c := dial(t, d.url("/"), nil, false)
		d.p.awaitPrefix("connect 1 ")
		if st := d.refused(t, dl, d.url("/"), nil); st != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", st)
		}
		send(t, c, "echo ok")
		expectText(t, c, "ok")
		d.stop(t, c)
	})

	t.Run("message-size", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "max_msg=16")
		big := dial(t, d.url("/"), nil, false)
		d.p.awaitPrefix("connect 1 ")
		other := dial(t, d.url("/"), nil, false)
		send(t, big, strings.Repeat("x", 17))
		expectClose(t, big, websocket.CloseMessageTooBig, "")
		d.p.awaitPrefix("error 1 -21 ")
		d.p.awaitPrefix("close 1 1009")
		send(t, other, "echo 16 bytes ok")
		expectText(t, other, "16 bytes ok")
		d.stop(t, other)
	})

	t.Run("rate-limit-reject", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "rate=2:600000:2")
		c := dial(t, d.url("/"), nil, false)
		d.p.awaitPrefix("connect 1 ") // IDs follow connect order, not dial order
		other := dial(t, d.url("/"), nil, false)
		for _, m := range []string{"echo a", "echo b", "echo c"} {
			send(t, c, m)
		}
		// The third message closes the session at once (its queue, with
		// any reply the application sent, is dropped); the application
		// saw the two allowed ones.
		r := readAll(t, c)
		if r.code != websocket.ClosePolicyViolation {
			t.Errorf("close %d %q, want 1008", r.code, r.text)
		}
		d.p.awaitPrefix("close 1 1008")
		if n := strings.Count(d.p.output(), "message 1 text 6"); n != 2 {
			t.Errorf("the application got %d messages, want the 2 within the rate", n)
		}
		send(t, other, "echo fine")
		expectText(t, other, "fine")
		d.stop(t, other)
	})

	t.Run("subprotocol", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "subproto=chat.v2", "subproto=chat.v1", "require_sub=1")
		if st := d.refused(t, dl, d.url("/"), nil); st != http.StatusBadRequest {
			t.Errorf("status %d, want 400", st)
		}
		sd := &websocket.Dialer{HandshakeTimeout: 30 * time.Second, Subprotocols: []string{"chat.v1"}}
		c, _, err := sd.Dial(d.url("/"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.Subprotocol() != "chat.v1" {
			t.Errorf("subprotocol %q, want chat.v1", c.Subprotocol())
		}
		d.stop(t, c)
	})

	t.Run("path", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "path=/ws")
		if st := d.refused(t, dl, d.url("/"), nil); st != http.StatusNotFound {
			t.Errorf("status %d, want 404", st)
		}
		c := dial(t, d.url("/ws"), nil, false)
		d.stop(t, c)
	})

	t.Run("compression", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "compression=6")
		cd := &websocket.Dialer{HandshakeTimeout: 30 * time.Second, EnableCompression: true}
		c, resp, err := cd.Dial(d.url("/"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
			t.Errorf("extensions %q, want permessage-deflate", ext)
		}
		long := strings.Repeat("compressible ", 100)
		send(t, c, "echo "+long)
		expectText(t, c, long)
		d.stop(t, c)
	})

	t.Run("tls", func(t *testing.T) {
		t.Parallel()
		cert, key, pool := selfSigned(t, t.TempDir())
		d := runDriver(t, "tls_cert="+cert, "tls_key="+key)
		td := &websocket.Dialer{HandshakeTimeout: 30 * time.Second, TLSClientConfig: &tls.Config{RootCAs: pool}}
		c, _, err := td.Dial("wss://"+d.addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		send(t, c, "echo secure")
		expectText(t, c, "secure")
		d.stop(t, c)
	})

	t.Run("proxy-protocol", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "proxy=127.0.0.1", "proxy_protocol=1")
		client := &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 51234}
		pd := &websocket.Dialer{HandshakeTimeout: 30 * time.Second,
			NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				if _, err := proxyproto.HeaderProxyFromAddrs(1, client, conn.RemoteAddr()).WriteTo(conn); err != nil {
					conn.Close()
					return nil, err
				}
				return conn, nil
			}}
		c, _, err := pd.Dial(d.url("/"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		d.p.awaitPrefix("connect 1 203.0.113.7:51234")
		// Without the header, a trusted peer's connection is dropped.
		if nc, _, err := dl.Dial(d.url("/"), nil); err == nil {
			nc.Close()
			t.Error("a connection without a PROXY header was served")
		}
		d.stop(t, c)
	})

	t.Run("trusted-proxy-headers", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "proxy=127.0.0.1")
		c := dial(t, d.url("/"), http.Header{"X-Forwarded-For": {"203.0.113.9"}}, false)
		d.p.awaitPrefix("connect 1 203.0.113.9:0")
		d.stop(t, c)
	})

	t.Run("event-queue-full", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "events=1:1048576:0")
		c := dial(t, d.url("/"), nil, false)
		d.p.awaitPrefix("connect 1 ")
		other := dial(t, d.url("/"), nil, false)
		d.p.awaitPrefix("connect 2 ")
		// While the application sits in a callback, one message fits the
		// queue and the next closes the sender.
		send(t, c, "stall 3000")
		expectText(t, c, "stalling")
		for i := 0; i < 20; i++ {
			if err := c.WriteMessage(websocket.TextMessage, []byte("echo flood")); err != nil {
				break
			}
		}
		r := readAll(t, c)
		if r.code != websocket.ClosePolicyViolation || r.text != "event queue full" {
			t.Errorf("close %d %q, want 1008 \"event queue full\"", r.code, r.text)
		}
		d.p.awaitPrefix("error 1 -26 ")
		d.p.awaitPrefix("close 1 1008 event queue full")
		send(t, other, "stats")
		expectMatch(t, other, `dropped=[1-9]`)
		d.stop(t, other)
	})

	t.Run("event-queue-block", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "events=1:1048576:1")
		c := dial(t, d.url("/"), nil, false)
		d.p.awaitPrefix("connect 1 ")
		send(t, c, "stall 2000")
		expectText(t, c, "stalling")
		// The reader waits for room instead of closing: every message
		// arrives, in order.
		for i := 0; i < 20; i++ {
			send(t, c, fmt.Sprintf("echo %d", i))
		}
		for i := 0; i < 20; i++ {
			expectText(t, c, fmt.Sprint(i))
		}
		d.stop(t, c)
	})

	t.Run("idle-timeout", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "idle=300")
		c := dial(t, d.url("/"), nil, false)
		expectClose(t, c, websocket.CloseGoingAway, "idle timeout")
		d.p.awaitPrefix("close 1 1001 idle timeout")
	})

	t.Run("pong-timeout", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t, "ping=100", "ping_timeout=200")
		c := dial(t, d.url("/"), nil, false)
		// gorilla answers pings only while reading; this client does not
		// read until the session has failed.
		d.p.awaitPrefix("error 1 -23 ")
		d.p.awaitPrefix("close 1 1001")
		_ = c
	})

	t.Run("stop-timeout", func(t *testing.T) {
		t.Parallel()
		d := runDriver(t)
		c := dial(t, d.url("/"), nil, false)
		d.p.awaitPrefix("connect 1 ")
		// The client never reads, so it never answers the close frame:
		// stop returns DMSC_WS_ERR_TIMEOUT when its timeout ends, and the
		// program still frees everything and exits cleanly.
		send(t, c, "stop 300")
		d.p.awaitPrefix("stopped -12")
		d.p.awaitPrefix("close 1 ")
		d.p.awaitPrefix("freed")
		if code := d.p.wait(); code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", code, d.p.errb.String())
		}
	})

	// A client that does not read fills its send queue; the policy decides.
	for _, tc := range []struct {
		name, policy string
		check        func(t *testing.T, d *driver, flood []string, slow *websocket.Conn)
	}{
		{"slow-disconnect", "0", func(t *testing.T, d *driver, flood []string, slow *websocket.Conn) {
			if flood[3] == "0" {
				t.Errorf("no send was refused as closed after the disconnect: %q", flood[0])
			}
			d.p.awaitPrefix("close 1 1008")
		}},
		{"slow-drop-newest", "2", func(t *testing.T, d *driver, flood []string, slow *websocket.Conn) {
			if flood[2] == "0" || flood[3] != "0" {
				t.Errorf("want refusals with DMSC_WS_ERR_QUEUE_FULL and the session open: %q", flood[0])
			}
			// Drain it (the messages that fitted), so that it can answer
			// the close frame at stop.
			go func() {
				for {
					if _, _, err := slow.ReadMessage(); err != nil {
						return
					}
				}
			}()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := runDriver(t, "queue=4:1048576:"+tc.policy)
			slow := dial(t, d.url("/"), nil, false)
			d.p.awaitPrefix("connect 1 ")
			c := dial(t, d.url("/"), nil, false)
			d.p.awaitPrefix("connect 2 ")
			// 32 MiB to a client that reads nothing: far past what the
			// socket buffers and the queue (4 messages, 1 MiB) hold.
			send(t, c, "flood 1 512 65536")
			flood := expectMatch(t, c, `^flood ok=(\d+) full=(\d+) closed=(\d+) other=0$`)
			tc.check(t, d, flood, slow)
			send(t, c, "ids")
			if tc.policy == "2" {
				expectText(t, c, "ids 1 2") // still open
			} else {
				expectText(t, c, "ids 2")
			}
			send(t, c, "stats")
			expectMatch(t, c, `dropped=[1-9]`)
			d.stop(t, c)
		})
	}
}
