package natsbroker_test

import (
	"testing"

	"github.com/wsgate/wsgate/internal/natstest"
)

// testServer is a real NATS server with JetStream embedded in the test
// process (internal/natstest).
type testServer struct{ *natstest.Server }

func startServer(t testing.TB) *testServer { return &testServer{natstest.Start(t)} }

func (ts *testServer) url() string { return ts.URL() }

// restart stops the server and starts a new one on the same port and
// store: every client connection and subscription is gone.
func (ts *testServer) restart(t *testing.T) {
	t.Helper()
	ts.Restart()
}
