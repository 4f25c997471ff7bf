package serve

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	"github.com/wsgate/wsgate/hub"
)

// ClusterFlags are the flags that make an example one node of a cluster.
// The zero value is a single node.
type ClusterFlags struct {
	// Broker (-broker) is the URL of the broker every node shares:
	// redis://HOST:PORT[/DB] (rediss:// for TLS) or nats://HOST:PORT.
	// Empty means no broker: this process is the only node.
	Broker string
	// NodeID (-node-id) names this node in session IDs; it must be unique
	// in the cluster. Empty means a random "node-XXXXXX".
	NodeID string
	// EmbeddedNATS (-embedded-nats), like -broker nats://embedded, runs a
	// NATS server inside this process on NATSAddr and uses it as the
	// broker, so other nodes can point -broker nats://NATSAddr at it with
	// nothing else to install.
	EmbeddedNATS bool
	// NATSAddr (-nats-addr) is where the embedded NATS server listens.
	// Empty means 127.0.0.1:4222.
	NATSAddr string
}

// embeddedURL is the -broker value that stands for -embedded-nats.
const embeddedURL = "nats://embedded"

// DefaultNATSAddr is where -embedded-nats listens unless -nats-addr says
// otherwise.
const DefaultNATSAddr = "127.0.0.1:4222"

// register defines the cluster flags on fs.
func (c *ClusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Broker, "broker", "", "broker `URL` shared by every node: redis://host:port[/db] or nats://host:port (default: none, a single node)")
	fs.StringVar(&c.NodeID, "node-id", "", "this node's `name`, unique in the cluster (default: node- and a random suffix)")
	fs.BoolVar(&c.EmbeddedNATS, "embedded-nats", false, "run a NATS server in this process (on -nats-addr) and use it as the broker")
	fs.StringVar(&c.NATSAddr, "nats-addr", DefaultNATSAddr, "listen `address` of the -embedded-nats server")
}

// ErrBrokerURL is wrapped by the error for a -broker URL that names no
// engine this program knows.
var ErrBrokerURL = errors.New("serve: bad -broker URL")

// check reports cluster flags that do not go together.
func (c *ClusterFlags) check() error {
	if c.Broker == "" {
		if c.NodeID != "" && !c.EmbeddedNATS {
			return errors.New("-node-id needs -broker or -embedded-nats")
		}
		return nil
	}
	if c.EmbeddedNATS && c.Broker != embeddedURL {
		return errors.New("-embedded-nats and -broker go apart: the embedded server is the broker")
	}
	if len(c.NodeID) > 64 {
		return errors.New("-node-id must be at most 64 bytes")
	}
	u, err := url.Parse(c.Broker)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBrokerURL, err)
	}
	switch u.Scheme {
	case "redis", "rediss", "nats", "tls":
	default:
		return fmt.Errorf("%w: %q: want redis://host:port or nats://host:port", ErrBrokerURL, c.Broker)
	}
	if u.Host == "" {
		return fmt.Errorf("%w: %q has no host", ErrBrokerURL, c.Broker)
	}
	return nil
}

// Cluster is the broker connection of one process: it makes a Broker for
// each hub that spans the cluster, and serves their counters. Close it
// after the hubs have shut down (they close their brokers; Close closes
// the connection they shared and stops an embedded NATS server).
type Cluster struct {
	// NodeID is the node name to give each hub (hub.Config.NodeID).
	NodeID string
	// Engine is "redis", "nats" or "" (a single node).
	Engine string

	newBroker func(prefix string) (hub.Broker, func() BrokerReport, error)
	closers   []func()

	mu   sync.Mutex // guards hubs
	hubs map[string]watched
}

type watched struct {
	h     *hub.Hub
	stats func() BrokerReport
}

// OpenCluster connects what the cluster flags ask for: nothing for a single
// node, a Redis client, or a NATS URL (starting the embedded server first
// with -embedded-nats, printing "nats listening on nats://ADDR" on out).
func (f *Flags) OpenCluster(out io.Writer, logger *slog.Logger) (*Cluster, error) {
	c := &f.Cluster
	if c.EmbeddedNATS {
		c.Broker = embeddedURL
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	cl := &Cluster{hubs: make(map[string]watched)}
	if c.Broker == "" {
		return cl, nil
	}
	cl.NodeID = c.NodeID
	if cl.NodeID == "" {
		var b [3]byte
		rand.Read(b[:])
		cl.NodeID = "node-" + hex.EncodeToString(b[:])
	}
	var err error
	switch u, _ := url.Parse(c.Broker); u.Scheme {
	case "redis", "rediss":
		cl.Engine = "redis"
		err = cl.openRedis(c.Broker, logger)
	default:
		cl.Engine = "nats"
		err = cl.openNATS(c, out, logger)
	}
	if err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// Broker returns a new broker for one hub, or nil for a single node. prefix
// names the hub's traffic at the broker (dot-separated words such as
// "chat" or "echo.fanout"), so that the hubs of several programs share one
// broker server without seeing each other's messages.
func (cl *Cluster) Broker(prefix string) (hub.Broker, error) {
	if cl.newBroker == nil {
		return nil, nil
	}
	b, stats, err := cl.newBroker(prefix)
	if err != nil {
		return nil, err
	}
	cl.mu.Lock()
	cl.hubs[prefix] = watched{stats: stats}
	cl.mu.Unlock()
	return b, nil
}

// Watch logs h's broker outages (what a client may have missed while the
// cluster was cut) and shows h's counters under prefix in Handler's
// answer. Give it the prefix h's broker was made with.
func (cl *Cluster) Watch(prefix string, h *hub.Hub, logger *slog.Logger) {
	cl.mu.Lock()
	w := cl.hubs[prefix]
	w.h = h
	cl.hubs[prefix] = w
	cl.mu.Unlock()
	h.OnBroker(func(ev hub.BrokerEvent) {
		if ev.Up {
			logger.Warn("broker back: messages sent while it was lost did not reach this node", "hub", prefix, "outage", ev.Outage)
		} else {
			logger.Warn("broker lost: messages for other nodes are not delivered until it is back", "hub", prefix, "err", ev.Err)
		}
	})
}

// ClusterReport is what Handler serves: this node, and for each hub its
// cluster counters and its broker's own (the bytes the broker server sent
// this node, what it filtered...).
type ClusterReport struct {
	Node   string               `json:"node"`
	Engine string               `json:"engine"`
	Hubs   map[string]HubReport `json:"hubs"`
}

// HubReport is one hub's part of a ClusterReport.
type HubReport struct {
	Hub    hub.ClusterStats `json:"hub"`
	Broker BrokerReport     `json:"broker"`
}

// BrokerReport is what one hub's broker received from its server, in the
// same terms for every engine, with the engine's own counters in Stats.
type BrokerReport struct {
	// ReceivedMsgs and ReceivedBytes count the messages (and their payload
	// bytes) the broker server sent this node for this hub: the traffic
	// per-room interest keeps to what the node's sessions need.
	ReceivedMsgs  uint64 `json:"received_msgs"`
	ReceivedBytes uint64 `json:"received_bytes"`
	// Stats is the engine's Stats (redisbroker.Stats, natsbroker.Stats).
	Stats any `json:"stats"`
}

// Report returns the counters Handler serves.
func (cl *Cluster) Report() ClusterReport {
	r := ClusterReport{Node: cl.NodeID, Engine: cl.Engine, Hubs: make(map[string]HubReport)}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for p, w := range cl.hubs {
		var one HubReport
		if w.h != nil {
			one.Hub = w.h.Stats().Cluster
		}
		if w.stats != nil {
			one.Broker = w.stats()
		}
		r.Hubs[p] = one
	}
	return r
}

// Handler serves Report as JSON, for a look at what each node exchanges
// with the broker (GET /cluster in the examples).
func (cl *Cluster) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(cl.Report())
	})
}

// Close closes the broker connection and stops an embedded NATS server.
// Call it after the hubs have shut down; calling it again does nothing.
func (cl *Cluster) Close() {
	for i := len(cl.closers) - 1; i >= 0; i-- {
		cl.closers[i]()
	}
	cl.closers = nil
}
