package natsstore_test

import (
	"testing"

	"github.com/wsgate/wsgate/internal/natstest"
)

// testServer is a real NATS server with JetStream embedded in the test
// process (internal/natstest).
type testServer struct{ *natstest.Server }

func startServer(t testing.TB) *testServer { return &testServer{natstest.Start(t)} }

func (ts *testServer) url() string   { return ts.URL() }
func (ts *testServer) restart()      { ts.Restart() }
func (ts *testServer) restartEmpty() { ts.RestartEmpty() }
