package natsstore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine of the store, nats.go, the hubs and the brokers is
// checked. The two ignored are the embedded test server's (see
// hub/natsbroker's TestMain): a stream create racing the server's
// shutdown leaves its file store's flush loop running. They belong to the
// server in the test process, not to code a user of this package runs.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushStreamStateLoop"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
	)
}
