package serve

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/examples/internal/testcert"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/middleware"
	"github.com/wsgate/wsgate/wstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFlagsCheck(t *testing.T) {
	cases := []struct {
		name  string
		flags Flags
		want  string
	}{
		{"cert without key", Flags{TLSCert: "c.pem", LogLevel: "warn"}, "-tls-cert and -tls-key"},
		{"key without cert", Flags{TLSKey: "k.pem", LogLevel: "warn"}, "-tls-cert and -tls-key"},
		{"unknown level", Flags{LogLevel: "loud"}, "-log-level"},
		{"negative idle timeout", Flags{LogLevel: "warn", IdleTimeout: -1}, "-idle-timeout"},
		{"negative read timeout", Flags{LogLevel: "warn", ReadTimeout: -1}, "-read-timeout"},
		{"negative shutdown timeout", Flags{LogLevel: "warn", ShutdownTimeout: -1}, "-shutdown-timeout"},
		{"unknown broker scheme", Flags{LogLevel: "warn", Cluster: ClusterFlags{Broker: "kafka://127.0.0.1:9092"}}, "bad -broker URL"},
		{"broker without host", Flags{LogLevel: "warn", Cluster: ClusterFlags{Broker: "redis:///0"}}, "has no host"},
		{"node id alone", Flags{LogLevel: "warn", Cluster: ClusterFlags{NodeID: "a"}}, "-node-id needs -broker"},
		{"long node id", Flags{LogLevel: "warn", Cluster: ClusterFlags{Broker: "redis://127.0.0.1:6379", NodeID: strings.Repeat("n", 65)}}, "-node-id must be"},
		{"embedded and broker", Flags{LogLevel: "warn", Cluster: ClusterFlags{Broker: "redis://127.0.0.1:6379", EmbeddedNATS: true}}, "-embedded-nats and -broker"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.flags.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %s", err, tc.want)
			}
		})
	}
	if err := (&Flags{LogLevel: "DEBUG"}).Check(); err != nil {
		t.Fatalf("DEBUG: %v", err)
	}
}

// TestRunTLSAndShutdown serves a hub over TLS, prints the URL, and drains
// the open session on shutdown.
func TestRunTLSAndShutdown(t *testing.T) {
	cert := testcert.Write(t)
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h.OnMessage(func(s *hub.Session, m hub.Message) { s.Send(m) })
	ws, err := middleware.New(h, middleware.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- Run(ctx, Config{
			Flags:   Flags{Addr: "127.0.0.1:0", TLSCert: cert.CertFile, TLSKey: cert.KeyFile, LogLevel: "warn"},
			Handler: ws, Hubs: []*hub.Hub{h}, Out: pw, URL: true,
		})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	sc.Scan()
	base, ok := strings.CutPrefix(sc.Text(), "listening on https://")
	if !ok {
		t.Fatalf("first line %q", sc.Text())
	}
	c := wstest.Dial(t, "wss://"+base, wstest.TLSConfig(cert.Client))
	c.SendText(t, "over TLS")
	if got := c.ReadText(t); got != "over TLS" {
		t.Fatalf("echo %q", got)
	}
	resp, err := http.Get("http://" + base) // plain HTTP on a TLS port
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain http on the TLS port: %s", resp.Status)
		}
	}
	cancel()
	if code, _ := c.AwaitClose(t); code != hub.CloseGoingAway {
		t.Fatalf("close %d on shutdown, want 1001", code)
	}
	sc.Scan()
	if got := sc.Text(); got != "shutdown: 1 sessions drained, 0 forced" {
		t.Fatalf("shutdown line %q", got)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestRunErrors(t *testing.T) {
	cases := []struct {
		name  string
		flags Flags
		want  string
	}{
		{"missing files", Flags{Addr: "127.0.0.1:0", TLSCert: "/nonexistent/c", TLSKey: "/nonexistent/k", LogLevel: "warn"}, "-tls-cert/-tls-key"},
		{"bad address", Flags{Addr: "127.0.0.1:-1", LogLevel: "warn"}, "listen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(context.Background(), Config{Flags: tc.flags, Handler: http.NotFoundHandler()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
