package redisstore

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor bounds every wait for an event: a failure bound, never an
// expected duration.
const waitFor = 20 * time.Second

// newClient returns a client of srv, closed when the test ends.
func newClient(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

// newStore returns a Store on client with the given prefix.
func newStore(t testing.TB, client redis.UniversalClient, prefix string) *Store {
	t.Helper()
	st, err := New(Config{Client: client, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
