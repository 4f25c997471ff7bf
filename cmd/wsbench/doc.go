// Command wsbench is a load and memory tool for wsgate's hub, with a plain
// gorilla/websocket chat-example hub as the baseline. It runs in one of three
// modes; every connection it makes or accepts is on loopback, and every mode
// stops by itself after -timeout.
//
// Server mode serves WebSocket upgrades on every path with one
// implementation and prints "listening ADDR" once it accepts:
//
//	wsbench -mode server -impl wsgate -addr 127.0.0.1:0
//
// The implementations are wsgate (a default hub), gorilla (the chat
// example's hub of internal/chatbaseline, whose write pump joins queued
// messages with newlines) and gorilla-inline (the same, but replying from
// the reader goroutine). Each sends every message a client sends back to
// that client.
//
// It then answers commands read from standard input, one per line:
//
//	sessions     sessions N
//	stats        stats rss=B rss_gc=B heap_inuse=B stack_inuse=B sessions=N goroutines=N
//	broadcast K  broadcast K (K 64-byte text messages broadcast to every session,
//	             each stamped with the time it was published)
//	quit         (exits; so does the end of standard input)
//
// rss is VmRSS from /proc/self/status as it is; rss_gc is VmRSS again after
// a garbage collection that returns free memory to the operating system.
//
// Client mode dials -conns idle connections and counts what each receives:
//
//	wsbench -mode client -addr 127.0.0.1:PORT -conns 10000
//
// It prints "ready N" once every connection is open, then answers:
//
//	count    count total=T min=A max=B closed=C
//	wait T   ok T (every connection has received at least T messages),
//	         short T count… (every connection did or closed first),
//	         or timeout T count… (after a minute)
//	latency  latency n=N p50_ns=A p99_ns=B max_ns=C: receipt time minus
//	         stamped time of every stamped message received since the last
//	         "latency"
//	echo N   echo rt=N ns=E n=N p50_ns=A p99_ns=B max_ns=C: N round trips
//	         spread over the connections, each sending a stamped request as
//	         soon as the reply to its previous one arrives; E is the time
//	         from the first request to the last reply, the percentiles are
//	         of the round trips; or "error echo: …"
//	cpu      cpu ns=N (user plus system CPU time of this process)
//	quit     (closes every connection and exits; so does the end of standard input)
//
// A message counts once per newline-separated line, because the chat
// baseline sends the messages queued for a client as one message, joined
// with newlines; an echo reply is not counted.
//
// Measure mode starts a server and a client as child processes and prints
// the server's memory per idle session:
//
//	wsbench -mode measure -impl gorilla -conns 10000
//
// The result is one line of key=value pairs, for example
//
//	result impl=gorilla conns=10000 rss_per_conn=20480 rss_gc_per_conn=... heap_stack_per_conn=... goroutines_per_conn=2
//
// where each figure is (value with N connections − value before any) / N.
// The server process needs one file descriptor per connection and the
// client process another, so each stays within a 20,000 descriptor limit up
// to about 19,900 connections.
//
// Cluster mode measures hubs spread over node processes (node mode) that
// share a Redis or NATS broker, with per-room interest on and off; see
// runCluster in cluster.go and BENCHMARKS.md's "Cluster" section:
//
//	wsbench -mode cluster -engines redis,nats -nodes 2,4,10 -runs 3 -timeout 30m
package main
