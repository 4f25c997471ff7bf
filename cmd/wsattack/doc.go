// Command wsattack replays, against a WebSocket server it starts itself on
// loopback, the attacks that the HTTP server settings and the hub's close
// handshake must survive, and reports each as ok or FAIL:
//
//	header    a request header over the server's MaxHeaderBytes gets 431
//	idle      keep-alive connections left idle after one GET (some after
//	          sending the first bytes of a second request) are closed by
//	          the server within its IdleTimeout
//	message   a client that keeps writing an oversized message reads the
//	          server's close 1009 (not a reset that loses the close frame)
//	bodyless  a POST that declares a body and never sends it does not stall
//	          graceful shutdown: on SIGTERM an open session reads close
//	          1001, the server reports it drained with none forced, closes
//	          the stuck connection and exits within its shutdown budget
//
// Usage:
//
//	wsattack [-ws-path /ws] [-header 'Authorization: Bearer TOKEN']
//		[-idle-conns 50] [-idle-timeout 1s] [-shutdown-timeout 3s]
//		[-header-size 131072] [-message-size 1048576] [-rounds 1]
//		[-grace 10s] [-timeout 2m] [-cases header,idle,message,bodyless]
//		-- PROGRAM ARGS...
//
// PROGRAM is started with ARGS and must print "listening on ADDR" (or
// http://ADDR) on stdout, listen on a loopback address and shut down
// gracefully on SIGTERM, printing "shutdown: N sessions drained, M forced"
// per hub, as every wsgate example does. -idle-timeout and
// -shutdown-timeout state what the program was configured with; every
// bound wsattack checks is that value plus -grace. For example:
//
//	go build -o /tmp/echo ./examples/echo
//	wsattack -ws-path /echo -idle-timeout 1s -shutdown-timeout 3s -- \
//		/tmp/echo -addr 127.0.0.1:0 -idle-timeout 1s -shutdown-timeout 3s -max-message 65536
//
// bodyless stops the program and checks how its sessions ended, so it runs
// last, on a fresh start of the program: a session an earlier case left
// closing (the oversized message's, which cannot answer the close) would
// otherwise be counted as forced. Everything wsattack opens is
// bounded in count (-idle-conns, -rounds) and time (-timeout); it exits 1
// if any case failed. Its test (go test ./cmd/wsattack) runs a quick pass
// against the echo example, and with -attack the full replay against the
// echo, chat, chi and echorouter examples.
package main
