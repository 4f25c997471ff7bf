// Package chatbaseline is the baseline wsgate's benchmarks compare against:
// the hub of gorilla/websocket's examples/chat, written out here (not
// copied). It is used by hub's benchmarks and by cmd/wsbench.
package chatbaseline

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Hub is the chat example's hub. One hub goroutine owns the client set and is fed through
// register, unregister and broadcast channels; each client has a reader
// goroutine, a writer goroutine and a buffered channel of 256 messages, and
// the writer makes one WriteMessage (one write system call) per message. A
// client whose channel is full is dropped. Beyond the example it counts its
// clients and can be stopped.
type Hub struct {
	upgrader   websocket.Upgrader
	clients    map[*client]bool // owned by run
	broadcast  chan []byte
	register   chan *client
	unregister chan *client
	stop       chan struct{}
	stopped    chan struct{}
	count      atomic.Int64
	pumps      sync.WaitGroup
}

type client struct {
	hub  *Hub
	conn *websocket.Conn
	send chan []byte
}

const (
	chatWriteWait  = 10 * time.Second
	chatPongWait   = 60 * time.Second
	chatPingPeriod = chatPongWait * 9 / 10
	chatMaxMessage = 512
)

// New starts a hub.
func New() *Hub {
	h := &Hub{
		upgrader:   websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024},
		clients:    make(map[*client]bool),
		broadcast:  make(chan []byte),
		register:   make(chan *client),
		unregister: make(chan *client),
		stop:       make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	go h.run()
	return h
}

func (h *Hub) run() {
	defer close(h.stopped)
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
			h.count.Add(1)
		case c := <-h.unregister:
			h.remove(c)
		case m := <-h.broadcast:
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

func (h *Hub) remove(c *client) {
	if h.clients[c] {
		delete(h.clients, c)
		close(c.send)
		h.count.Add(-1)
	}
}

// ServeHTTP upgrades the request and registers the client.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &client{hub: h, conn: conn, send: make(chan []byte, 256)}
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

// Sessions returns the number of registered clients.
func (h *Hub) Sessions() int { return int(h.count.Load()) }

// Broadcast queues p for every client.
func (h *Hub) Broadcast(p []byte) {
	select {
	case h.broadcast <- p:
	case <-h.stop:
	}
}

// Shutdown closes every client and waits, until ctx ends, for their
// goroutines and the hub's.
func (h *Hub) Shutdown(ctx context.Context) {
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

func (c *client) readPump() {
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
		c.hub.Broadcast(message)
	}
}

func (c *client) writePump() {
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
