package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
)

// TestBrokerFlagIsUsed: -broker reaches the hub (an unreachable broker
// stops the program at start rather than leaving it a single node).
func TestBrokerFlagIsUsed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	err = run(context.Background(), []string{"-addr", "127.0.0.1:0", "-jwt-secret", secret, "-broker", "nats://" + addr}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "starting broker") {
		t.Fatalf("run with an unreachable broker: %v, want an error starting the broker", err)
	}
}
