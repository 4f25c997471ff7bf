package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/redistest"
	"github.com/wsgate/wsgate/internal/testdeps"
)

func TestClusterRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"node without broker", []string{"-mode", "node", "-node-id", "a"}, "needs -broker and -node-id"},
		{"node without id", []string{"-mode", "node", "-broker", "nats://127.0.0.1:4222"}, "needs -broker and -node-id"},
		{"node with unknown scheme", []string{"-mode", "node", "-node-id", "a", "-broker", "kafka://127.0.0.1:1"}, "want redis://"},
		{"node with remote broker", []string{"-mode", "node", "-node-id", "a", "-broker", "redis://10.0.0.1:6379"}, "not a loopback address"},
		{"unknown engine", []string{"-mode", "cluster", "-engines", "kafka"}, "-engines"},
		{"too many nodes", []string{"-mode", "cluster", "-nodes", "2,17"}, "-nodes"},
		{"bad interest", []string{"-mode", "cluster", "-interest", "maybe"}, "-interest"},
		{"zero runs", []string{"-mode", "cluster", "-runs", "0"}, "-runs"},
		{"zero rate", []string{"-mode", "cluster", "-room-rate", "0"}, "-room-rate"},
		{"span over nodes", []string{"-mode", "cluster", "-nodes", "2", "-span", "3"}, "-span"},
		{"tiny messages", []string{"-mode", "cluster", "-size", "8"}, "-size"},
		{"long duration", []string{"-mode", "cluster", "-duration", "2h"}, "-duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, strings.NewReader(""), &stdout, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not say %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestClusterMode runs the cluster mode for real, briefly: three node
// processes per run, rooms on two of them. Every message reaches every
// member, and with interest off each node is sent more by the broker than
// with interest on (a node with interest is sent only its rooms').
func TestClusterMode(t *testing.T) {
	engines := "nats"
	if redistest.Binary() != "" {
		engines = "redis,nats"
	} else if testdeps.Required() {
		t.Fatalf("redis-server not found and %s=1", testdeps.Env)
	} else {
		testdeps.Announce("redis-server", "the cluster mode's Redis runs")
		t.Log("redis-server not found: measuring nats only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o, err := parse([]string{"-mode", "cluster", "-engines", engines, "-nodes", "3", "-runs", "1",
		"-room-rate", "20", "-members", "2", "-duration", "300ms", "-timeout", "3m"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr lockedBuffer
	if err := runCluster(ctx, o, &stdout, &stderr); err != nil {
		t.Fatalf("%v; stderr: %s", err, stderr.String())
	}
	received := map[string]float64{} // engine/interest → broker messages per node
	for _, line := range strings.Split(stdout.String(), "\n") {
		if !strings.HasPrefix(line, "result ") {
			continue
		}
		f := map[string]string{}
		for _, kv := range strings.Fields(line)[1:] {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		num := func(k string) float64 {
			v, err := strconv.ParseFloat(f[k], 64)
			if err != nil {
				t.Fatalf("%s: %v in %q", k, err, line)
			}
			return v
		}
		if num("sent") < 1 || num("delivered") != num("expected") || num("expected") != num("sent")*4 {
			t.Errorf("not every message reached its 4 members: %q", line)
		}
		if num("p50_us") <= 0 || num("p99_us") < num("p50_us") || num("deliveries_per_s") <= 0 || num("dropped") != 0 {
			t.Errorf("implausible figures: %q", line)
		}
		received[f["engine"]+"/"+f["interest"]] = num("broker_msgs_per_node") / num("sent")
	}
	for _, e := range strings.Split(engines, ",") {
		on, off := received[e+"/on"], received[e+"/off"]
		if on <= 0 || off <= on {
			t.Errorf("%s: broker messages per node per message sent: interest on %.2f, off %.2f; want 0 < on < off", e, on, off)
		}
	}
	if !strings.Contains(stdout.String(), "| engine | nodes | interest |") {
		t.Errorf("no table in %q", stdout.String())
	}
}
