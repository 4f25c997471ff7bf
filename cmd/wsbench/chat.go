package main

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// chatServer is the baseline: the hub of gorilla/websocket's examples/chat,
// rewritten here. One hub goroutine owns the client set and is fed through
// register, unregister and broadcast channels; each client has a reader
// goroutine, a writer goroutine and a buffered channel of 256 messages, and
// the writer makes one WriteMessage (one write system call) per message. A
// client whose channel is full is dropped. Beyond the example it counts its
// clients and can be stopped.
type chatServer struct {
	upgrader   websocket.Upgrader
	clients    map[*chatClient]bool // owned by run
	broadcastC chan []byte
	register   chan *chatClient
	unregister chan *chatClient
	stop       chan struct{}
	stopped    chan struct{}
	count      atomic.Int64
	pumps      sync.WaitGroup
}

type chatClient struct {
	hub  *chatServer
	conn *websocket.Conn
	send chan []byte
}

const (
	chatWriteWait  = 10 * time.Second
	chatPongWait   = 60 * time.Second
	chatPingPeriod = chatPongWait * 9 / 10
	chatMaxMessage = 512
)

func newChatServer() *chatServer {
	h := &chatServer{
		upgrader:   websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024},
		clients:    make(map[*chatClient]bool),
		broadcastC: make(chan []byte),
		register:   make(chan *chatClient),
		unregister: make(chan *chatClient),
		stop:       make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	go h.run()
	return h
}

func (h *chatServer) run() {
	defer close(h.stopped)
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
			h.count.Add(1)
		case c := <-h.unregister:
			h.remove(c)
		case m := <-h.broadcastC:
			for c := range h.clients {
				select {
				case c.send <- m:
				default:
					h.remove(c)
				}
			}
		case <-h.stop:
			for c := range h.clients {
				h.remove(c)
			}
			return
		}
	}
}

func (h *chatServer) remove(c *chatClient) {
	if h.clients[c] {
		delete(h.clients, c)
		close(c.send)
		h.count.Add(-1)
	}
}

func (h *chatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &chatClient{hub: h, conn: conn, send: make(chan []byte, 256)}
	select {
	case h.register <- c:
	case <-h.stop:
		conn.Close()
		return
	}
	h.pumps.Add(2)
	go c.writePump()
	go c.readPump()
}

func (h *chatServer) sessions() int { return int(h.count.Load()) }

func (h *chatServer) broadcast(p []byte) {
	select {
	case h.broadcastC <- p:
	case <-h.stop:
	}
}

// shutdown closes every client and waits for their pumps and the hub.
func (h *chatServer) shutdown(ctx context.Context) {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.stopped // the hub closed every send channel: the writers close the connections
	done := make(chan struct{})
	go func() { h.pumps.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (c *chatClient) readPump() {
	defer func() {
		select {
		case c.hub.unregister <- c:
		case <-c.hub.stop:
		}
		c.conn.Close()
		c.hub.pumps.Done()
	}()
	c.conn.SetReadLimit(chatMaxMessage)
	c.conn.SetReadDeadline(time.Now().Add(chatPongWait))
	c.conn.SetPongHandler(func(string) error { c.conn.SetReadDeadline(time.Now().Add(chatPongWait)); return nil })
	for {
		_, message, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		c.hub.broadcast(message)
	}
}

func (c *chatClient) writePump() {
	ticker := time.NewTicker(chatPingPeriod)
	defer func() {
		ticker.Stop()
		c.conn.Close()
		c.hub.pumps.Done()
	}()
	for {
		select {
		case message, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(chatWriteWait))
			if !ok {
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			if err := c.conn.WriteMessage(websocket.TextMessage, message); err != nil {
				return
			}
		case <-ticker.C:
			c.conn.SetWriteDeadline(time.Now().Add(chatWriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}
