package natstest_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A client reaches the server, loses it on Stop, and reaches it again on
// the same URL after Restart.
func TestStartRestartStop(t *testing.T) {
	s := natstest.Start(t)
	ping := func() error {
		nc, err := nats.Connect(s.URL(), nats.Timeout(5*time.Second), nats.MaxReconnects(0))
		if err != nil {
			return err
		}
		defer nc.Close()
		return nc.FlushTimeout(5 * time.Second)
	}
	if err := ping(); err != nil {
		t.Fatalf("before: %v", err)
	}
	s.Stop()
	if err := ping(); err == nil {
		t.Fatal("a stopped server answered")
	}
	s.Restart()
	if err := ping(); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	s.RestartEmpty()
	if err := ping(); err != nil {
		t.Fatalf("after RestartEmpty: %v", err)
	}
}
