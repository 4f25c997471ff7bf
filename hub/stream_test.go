package hub

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestNextWriterStreams: each Write reaches the peer before the next one is
// made, the message ends at Close, and a message sent meanwhile follows it.
func TestNextWriterStreams(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	c, s := th.dial(t)
	w, err := s.NextWriter(TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(Text("after")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(waitFor))
	w.Write([]byte("hello "))
	typ, r, err := c.NextReader()
	if err != nil || typ != websocket.TextMessage {
		t.Fatalf("NextReader: %v %v", typ, err)
	}
	got := make([]byte, 6)
	if _, err := io.ReadFull(r, got); err != nil || string(got) != "hello " {
		t.Fatalf("first piece: %q %v", got, err) // it went out before the rest was written
	}
	w.Write([]byte("wor"))
	w.ReadFrom(strings.NewReader("ld"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || string(rest) != "world" {
		t.Fatalf("rest: %q %v", rest, err)
	}
	readText(t, c, "after")
	if n, err := w.Write([]byte("x")); n != 0 || !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("Write after Close: %d %v", n, err)
	}
	// The writer counts a batch after flushing it, so the peer can read
	// "after" a moment before the count moves; and it adds the messages
	// and the bytes one after the other, so a message count that moved
	// does not imply the byte count has. The batch leaves the queue's
	// in-flight count only once both are counted.
	awaitCond(t, "the writer's bookkeeping for the batch", func() bool { n, _ := s.Queued(); return n == 0 })
	if ct := s.Counters(); ct.MessagesSent != 2 || ct.BytesSent != uint64(len("hello world")+len("after")) {
		t.Fatalf("counters %+v", ct)
	}
}

// TestNextWriterFrames: the pieces go out as a first frame and continuation
// frames, split at MaxFrameSize, the last one final; an empty message is one
// empty final frame; streamed messages are not compressed.
func TestNextWriterFrames(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxFrameSize: 4, Compression: Compression{Enabled: true, Threshold: 1}})
	rc, _, s := th.rawDialSession(t, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
	w, err := s.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("abcdefghij"))
	w.Close()
	e, _ := s.NextWriter(TextMessage)
	e.Close()
	want := []struct {
		b0      byte
		payload string
	}{{0x02, "abcd"}, {0x00, "efgh"}, {0x00, "ij"}, {0x80, ""}, {0x81, ""}}
	for i, f := range want {
		b0, p, err := rc.readFrame()
		if err != nil || b0 != f.b0 || string(p) != f.payload {
			t.Fatalf("frame %d: %#x %q %v, want %#x %q", i, b0, p, err, f.b0, f.payload)
		}
	}
}

// TestNextWriterCutByClose: a session closed in the middle of a streamed
// message sends its close frame there (RFC 6455 5.4 allows a control frame
// between fragments), and the producer's next Write fails.
func TestNextWriterCutByClose(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	rc, _, s := th.rawDialSession(t, "")
	w, err := s.NextWriter(TextMessage)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("part"))
	if b0, p, err := rc.readFrame(); err != nil || b0 != 0x01 || string(p) != "part" {
		t.Fatalf("first frame %#x %q %v", b0, p, err)
	}
	s.Close(CloseGoingAway, "bye")
	if code, err := rc.readClose(); err != nil || code != CloseGoingAway {
		t.Fatalf("close %d %v", code, err)
	}
	deadline := time.Now().Add(waitFor)
	for {
		_, err := w.Write(bytes.Repeat([]byte("x"), 1024))
		if errors.Is(err, ErrClosed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Write after the close: %v", err)
		}
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.NextWriter(TextMessage); !errors.Is(err, ErrClosed) {
		t.Fatalf("NextWriter on a closing session: %v", err)
	}
	if _, err := s.NextWriter(MessageType(9)); err == nil {
		t.Fatal("NextWriter accepted a control type")
	}
}

// TestNextWriterBackpressure: a producer faster than the peer is held at
// streamWindow bytes not yet taken, and the whole message arrives.
func TestNextWriterBackpressure(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1})
	c, s := th.dial(t)
	w, err := s.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	const total = 4 << 20
	done := make(chan error, 1)
	go func() {
		piece := bytes.Repeat([]byte{7}, 10_000)
		for n := 0; n < total; n += len(piece) {
			if _, err := w.Write(piece[:min(len(piece), total-n)]); err != nil {
				done <- err
				return
			}
			w.st.mu.Lock()
			pending := w.st.pending
			w.st.mu.Unlock()
			if pending > streamWindow {
				done <- errors.New("more than streamWindow pending")
				return
			}
		}
		done <- w.Close()
	}()
	c.SetReadDeadline(time.Now().Add(waitFor))
	_, r, err := c.NextReader()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != total {
		t.Fatalf("read %d bytes (%v), want %d", n, err, total)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestNextWriterRefusedByQueue: on a session whose queue is full, NextWriter
// refuses with ErrQueueFull (DropNewest), and a streamed message still
// waiting in the queue that DropOldest drops makes its Write fail with
// ErrQueueFull; the session itself carries on.
func TestNextWriterRefusedByQueue(t *testing.T) {
	t.Parallel()
	for _, policy := range []SlowPolicy{DropNewest, DropOldest} {
		t.Run(policy.String(), func(t *testing.T) {
			th := newTestHub(t, Config{PingInterval: -1, MaxQueuedMessages: 3, SlowPolicy: policy})
			th.onConnect(func(s *Session) { shrinkSendBuffer(t, s) })
			_, s := th.dialWith(t, stalledDialer(), nil) // never reads
			// A message the stalled peer cannot take holds the writer.
			if err := s.Send(Binary(make([]byte, 512<<10))); err != nil {
				t.Fatal(err)
			}
			w, err := s.NextWriter(TextMessage)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("queued behind"))
			if policy == DropNewest {
				s.Send(Text("fills the queue"))
				if _, err := s.NextWriter(TextMessage); !errors.Is(err, ErrQueueFull) {
					t.Fatalf("NextWriter on a full queue: %v", err)
				}
				return
			}
			for i := 0; ; i++ {
				if err := s.Send(Text("newer")); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write([]byte("more")); errors.Is(err, ErrQueueFull) {
					break
				} else if err != nil || i == 10 {
					t.Fatalf("Write after %d newer messages: %v", i+1, err)
				}
			}
			if err := s.Err(); err != nil {
				t.Fatalf("the session ended: %v", err)
			}
		})
	}
}

// TestNextWriterDroppedWhileWaiting: a producer held at the window by a
// streamed message that DropOldest then drops from the queue is let go at
// once with ErrQueueFull, while the session carries on.
func TestNextWriterDroppedWhileWaiting(t *testing.T) {
	t.Parallel()
	th := newTestHub(t, Config{PingInterval: -1, MaxQueuedMessages: 3, MaxQueuedBytes: 64 << 20, SlowPolicy: DropOldest})
	th.onConnect(func(s *Session) { shrinkSendBuffer(t, s) })
	_, s := th.dialWith(t, stalledDialer(), nil) // never reads
	// A message far larger than the socket buffers holds the writer for
	// good, so the stream stays in the queue.
	if err := s.Send(Binary(make([]byte, 8<<20))); err != nil {
		t.Fatal(err)
	}
	awaitCond(t, "the writer to take the large message", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.inflight == 1
	})
	w, err := s.NextWriter(BinaryMessage)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	queued := len(s.queue)
	s.mu.Unlock()
	if queued != 1 {
		t.Fatalf("%d messages queued behind the writer, want the stream", queued)
	}
	done := make(chan error, 1)
	go func() { // more than the window: waits for a writer that never comes
		_, err := w.Write(make([]byte, streamWindow+1))
		done <- err
	}()
	awaitCond(t, "the producer to fill the window", func() bool {
		w.st.mu.Lock()
		defer w.st.mu.Unlock()
		return w.st.pending == streamWindow
	})
	for range 3 { // enough newer messages to drop the stream
		if err := s.Send(Text("newer")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Write = %v, want ErrQueueFull", err)
		}
	case <-time.After(waitFor):
		t.Fatal("the producer still waits for a stream dropped from the queue")
	}
	if err := s.Err(); err != nil {
		t.Fatalf("the session ended: %v", err)
	}
}
