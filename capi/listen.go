package main

import (
	"crypto/tls"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// activation hands the socket inherited through systemd socket activation
// to the first manager that starts; sd_listen_fds(3) describes the
// protocol: LISTEN_PID names the process meant, LISTEN_FDS counts the
// sockets passed from fd 3 on.
var activation struct {
	once sync.Once
	ln   net.Listener
	err  error
}

// inherited returns the activated listener, once per process, or nil when
// the process was not socket-activated.
func inherited() (net.Listener, error) {
	taken := false
	activation.once.Do(func() {
		pid, err1 := strconv.Atoi(os.Getenv("LISTEN_PID"))
		n, err2 := strconv.Atoi(os.Getenv("LISTEN_FDS"))
		if err1 != nil || err2 != nil || pid != os.Getpid() || n < 1 {
			return
		}
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
		f := os.NewFile(3, "LISTEN_FDS socket")
		activation.ln, activation.err = net.FileListener(f)
		f.Close() // FileListener holds a dup
		taken = true
	})
	if !taken {
		return nil, nil
	}
	if activation.err != nil {
		return nil, wrap(codeListen, "inherited socket (LISTEN_FDS)", activation.err)
	}
	return activation.ln, nil
}

// listen opens what start serves on: the inherited socket or host:port,
// behind the PROXY protocol and TLS when configured. It returns the
// listener and its port.
func listen(s settings) (net.Listener, int, error) {
	var cert tls.Certificate
	if s.tlsCert != "" {
		var err error
		cert, err = tls.LoadX509KeyPair(s.tlsCert, s.tlsKey)
		if err != nil {
			return nil, 0, wrap(codeTLS, "loading the TLS certificate and key", err)
		}
	}
	ln, err := inherited()
	if err != nil {
		return nil, 0, err
	}
	if ln == nil {
		ln, err = net.Listen("tcp", net.JoinHostPort(s.host, strconv.Itoa(s.port)))
		if err != nil {
			return nil, 0, wrap(codeListen, "listen", err)
		}
	}
	port := 0
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		port = a.Port
	}
	if s.proxyProtocol {
		ranges := make([]string, len(s.trustedProxies))
		for i, p := range s.trustedProxies {
			ranges[i] = p.String()
		}
		policy, err := proxyproto.TrustProxyHeaderFromRanges(ranges)
		if err != nil {
			ln.Close()
			return nil, 0, wrap(codeConfig, "trusted proxies", err)
		}
		ln = &proxyproto.Listener{Listener: ln, ConnPolicy: policy, ReadHeaderTimeout: 10 * time.Second}
	}
	if s.tlsCert != "" {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	return ln, port, nil
}
