package redistest

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStartRestartStop: the server answers, a restart keeps the port and
// gives a new process, and after Stop nothing answers on the port.
func TestStartRestartStop(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	pid := s.PID()
	s.Restart()
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if s.PID() == pid || s.PID() == 0 {
		t.Fatalf("pid after restart %d, before %d: want a new process", s.PID(), pid)
	}
	s.Stop()
	if err := ping(s.Addr()); err == nil {
		t.Fatal("PING answered after Stop")
	}
	if s.PID() != 0 {
		t.Fatalf("PID after Stop = %d", s.PID())
	}
	s.Stop() // idempotent
}

// TestCluster: a one-node cluster owns every slot, and keeps them across
// a restart.
func TestCluster(t *testing.T) {
	s := StartWith(t, Options{Cluster: true})
	for range 2 {
		info, err := command(s.Addr(), "CLUSTER INFO")
		if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
			t.Fatalf("CLUSTER INFO = %q, %v", info, err)
		}
		s.Restart()
	}
}
