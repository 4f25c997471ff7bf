package redisstore

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/internal/redistest"
)

// seedRoom writes a room as Append would have, with chosen append times:
// offsets 1 to n, the first expired of them appended an hour before the
// server's now, the others at now; its TTL is a minute.
func seedRoom(t *testing.T, client *redis.Client, st *Store, room string, n, expired int) (epoch string) {
	t.Helper()
	ctx := ctxT(t)
	now, err := client.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	s, m := st.keys(room)[0], st.keys(room)[1]
	pipe := client.TxPipeline()
	for off := 1; off <= n; off++ {
		at := now.UnixMilli()
		if off <= expired {
			at -= time.Hour.Milliseconds()
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: s, ID: strconv.Itoa(off) + "-0", Values: []any{"t", int(hub.TextMessage), "d", "m" + strconv.Itoa(off), "a", at}})
	}
	pipe.HSet(ctx, m, "e", "seeded", "o", n, "a", now.UnixMilli(), "t", time.Minute.Milliseconds(), "n", 100_000)
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	return "seeded"
}

// The expired head is found by a binary search wherever it ends, cut off
// the stream (XTRIM MINID), and a position inside it is lost while one at
// its end continues; when everything expired, the stream goes.
func TestTrimExpiredHead(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	st := newStore(t, client, "")
	const n = 200
	for _, expired := range []int{0, 1, 2, 99, 100, 137, 198, 199, n} {
		t.Run(strconv.Itoa(expired), func(t *testing.T) {
			room := "x" + strconv.Itoa(expired)
			epoch := seedRoom(t, client, st, room, n, expired)
			ctx := ctxT(t)
			page, err := st.Read(ctx, room, hub.Position{}, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Entries) != n-expired || page.Top != (hub.Position{Epoch: epoch, Offset: n}) {
				t.Fatalf("read %d entries, Top %s; want %d, %d@%s", len(page.Entries), page.Top, n-expired, n, epoch)
			}
			for i, e := range page.Entries {
				if off := uint64(expired + 1 + i); e.Offset != off || string(e.Data) != "m"+strconv.Itoa(int(off)) {
					t.Fatalf("entry %d = %s %q, want offset %d", i, e.Position, e.Data, off)
				}
			}
			if l, err := client.XLen(ctx, st.keys(room)[0]).Result(); err != nil || l != int64(n-expired) {
				t.Fatalf("stream holds %d, %v; want the %d live ones", l, err, n-expired)
			}
			if expired > 0 {
				_, err := st.Read(ctx, room, hub.Position{Epoch: epoch, Offset: uint64(expired - 1)}, 1)
				if !errors.Is(err, hub.ErrPositionLost) {
					t.Fatalf("Read from inside the expired head = %v, want ErrPositionLost", err)
				}
			}
			page, err = st.Read(ctx, room, hub.Position{Epoch: epoch, Offset: uint64(expired)}, 1)
			if err != nil || (expired < n && (len(page.Entries) != 1 || page.Entries[0].Offset != uint64(expired+1))) {
				t.Fatalf("Read from the end of the expired head = %+v, %v", page.Entries, err)
			}
		})
	}
}

// What a room keeps in Redis is bounded by its policy: the stream by
// about Size (MAXLEN ~ trims whole stream nodes of 100 entries), a room
// with a TTL by key expiry once its newest message expired, and the hash
// of a room only read by a 24-hour expiry.
func TestKeysBounded(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	st := newStore(t, client, "")
	ctx := ctxT(t)
	for i := range 1000 {
		if _, err := st.Append(ctx, "size", hub.Text(strconv.Itoa(i)), hub.HistoryPolicy{Size: 10}); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := client.XLen(ctx, st.keys("size")[0]).Result(); err != nil || l < 10 || l > 10+100 {
		t.Fatalf("Size 10 after 1000 appends: the stream holds %d, %v", l, err)
	}
	page, err := st.Read(ctx, "size", hub.Position{}, 1000)
	if err != nil || len(page.Entries) != 10 || page.Entries[0].Offset != 991 {
		t.Fatalf("Read serves %d entries from %v, %v; want exactly the newest 10", len(page.Entries), page.Entries[0].Position, err)
	}

	if _, err := st.Append(ctx, "ttl", hub.Text("x"), hub.HistoryPolicy{Size: 10, TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	for _, k := range st.keys("ttl") {
		if d, err := client.PTTL(ctx, k).Result(); err != nil || d <= 0 || d > time.Minute {
			t.Fatalf("%s expires in %v, %v; want within the TTL", k, d, err)
		}
	}
	// A later Append without TTL keeps the room for good.
	if _, err := st.Append(ctx, "ttl", hub.Text("y"), hub.HistoryPolicy{Size: 10}); err != nil {
		t.Fatal(err)
	}
	for _, k := range st.keys("ttl") {
		if d, err := client.PTTL(ctx, k).Result(); err != nil || d != -1 {
			t.Fatalf("%s expires in %v, %v; want no expiry", k, d, err)
		}
	}

	if _, err := st.Read(ctx, "quiet", hub.Position{}, 0); err != nil {
		t.Fatal(err)
	}
	if d, err := client.PTTL(ctx, st.keys("quiet")[1]).Result(); err != nil || d <= 0 || d > emptyRoomTTL {
		t.Fatalf("hash of a room only read expires in %v, %v; want within %v", d, err, emptyRoomTTL)
	}
	if n, err := client.Exists(ctx, st.keys("quiet")[0]).Result(); err != nil || n != 0 {
		t.Fatalf("a room only read has a stream: %d, %v", n, err)
	}
}
