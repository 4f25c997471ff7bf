package natsstore_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// testServer is a real NATS server with JetStream, embedded in the test
// process on 127.0.0.1, that can be stopped and started on the same port,
// with its store directory or without it.
type testServer struct {
	t    testing.TB
	port int
	dir  string
	srv  *natsserver.Server
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	ts := &testServer{t: t, port: natsserver.RANDOM_PORT, dir: t.TempDir()}
	ts.start()
	ts.port = ts.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", ts.port) }

func (ts *testServer) start() {
	ts.t.Helper()
	var err error
	// The port may be held briefly after a stop: retry, bounded.
	for i := 0; ; i++ {
		ts.srv, err = natsserver.NewServer(&natsserver.Options{
			Host:      "127.0.0.1",
			Port:      ts.port,
			JetStream: true,
			StoreDir:  ts.dir,
			NoLog:     true,
			NoSigs:    true,
		})
		if err != nil {
			ts.t.Fatalf("nats server: %v", err)
		}
		ts.srv.Start()
		if ts.srv.ReadyForConnections(20 * time.Second) {
			return
		}
		ts.srv.Shutdown()
		ts.srv.WaitForShutdown()
		if i == 20 {
			ts.t.Fatalf("nats server not ready on port %d", ts.port)
		}
		time.Sleep(100 * time.Millisecond) // back-off between bind attempts; not synchronisation
	}
}

func (ts *testServer) stop() {
	if ts.srv != nil {
		ts.srv.Shutdown()
		ts.srv.WaitForShutdown()
		ts.srv = nil
	}
}

// restart stops the server and starts a new one on the same port and
// store, as a crash and restart would.
func (ts *testServer) restart() {
	ts.t.Helper()
	ts.stop()
	ts.start()
}

// restartEmpty stops the server and starts a new one on the same port
// with an empty store directory: every stream is lost, as on a restart
// without persistence.
func (ts *testServer) restartEmpty() {
	ts.t.Helper()
	ts.stop()
	ts.dir = ts.t.TempDir()
	ts.start()
}
