package serve

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
)

// natsReady bounds the embedded server's start.
const natsReady = 10 * time.Second

// openNATS makes each hub's broker a connection to the NATS server at
// c.Broker, or to a server it starts in this process for nats://embedded.
// Presence lives in JetStream (the server must run with -js) in memory:
// after a server restart the nodes write their members again within
// PresenceTTL/3.
func (cl *Cluster) openNATS(c *ClusterFlags, out io.Writer, logger *slog.Logger) error {
	url := c.Broker
	if url == embeddedURL {
		addr, err := cl.startNATS(c.NATSAddr, logger)
		if err != nil {
			return err
		}
		url = "nats://" + addr
		fmt.Fprintf(out, "nats listening on %s\n", url)
	}
	cl.newBroker = func(prefix string) (hub.Broker, func() BrokerReport, error) {
		b, err := natsbroker.New(natsbroker.Config{URL: url, Prefix: prefix, PresenceStorage: jetstream.MemoryStorage, Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		return b, func() BrokerReport {
			s := b.Stats()
			return BrokerReport{ReceivedMsgs: s.InMsgs, ReceivedBytes: s.InBytes, Stats: s}
		}, nil
	}
	return nil
}

// startNATS runs a NATS server with JetStream on addr (port 0: any free
// port) and returns the address it listens on; Close stops it.
func (cl *Cluster) startNATS(addr string, logger *slog.Logger) (string, error) {
	if addr == "" {
		addr = DefaultNATSAddr
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("-nats-addr %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return "", fmt.Errorf("-nats-addr %q: bad port", addr)
	}
	if port == 0 {
		port = natsserver.RANDOM_PORT
	}
	dir, err := os.MkdirTemp("", "wsgate-nats-")
	if err != nil {
		return "", err
	}
	srv, err := natsserver.NewServer(&natsserver.Options{
		Host: host, Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("embedded nats: %w", err)
	}
	srv.Start()
	cl.closers = append(cl.closers, func() {
		srv.Shutdown()
		srv.WaitForShutdown()
		os.RemoveAll(dir)
	})
	if !srv.ReadyForConnections(natsReady) {
		return "", fmt.Errorf("embedded nats: not accepting connections on %s within %v (is the port taken?)", addr, natsReady)
	}
	logger.Info("embedded nats server", "addr", srv.Addr().String())
	return srv.Addr().String(), nil
}
