package natsstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/hub/natsstore"
)

// Read finds a room's messages among other rooms' in the stream, however
// unevenly they are interleaved: from every position, a page starts right
// after it, in order; after a trim, positions before what the room keeps
// are lost and those after it are found.
func TestReadInterleaved(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	st := newStore(t, ts, natsstore.Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 300
	var epoch string
	written := 0
	for written < n {
		// Bursts of the room between bursts of up to 20 other messages.
		for range rng.IntN(20) {
			if _, err := st.Append(ctxWait(t), fmt.Sprintf("other-%d", rng.IntN(5)), hub.Text("x"), hub.HistoryPolicy{Size: 1000}); err != nil {
				t.Fatal(err)
			}
		}
		for range 1 + rng.IntN(4) {
			if written == n {
				break
			}
			p, err := st.Append(ctxWait(t), "room", hub.Text(fmt.Sprint(written)), hub.HistoryPolicy{Size: 1000})
			if err != nil {
				t.Fatal(err)
			}
			epoch = p.Epoch
			written++
		}
	}
	for since := 0; since <= n; since++ {
		page, err := st.Read(ctxWait(t), "room", hub.Position{Epoch: epoch, Offset: uint64(since)}, 3)
		if err != nil {
			t.Fatalf("Read from %d: %v", since, err)
		}
		if want := min(3, n-since); len(page.Entries) != want {
			t.Fatalf("Read from %d: %d entries, want %d", since, len(page.Entries), want)
		}
		for k, e := range page.Entries {
			if e.Offset != uint64(since+k+1) || string(e.Data) != fmt.Sprint(since+k) {
				t.Fatalf("Read from %d: entry %d is %s %q", since, k, e.Position, e.Data)
			}
		}
	}

	// A smaller policy: Read keeps to the newest 50.
	if _, err := st.Append(ctxWait(t), "room", hub.Text(fmt.Sprint(n)), hub.HistoryPolicy{Size: 50}); err != nil {
		t.Fatal(err)
	}
	top := uint64(n + 1)
	for _, since := range []uint64{0, 100, top - 51} {
		if _, err := st.Read(ctxWait(t), "room", hub.Position{Epoch: epoch, Offset: since}, 10); !errors.Is(err, hub.ErrPositionLost) {
			t.Fatalf("Read from %d with Size 50 of %d = %v, want ErrPositionLost", since, top, err)
		}
	}
	page, err := st.Read(ctxWait(t), "room", hub.Position{Epoch: epoch, Offset: top - 50}, 100)
	if err != nil || len(page.Entries) != 50 || page.Entries[0].Offset != top-49 {
		t.Fatalf("Read from the oldest kept = %d entries, %v", len(page.Entries), err)
	}
	page, err = st.Read(ctxWait(t), "room", hub.Position{}, 100)
	if err != nil || len(page.Entries) != 50 || page.Entries[0].Offset != top-49 {
		t.Fatalf("Read from no position = %d entries, %v; want the newest 50", len(page.Entries), err)
	}
}
