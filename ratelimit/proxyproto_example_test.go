package ratelimit_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/wsgate/wsgate/ratelimit"
)

// Behind a TCP load balancer that speaks the PROXY protocol (HAProxy,
// AWS NLB, ...), wrap the listener: r.RemoteAddr is then the real client,
// so the limiters need no resolver and no header is trusted. Accept the
// header only from the balancer's address (here the loopback, which plays
// the balancer); connections from anywhere else are dropped.
func Example_proxyProtocol() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	pln := &proxyproto.Listener{
		Listener:          ln,
		ConnPolicy:        proxyproto.TrustProxyHeaderFrom(net.ParseIP("127.0.0.1")),
		ReadHeaderTimeout: 5 * time.Second,
	}
	conns, _ := ratelimit.NewConnLimiter(ratelimit.ConnConfig{PerIP: 10})
	srv := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		Handler: ratelimit.RealIP(nil)(ratelimit.Connections(conns)(http.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) {
				ip, _ := ratelimit.ClientIP(r.Context())
				fmt.Fprint(w, "client ", ip)
			}))),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(pln)
	}()
	defer func() {
		srv.Close()
		<-served
	}()

	// Play the load balancer: a PROXY v1 header, then the client's request.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	client := &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 51234}
	if _, err := proxyproto.HeaderProxyFromAddrs(1, client, ln.Addr()).WriteTo(c); err != nil {
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/ws", nil)
	if err := req.Write(c); err != nil {
		panic(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: client 203.0.113.7
}
