package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

// New refuses a bad Config and names the field.
func TestNewRefuses(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { client.Close() })
	cases := map[string]Config{
		"Client":       {},
		"Prefix long":  {Client: client, Prefix: strings.Repeat("p", 65)},
		"Prefix space": {Client: client, Prefix: "a b"},
		"Prefix ctrl":  {Client: client, Prefix: "a\nb"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			field := strings.Fields(name)[0]
			st, err := New(cfg)
			if st != nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), field) {
				t.Fatalf("New = %v, %v; want ErrConfig naming %s", st, err, field)
			}
		})
	}
	if _, err := New(Config{Client: client, Prefix: strings.Repeat("p", 64)}); err != nil {
		t.Fatalf("New with a 64-byte prefix: %v", err)
	}
}

// Bad calls are refused before Redis is asked, with an error wrapping
// hub.ErrHistory; the room is untouched and other rooms keep working.
func TestRefusals(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, newClient(t, srv), "")
	ctx := ctxT(t)
	if _, err := st.Append(ctx, "r", hub.Text("first"), hub.HistoryPolicy{Size: 10}); err != nil {
		t.Fatal(err)
	}
	policies := map[string]hub.HistoryPolicy{
		"zero size":     {},
		"negative size": {Size: -1},
		"size too big":  {Size: 1<<20 + 1},
		"negative TTL":  {Size: 10, TTL: -time.Second},
	}
	for name, p := range policies {
		if pos, err := st.Append(ctx, "r", hub.Text("bad"), p); !errors.Is(err, hub.ErrHistory) || pos != (hub.Position{}) {
			t.Errorf("Append with %s = %s, %v; want ErrHistory", name, pos, err)
		}
	}
	if _, err := st.Append(ctx, "r", hub.Message{Type: 9, Data: []byte("x")}, hub.HistoryPolicy{Size: 10}); !errors.Is(err, hub.ErrHistory) {
		t.Errorf("Append of type 9 = %v; want ErrHistory", err)
	}
	if _, err := st.Read(ctx, "r", hub.Position{}, -1); !errors.Is(err, hub.ErrHistory) {
		t.Errorf("Read with limit -1 = %v; want ErrHistory", err)
	}
	page, err := st.Read(ctx, "r", hub.Position{}, 10)
	if err != nil || len(page.Entries) != 1 || string(page.Entries[0].Data) != "first" || page.Top.Offset != 1 {
		t.Fatalf("after refusals the room holds %+v, %v; want only the first message", page, err)
	}
	if p, err := st.Append(ctx, "r", hub.Text("second"), hub.HistoryPolicy{Size: 10}); err != nil || p.Offset != 2 {
		t.Fatalf("Append after refusals = %s, %v; want offset 2", p, err)
	}
}

// A room's key overwritten by something else is an error wrapping
// ErrReply or Redis's own, never a position.
func TestForeignKey(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	st := newStore(t, client, "")
	ctx := ctxT(t)
	s, m := st.keys("r")[0], st.keys("r")[1]
	if err := client.Set(ctx, m, "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if p, err := st.Append(ctx, "r", hub.Text("x"), hub.HistoryPolicy{Size: 10}); err == nil {
		t.Fatalf("Append over a string key = %s, want an error", p)
	}
	if err := client.Del(ctx, m).Err(); err != nil {
		t.Fatal(err)
	}
	p, err := st.Append(ctx, "r", hub.Text("x"), hub.HistoryPolicy{Size: 10})
	if err != nil || p.Offset != 1 {
		t.Fatalf("Append once the key is gone = %s, %v", p, err)
	}
	if n, err := client.Exists(ctx, s).Result(); err != nil || n != 1 {
		t.Fatalf("stream %s exists = %d, %v", s, n, err)
	}
}

// Keys live under the prefix, a room's two keys on one hash slot
// whatever braces the room's name holds.
func TestKeys(t *testing.T) {
	st := &Store{prefix: "app"}
	for _, room := range []string{"lobby", "a}b", "{x}", "a{b", "ünï"} {
		k := st.keys(room)
		if !strings.HasPrefix(k[0], "app:history:") || !strings.HasPrefix(k[1], "app:history:") {
			t.Fatalf("keys %v not under the prefix", k)
		}
		if a, b := hashTag(k[0]), hashTag(k[1]); a != b {
			t.Fatalf("room %q: keys %v hash %q and %q", room, k, a, b)
		}
	}
}

// hashTag returns the part of key Redis Cluster hashes to a slot.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}
