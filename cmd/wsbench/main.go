package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// options are the command-line flags.
type options struct {
	mode    string
	impl    string
	addr    string
	conns   int
	dialers int
	timeout time.Duration
	ping    time.Duration  // the wsgate server's PingInterval; 0: the hub's default
	cluster clusterOptions // node and cluster modes (cluster.go)
}

var errUsage = errors.New("wsbench: bad usage")

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("wsbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.mode, "mode", "", "server, client, measure, node or cluster")
	fs.StringVar(&o.impl, "impl", "wsgate", "server implementation: wsgate, gorilla or gorilla-inline (server and measure modes)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to listen on (server) or dial (client); loopback only")
	fs.IntVar(&o.conns, "conns", 1000, "connections to open (client and measure modes)")
	fs.IntVar(&o.dialers, "dialers", 32, "connections dialed at once (client mode)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "exit after this long whatever happens")
	fs.DurationVar(&o.ping, "ping", 0, "the wsgate server's keep-alive PingInterval; measure mode waits three of them before measuring (server and measure modes; 0: the hub's default, 25s)")
	o.cluster.register(fs)
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	switch {
	case o.mode != "server" && o.mode != "client" && o.mode != "measure" && o.mode != "node" && o.mode != "cluster":
		return o, fmt.Errorf("%w: -mode must be server, client, measure, node or cluster", errUsage)
	case o.impl != "wsgate" && o.impl != "gorilla" && o.impl != "gorilla-inline":
		return o, fmt.Errorf("%w: -impl must be wsgate, gorilla or gorilla-inline", errUsage)
	case o.conns < 1:
		return o, fmt.Errorf("%w: -conns must be positive", errUsage)
	case o.dialers < 1:
		return o, fmt.Errorf("%w: -dialers must be positive", errUsage)
	case o.ping < 0:
		return o, fmt.Errorf("%w: -ping must not be negative", errUsage)
	case o.timeout <= 0:
		return o, fmt.Errorf("%w: -timeout must be positive", errUsage)
	}
	if err := checkLoopback(o.addr); err != nil {
		return o, fmt.Errorf("%w: -addr: %v", errUsage, err)
	}
	if err := o.cluster.check(o.mode); err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	return o, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch o.mode {
	case "server":
		err = runServer(ctx, o, stdin, stdout)
	case "client":
		err = runClient(ctx, o, stdin, stdout)
	case "measure":
		err = runMeasure(ctx, o, stdout, stderr)
	case "node":
		err = runClusterNode(ctx, o, stdin, stdout)
	case "cluster":
		err = runCluster(ctx, o, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "wsbench:", err)
		return 1
	}
	return 0
}
