// Package chatbaseline is the baseline wsgate's benchmarks compare against:
// the hub of gorilla/websocket's examples/chat, written out here (not
// copied), with the write batching the example has. It is used by hub's
// benchmarks and by cmd/wsbench, together with the stamped payloads of
// stamp.go.
package chatbaseline

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Reply says what the hub does with a message a client sends.
type Reply int

const (
	// Broadcast sends it to every client, as the chat example does.
	Broadcast Reply = iota
	// EchoQueued sends it back to its sender alone through the sender's
	// write pump: the chat example's architecture, where only the write
	// pump writes data, answering a request.
	EchoQueued
	// EchoInline sends it back to its sender from the reader goroutine, as
	// gorilla's examples/echo does: no hand-off to another goroutine, the
	// fastest request/response gorilla/websocket can do. The write pump
	// and the reader share a per-client write lock.
	EchoInline
)

// Hub is the chat example's hub. One hub goroutine owns the client set and
// is fed through register, unregister and broadcast channels; each client
// has a reader goroutine, a writer goroutine and a buffered channel of 256
// messages. Like the example, the writer takes a message and every message
// queued behind it and writes them as one text message, separated by
// newlines, through one NextWriter (so one write system call per 1 KiB
// write buffer, not per message). A client whose channel is full is
// dropped. Beyond the example it counts its clients, can answer requests
// (see Reply) and can be stopped.
type Hub struct {
	upgrader   websocket.Upgrader
	reply      Reply
	clients    map[*client]bool // owned by run
	broadcast  chan []byte
	register   chan *client
	unregister chan *client
	stop       chan struct{}
	stopOnce   sync.Once
	stopped    chan struct{}
	count      atomic.Int64
	pumps      sync.WaitGroup
	// registered, if not nil, is called by run with each new client (tests).
	registered func(*client)
}

type client struct {
	hub  *Hub
	conn *websocket.Conn
	// wmu serialises writes to conn between the write pump and, with
	// EchoInline, the reader.
	wmu sync.Mutex
	// mu guards closed and sending on send: the hub goroutine closes send
	// while, with EchoQueued, the reader may be queueing a reply.
	mu     sync.Mutex
	closed bool
	send   chan []byte
}

const (
	chatWriteWait  = 10 * time.Second
	chatPongWait   = 60 * time.Second
	chatPingPeriod = chatPongWait * 9 / 10
	chatMaxMessage = 512
	chatQueue      = 256
)

var newline = []byte{'\n'}

// New starts a hub that does reply with every message a client sends.
func New(reply Reply) *Hub { return newHub(reply, nil) }

func newHub(reply Reply, registered func(*client)) *Hub {
	h := &Hub{
		registered: registered,
		upgrader:   websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024},
		reply:      reply,
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
			if h.registered != nil {
				h.registered(c)
			}
		case c := <-h.unregister:
			h.remove(c)
		case m := <-h.broadcast:
			for c := range h.clients {
				if !c.queue(m) {
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
		c.mu.Lock()
		c.closed = true
		close(c.send)
		c.mu.Unlock()
		h.count.Add(-1)
	}
}

// queue puts m on c's channel without waiting; false if the channel is full
// (the client is too slow and must go). A closed client takes nothing.
func (c *client) queue(m []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return true
	}
	select {
	case c.send <- m:
		return true
	default:
		return false
	}
}

// ServeHTTP upgrades the request and registers the client.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &client{hub: h, conn: conn, send: make(chan []byte, chatQueue)}
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
	h.stopOnce.Do(func() { close(h.stop) })
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
		switch c.hub.reply {
		case EchoQueued:
			if !c.queue(message) {
				return // too slow to take its own replies: unregister
			}
		case EchoInline:
			c.wmu.Lock()
			c.conn.SetWriteDeadline(time.Now().Add(chatWriteWait))
			err := c.conn.WriteMessage(websocket.TextMessage, message)
			c.wmu.Unlock()
			if err != nil {
				return
			}
		default:
			c.hub.Broadcast(message)
		}
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
			c.wmu.Lock()
			err := c.write(message, ok)
			c.wmu.Unlock()
			if err != nil || !ok {
				return
			}
		case <-ticker.C:
			c.wmu.Lock()
			c.conn.SetWriteDeadline(time.Now().Add(chatWriteWait))
			err := c.conn.WriteMessage(websocket.PingMessage, nil)
			c.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// write sends first and every message queued behind it as one text
// message, newline-separated, as the chat example does; with !ok (the hub
// closed the channel) it sends a close frame instead.
func (c *client) write(first []byte, ok bool) error {
	c.conn.SetWriteDeadline(time.Now().Add(chatWriteWait))
	if !ok {
		return c.conn.WriteMessage(websocket.CloseMessage, []byte{})
	}
	w, err := c.conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	w.Write(first)
	for range len(c.send) {
		m, ok := <-c.send
		if !ok {
			break
		}
		w.Write(newline)
		w.Write(m)
	}
	return w.Close()
}
