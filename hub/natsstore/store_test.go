package natsstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsstore"
)

func ctxWait(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// Each invalid field is refused by name, before any connection is made.
func TestConfigRefusals(t *testing.T) {
	t.Parallel()
	cases := map[string]natsstore.Config{
		"Prefix":         {Prefix: "a..b"},
		"Stream":         {Stream: "a.b"},
		"Storage":        {Storage: jetstream.StorageType(7)},
		"Replicas":       {Replicas: -1},
		"MaxMsgsPerRoom": {MaxMsgsPerRoom: -1},
		"MaxAge":         {MaxAge: time.Millisecond},
		"MaxBytes":       {MaxBytes: -1},
		"Timeout":        {Timeout: -1},
		"ReconnectWait":  {ReconnectWait: -1},
		"MaxCachedRooms": {MaxCachedRooms: -1},
	}
	for field, cfg := range cases {
		t.Run(field, func(t *testing.T) {
			cfg.URL = "nats://127.0.0.1:1" // never dialled
			_, err := natsstore.New(cfg)
			if !errors.Is(err, natsstore.ErrConfig) || !strings.Contains(err.Error(), "Config."+field) {
				t.Fatalf("New with a bad %s = %v", field, err)
			}
		})
	}
	for _, prefix := range []string{"a.*", "a b", strings.Repeat("p", 65), "a.>"} {
		if _, err := natsstore.New(natsstore.Config{Prefix: prefix}); !errors.Is(err, natsstore.ErrConfig) {
			t.Errorf("New with Prefix %q = %v", prefix, err)
		}
	}
}

// No server at the URL: New says so, wrapping ErrServer.
func TestNewWithoutServer(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	url := ts.url()
	ts.Stop()
	_, err := natsstore.New(natsstore.Config{URL: url, Timeout: wait})
	if !errors.Is(err, natsstore.ErrServer) {
		t.Fatalf("New without a server = %v, want ErrServer", err)
	}
}

// A policy beyond the stream's per-room limit, or one that keeps
// nothing, is refused by Append; through a hub, SendToRoom to that room
// fails with nothing sent while other rooms go on.
func TestPolicyRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	st := newStore(t, ts, natsstore.Config{MaxMsgsPerRoom: 50})
	for _, p := range []hub.HistoryPolicy{{Size: 51}, {Size: 0}, {Size: 5, TTL: -1}} {
		if _, err := st.Append(ctxWait(t), "r", hub.Text("x"), p); !errors.Is(err, natsstore.ErrPolicy) {
			t.Errorf("Append with %+v = %v, want ErrPolicy", p, err)
		}
	}
	if _, err := st.Append(ctxWait(t), "r", hub.Text("x"), hub.HistoryPolicy{Size: 50}); err != nil {
		t.Fatalf("Append at the limit: %v", err)
	}

	h, err := hub.New(hub.Config{History: hub.HistoryConfig{
		Policy: func(room string) hub.HistoryPolicy {
			if room == "big" {
				return hub.HistoryPolicy{Size: 51}
			}
			return hub.HistoryPolicy{Size: 10}
		},
		Store: newStore(t, ts, natsstore.Config{MaxMsgsPerRoom: 50}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(ctxWait(t))
	if _, err := h.SendToRoom("big", hub.Text("x")); !errors.Is(err, hub.ErrHistory) || !errors.Is(err, natsstore.ErrPolicy) {
		t.Fatalf("SendToRoom beyond the limit = %v", err)
	}
	if _, err := h.SendToRoom("small", hub.Text("x")); err != nil {
		t.Fatalf("SendToRoom to another room: %v", err)
	}
	if st := h.Stats().History; st.AppendFailed != 1 || st.Appended != 1 {
		t.Fatalf("Appended %d, AppendFailed %d; want 1, 1", st.Appended, st.AppendFailed)
	}
}

// After Close every call fails with ErrClosed, and Close again is nil.
func TestClosed(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	st := newStore(t, ts, natsstore.Config{})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := st.Append(ctxWait(t), "r", hub.Text("x"), hub.HistoryPolicy{Size: 1}); !errors.Is(err, natsstore.ErrClosed) {
		t.Errorf("Append after Close = %v", err)
	}
	if _, err := st.Read(ctxWait(t), "r", hub.Position{}, 1); !errors.Is(err, natsstore.ErrClosed) {
		t.Errorf("Read after Close = %v", err)
	}
}

// While the server is down Append and Read fail (ErrServer) instead of
// waiting or buffering; once it is back (with its store) the room goes on
// where it was.
func TestServerDown(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	st := newStore(t, ts, natsstore.Config{})
	p := hub.HistoryPolicy{Size: 10}
	first, err := st.Append(ctxWait(t), "r", hub.Text("a"), p)
	if err != nil {
		t.Fatal(err)
	}
	ts.Stop()
	// Once the client has noticed the server is gone, calls fail at once
	// (TestConnLost covers a call already waiting when it notices).
	deadline := time.Now().Add(wait)
	for st.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("the store did not notice the server stopped")
		}
		time.Sleep(10 * time.Millisecond) // polling a connection state nats.go does not signal to us
	}
	if _, err := st.Append(ctxWait(t), "r", hub.Text("b"), p); !errors.Is(err, natsstore.ErrServer) {
		t.Errorf("Append while down = %v, want ErrServer", err)
	}
	if _, err := st.Read(ctxWait(t), "r", first, 10); !errors.Is(err, natsstore.ErrServer) {
		t.Errorf("Read while down = %v, want ErrServer", err)
	}
	before := reconnects(st)
	ts.Restart() // start it again on the same port and store
	awaitReconnected(t, before, st)
	pos, err := st.Append(ctxWait(t), "r", hub.Text("c"), p)
	if err != nil || pos != (hub.Position{Epoch: first.Epoch, Offset: 2}) {
		t.Fatalf("Append after the restart = %s, %v; want 2@%s", pos, err, first.Epoch)
	}
	page, err := st.Read(ctxWait(t), "r", first, 10)
	if err != nil || len(page.Entries) != 1 || string(page.Entries[0].Data) != "c" {
		t.Fatalf("Read after the restart = %+v, %v", page, err)
	}
}

// Something else published on a room's subject is not taken for history:
// Read fails with ErrServer (no panic, no made-up position), and other
// rooms are unaffected.
func TestForeignMessage(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	st := newStore(t, ts, natsstore.Config{})
	if _, err := st.Append(ctxWait(t), "ok", hub.Text("x"), hub.HistoryPolicy{Size: 5}); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ts.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.Publish(ctxWait(t), "wsgate.history.odd", []byte("not ours")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Read(ctxWait(t), "odd", hub.Position{}, 5); !errors.Is(err, natsstore.ErrServer) {
		t.Fatalf("Read of a foreign message = %v, want ErrServer", err)
	}
	if _, err := st.Append(ctxWait(t), "odd", hub.Text("x"), hub.HistoryPolicy{Size: 5}); !errors.Is(err, natsstore.ErrServer) {
		t.Fatalf("Append after a foreign message = %v, want ErrServer", err)
	}
	page, err := st.Read(ctxWait(t), "ok", hub.Position{}, 5)
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("Read of another room = %+v, %v", page, err)
	}
}

// Room names with NATS syntax are literals, each on its own subject.
func TestRoomNames(t *testing.T) {
	t.Parallel()
	names := []string{"a.b", "a_2Eb", "*", ">", "a b", "", "é", "lobby", "x.>", strings.Repeat("é", 128)}
	ts := startServer(t)
	st := newStore(t, ts, natsstore.Config{})
	for i, n := range names[:len(names)-1] {
		if n == "" {
			continue
		}
		for range i + 1 {
			if _, err := st.Append(ctxWait(t), n, hub.Text(n), hub.HistoryPolicy{Size: 100}); err != nil {
				t.Fatalf("Append to %q: %v", n, err)
			}
		}
	}
	for i, n := range names[:len(names)-1] {
		if n == "" {
			continue
		}
		page, err := st.Read(ctxWait(t), n, hub.Position{}, 100)
		if err != nil || len(page.Entries) != i+1 || page.Top.Offset != uint64(i+1) {
			t.Fatalf("room %q: %d entries, top %s, %v; want %d", n, len(page.Entries), page.Top, err, i+1)
		}
		for _, e := range page.Entries {
			if string(e.Data) != n {
				t.Fatalf("room %q holds %q", n, e.Data)
			}
		}
	}
}
