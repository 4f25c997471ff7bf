package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsbroker"
	"github.com/wsgate/wsgate/hub/redisbroker"
)

// clusterPrefix names the benchmark's traffic at the broker.
const clusterPrefix = "wsbench"

// nodeBroker is a broker for one node and the count of what its server
// sent it.
type nodeBroker struct {
	hub.Broker
	received func() (msgs, bytes uint64)
	close    func() // the broker's own client, after the hub shut down
}

// newNodeBroker makes the broker for rawURL (redis:// or nats://), with
// per-room interest off when all is set.
func newNodeBroker(rawURL string, all bool) (*nodeBroker, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "redis":
		opts, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		client := redis.NewClient(opts)
		b, err := redisbroker.New(redisbroker.Config{Client: client, Prefix: clusterPrefix, SubscribeAll: all})
		if err != nil {
			client.Close()
			return nil, err
		}
		return &nodeBroker{Broker: b, close: func() { client.Close() }, received: func() (uint64, uint64) {
			s := b.Stats()
			return s.Received, s.ReceivedBytes
		}}, nil
	case "nats":
		b, err := natsbroker.New(natsbroker.Config{URL: rawURL, Prefix: clusterPrefix, SubscribeAll: all, PresenceStorage: jetstream.MemoryStorage})
		if err != nil {
			return nil, err
		}
		return &nodeBroker{Broker: b, close: func() {}, received: func() (uint64, uint64) {
			s := b.Stats()
			return s.InMsgs, s.InBytes
		}}, nil
	}
	return nil, fmt.Errorf("-broker %q: want redis:// or nats://", rawURL)
}

// runClusterNode is one node of the cluster mode: a hub with a broker,
// serving upgrades on every path; a session joins the room named by its
// ?room= query before its first message is read, and every message it
// sends goes to that room, itself included. It prints "listening ADDR",
// then answers on stdin:
//
//	stats  stats recv_msgs=M recv_bytes=B hub_received=R failed=F refused=X dropped=D
//	quit   (shuts down; so does the end of standard input)
//
// recv_msgs and recv_bytes count what the broker server sent this node.
func runClusterNode(ctx context.Context, o options, stdin io.Reader, stdout io.Writer) error {
	nb, err := newNodeBroker(o.cluster.broker, o.cluster.subscribeAll)
	if err != nil {
		return err
	}
	defer nb.close()
	h, err := hub.New(hub.Config{NodeID: o.cluster.nodeID, Broker: nb.Broker, MaxQueuedBytes: 4 << 20})
	if err != nil {
		return err
	}
	room := func(s *hub.Session) string { return s.URL().Query().Get("room") }
	h.OnConnect(func(s *hub.Session) {
		if r := room(s); r != "" {
			h.Join(s.ID(), r) // an error leaves the session without a room: its messages go nowhere, counted by the client
		}
	})
	h.OnMessage(func(s *hub.Session, m hub.Message) {
		if r := room(s); r != "" {
			h.SendToRoom(r, m)
		}
	})
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		h.Shutdown(context.Background())
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := h.Accept(w, r, hub.AcceptOptions{OriginChecked: true})
			if errors.Is(err, hub.ErrFull) || errors.Is(err, hub.ErrShuttingDown) {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
			}
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // cleared on hijack
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		h.Shutdown(sctx) // closes the broker
		<-served
	}()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	lines := readLines(stdin)
	for {
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			served <- err
			return err
		case line, ok = <-lines:
		}
		if !ok {
			return nil
		}
		switch cmd := strings.TrimSpace(line); cmd {
		case "stats":
			msgs, bytes := nb.received()
			st := h.Stats()
			fmt.Fprintf(stdout, "stats recv_msgs=%d recv_bytes=%d hub_received=%d failed=%d refused=%d dropped=%d\n",
				msgs, bytes, st.Cluster.Received, st.Cluster.Failed, st.Cluster.Refused, st.Dropped)
		case "quit":
			return nil
		case "":
		default:
			fmt.Fprintf(stdout, "error unknown command %q\n", cmd)
		}
	}
}
