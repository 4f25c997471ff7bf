// Package natstest runs a real NATS server, with JetStream, inside a test
// process on 127.0.0.1, for the tests of the NATS broker and history store
// (and anything else that needs one). It can stop and start the server on
// the same port, with its store directory or without it, as a crash and a
// restart (with or without persistence) would. There is nothing to
// install: the server is github.com/nats-io/nats-server/v2, embedded.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server with JetStream. Its methods are for the
// test goroutine.
type Server struct {
	t    testing.TB
	port int
	dir  string
	nojs bool
	srv  *natsserver.Server
}

// Start starts a server on a free loopback port, with JetStream storing
// in a temporary directory, and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return startServer(t, false)
}

// StartWithoutJetStream starts a server as Start does, but with JetStream
// off, for the refusals of what needs it.
func StartWithoutJetStream(t testing.TB) *Server {
	t.Helper()
	return startServer(t, true)
}

func startServer(t testing.TB, nojs bool) *Server {
	t.Helper()
	s := &Server{t: t, port: natsserver.RANDOM_PORT, dir: t.TempDir(), nojs: nojs}
	s.start()
	s.port = s.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.Stop)
	return s
}

// URL returns the server's address, nats://127.0.0.1:PORT.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

func (s *Server) start() {
	s.t.Helper()
	var err error
	// The port may be held briefly after a stop: retry, bounded.
	for i := 0; ; i++ {
		s.srv, err = natsserver.NewServer(&natsserver.Options{
			Host:      "127.0.0.1",
			Port:      s.port,
			JetStream: !s.nojs,
			StoreDir:  s.dir,
			NoLog:     true,
			NoSigs:    true,
		})
		if err != nil {
			s.t.Fatalf("nats server: %v", err)
		}
		s.srv.Start()
		if s.srv.ReadyForConnections(20 * time.Second) {
			return
		}
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		if i == 20 {
			s.t.Fatalf("nats server not ready on port %d", s.port)
		}
		time.Sleep(100 * time.Millisecond) // back-off between bind attempts; not synchronisation
	}
}

// Stop shuts the server down; later calls do nothing.
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Restart stops the server and starts a new one on the same port and
// store, as a crash and restart would: every client connection and
// subscription is gone, the streams are kept.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// RestartEmpty stops the server and starts a new one on the same port
// with an empty store directory: every stream is lost, as on a restart
// without persistence.
func (s *Server) RestartEmpty() {
	s.t.Helper()
	s.Stop()
	s.dir = s.t.TempDir()
	s.start()
}
