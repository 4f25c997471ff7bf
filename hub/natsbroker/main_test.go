package natsbroker_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The broker's goroutines and nats.go's are all checked. Two goroutines of
// the embedded test server are not: nats-server v2.15.2 does not refuse a
// stream create that arrives while its JetStream is shutting down, and the
// file store it then opens is never stopped. The conformance suite's
// restart cases hit that window on a loaded machine (a hub writes its
// presence, creating the stream, as the suite restarts the server). Those
// goroutines belong to the server in the test process, not to any code a
// user of this package runs.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushStreamStateLoop"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
	)
}
