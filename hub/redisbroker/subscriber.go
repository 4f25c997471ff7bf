package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// subKind is the Redis command family of a subscription.
type subKind uint8

const (
	plainSub   subKind = iota // SUBSCRIBE / PUBLISH
	patternSub                // PSUBSCRIBE (topic patterns)
	shardSub                  // SSUBSCRIBE / SPUBLISH
)

// subKey is one Redis subscription: a channel or a glob.
type subKey struct {
	kind subKind
	name string
}

// waitKey is what a caller waits for: the server's reply to its subscribe
// or unsubscribe of key.
type waitKey struct {
	subKey
	unsub bool
}

// replyKey returns the waitKey a server reply of the given kind confirms.
func replyKey(kind, name string) (waitKey, bool) {
	switch kind {
	case "subscribe":
		return waitKey{subKey{plainSub, name}, false}, true
	case "psubscribe":
		return waitKey{subKey{patternSub, name}, false}, true
	case "ssubscribe":
		return waitKey{subKey{shardSub, name}, false}, true
	case "unsubscribe":
		return waitKey{subKey{plainSub, name}, true}, true
	case "punsubscribe":
		return waitKey{subKey{patternSub, name}, true}, true
	case "sunsubscribe":
		return waitKey{subKey{shardSub, name}, true}, true
	}
	return waitKey{}, false
}

// connState is where a subscriber's connection stands.
type connState uint8

const (
	connecting connState = iota // never connected yet
	up                          // connected, every wanted subscription confirmed once
	down                        // lost after being up; reconnecting
)

// subscriber is one Redis pub/sub connection and the goroutine that reads
// it. The goroutine owns the connection's life: it makes a fresh
// redis.PubSub for each connection, writes every wanted subscription, sends
// a PING whose answer (after every subscription reply) marks the connection
// up, reads until the connection fails or stays silent past the health
// check, and then starts over with a backoff. Callers subscribe on the
// current connection and wait for the server's reply, which the goroutine
// hands them through waiters.
type subscriber struct {
	b         *Broker
	newPubSub func(ctx context.Context) *redis.PubSub

	// mu guards the fields below. It is never held during network I/O or
	// while calling the host.
	mu      sync.Mutex
	state   connState
	closed  bool
	ps      *redis.PubSub // the current connection; nil between connections
	upCh    chan struct{} // closed when state becomes up
	want    map[subKey]struct{}
	waiters map[waitKey][]chan error
	lastErr error // why the last connection ended, for Start's error
}

func newSubscriber(b *Broker, newPubSub func(context.Context) *redis.PubSub) *subscriber {
	return &subscriber{
		b:         b,
		newPubSub: newPubSub,
		upCh:      make(chan struct{}),
		want:      make(map[subKey]struct{}),
		waiters:   make(map[waitKey][]chan error),
	}
}

// start runs the subscriber's goroutine, owned by the broker's WaitGroup.
func (s *subscriber) start() {
	s.b.wg.Add(1)
	go s.run()
}

// ready returns a channel closed once the subscriber is up.
func (s *subscriber) ready() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upCh
}

func (s *subscriber) lastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// close closes the current connection, which ends the goroutine's read;
// the broker's context, cancelled before, ends the rest.
func (s *subscriber) close() {
	s.mu.Lock()
	s.closed = true
	ps := s.ps
	s.ps = nil
	s.failWaitersLocked(ErrClosed)
	s.mu.Unlock()
	if ps != nil {
		_ = ps.Close()
	}
}

func (s *subscriber) run() {
	defer s.b.wg.Done()
	ctx := s.b.ctx
	backoff := minBackoff
	for {
		ps := s.newPubSub(ctx)
		err := s.session(ctx, ps)
		_ = ps.Close()
		retry, wasUp := s.lost(ps, err)
		if !retry {
			return
		}
		if wasUp { // a connection that worked: try again soon
			backoff = minBackoff
		}
		if s.b.cfg.Logger.Enabled(ctx, -4) {
			s.b.cfg.Logger.Debug("redisbroker: connection lost", "node", s.b.node, "err", err, "retry_in", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.b.cfg.MaxBackoff)
	}
}

// session connects ps, subscribes, and reads until the connection fails.
func (s *subscriber) session(ctx context.Context, ps *redis.PubSub) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.ps = ps
	var byKind [3][]string
	for k := range s.want {
		byKind[k.kind] = append(byKind[k.kind], k.name)
	}
	s.mu.Unlock()

	// Each write dials first if the PubSub has no connection yet. Sharded
	// channels go one per SSUBSCRIBE: a Redis Cluster refuses channels of
	// different slots in one (CROSSSLOT).
	if names := byKind[plainSub]; len(names) > 0 {
		if err := ps.Subscribe(ctx, names...); err != nil {
			return err
		}
	}
	if names := byKind[patternSub]; len(names) > 0 {
		if err := ps.PSubscribe(ctx, names...); err != nil {
			return err
		}
	}
	for _, name := range byKind[shardSub] {
		if err := ps.SSubscribe(ctx, name); err != nil {
			return err
		}
	}
	token := "wsgate-ready-" + strconv.FormatUint(s.b.pingSeq.Add(1), 10)
	if err := ps.Ping(ctx, token); err != nil {
		return err
	}

	active := make(map[string]struct{}) // globs the server confirmed on this connection
	interval := s.b.cfg.HealthInterval
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, interval)
		if err != nil {
			if ctx.Err() != nil {
				return ErrClosed
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return err
			}
			if pinged {
				return fmt.Errorf("no answer to PING within %v", interval)
			}
			if err := ps.Ping(ctx, "wsgate-health"); err != nil {
				return err
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			s.b.receive(m, active)
		case *redis.Subscription:
			s.confirmed(m, active)
		case *redis.Pong:
			if m.Payload == token {
				s.up()
			}
		}
	}
}

// confirmed records a server reply to a (un)subscription: the active
// globs follow the server's order exactly, and waiters learn that their
// subscription holds.
func (s *subscriber) confirmed(m *redis.Subscription, active map[string]struct{}) {
	switch m.Kind {
	case "psubscribe":
		active[m.Channel] = struct{}{}
	case "punsubscribe":
		delete(active, m.Channel)
	}
	key, ok := replyKey(m.Kind, m.Channel)
	if !ok {
		return
	}
	s.mu.Lock()
	ws := s.waiters[key]
	delete(s.waiters, key)
	s.mu.Unlock()
	for _, w := range ws {
		w <- nil
	}
}

// up marks the connection up once the server has answered the PING sent
// after every subscription.
func (s *subscriber) up() {
	s.mu.Lock()
	was := s.state
	if was != up {
		s.state = up
		close(s.upCh)
	}
	s.mu.Unlock()
	if was == down {
		s.b.subUp()
	}
}

// lost records the end of a connection and says whether to reconnect and
// whether the connection had been up.
func (s *subscriber) lost(ps *redis.PubSub, err error) (retry, wasUp bool) {
	s.mu.Lock()
	if s.ps == ps {
		s.ps = nil
	}
	if s.closed {
		s.mu.Unlock()
		return false, false
	}
	s.lastErr = err
	was := s.state
	if was == up {
		s.state = down
		s.upCh = make(chan struct{})
	}
	s.failWaitersLocked(fmt.Errorf("%w: %v", ErrDisconnected, err))
	s.mu.Unlock()
	if was == up {
		s.b.subDown(err)
	}
	return true, was == up
}

func (s *subscriber) failWaitersLocked(err error) {
	for k, ws := range s.waiters {
		for _, w := range ws {
			w <- err
		}
		delete(s.waiters, k)
	}
}

// dropWaiter forgets a waiter that stopped waiting.
func (s *subscriber) dropWaiter(key waitKey, w chan error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.waiters[key]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(s.waiters, key)
	} else {
		s.waiters[key] = ws
	}
}

// broken closes ps after a failed write, so that the goroutine notices at
// once (its read fails) and reconnects, instead of go-redis quietly
// replacing the connection under it.
func (s *subscriber) broken(ps *redis.PubSub) {
	s.mu.Lock()
	current := s.ps == ps
	s.mu.Unlock()
	if current {
		_ = ps.Close()
	}
}

// subscribe adds key to what the connection holds and returns once the
// server has confirmed it.
func (s *subscriber) subscribe(ctx context.Context, key subKey) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.want[key] = struct{}{}
	for s.state == connecting {
		// A new subscriber: its first connection subscribes what is wanted,
		// but may have taken its snapshot before key was added; wait until
		// it is up, then subscribe as usual.
		upCh := s.upCh
		s.mu.Unlock()
		select {
		case <-upCh:
		case <-ctx.Done():
			return fmt.Errorf("redisbroker: subscribe %s: %w", key.name, ctx.Err())
		case <-s.b.ctx.Done():
			return ErrClosed
		}
		s.mu.Lock()
	}
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.state == down || s.ps == nil {
		s.mu.Unlock()
		return fmt.Errorf("%w: subscribe %s", ErrDisconnected, key.name)
	}
	ps := s.ps
	s.mu.Unlock()
	return s.command(ctx, ps, key, false)
}

// unsubscribe removes key from what the connection holds and returns once
// the server has confirmed it: nothing published after that reaches the
// node on key.
func (s *subscriber) unsubscribe(ctx context.Context, key subKey) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	delete(s.want, key)
	ps, state := s.ps, s.state
	s.mu.Unlock()
	if state != up || ps == nil {
		// The next connection will not subscribe it; the server lost it
		// with the last one.
		return fmt.Errorf("%w: unsubscribe %s", ErrDisconnected, key.name)
	}
	return s.command(ctx, ps, key, true)
}

// command writes a (un)subscription of key on ps and waits for the
// server's reply, which the reading goroutine hands over.
func (s *subscriber) command(ctx context.Context, ps *redis.PubSub, key subKey, unsub bool) error {
	wk := waitKey{key, unsub}
	w := make(chan error, 1)
	what := "subscribe"
	if unsub {
		what = "unsubscribe"
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.ps != ps || s.state != up {
		// The connection was lost since the caller looked: the waiter
		// would miss lost's failing of the waiters.
		s.mu.Unlock()
		return fmt.Errorf("%w: %s %s", ErrDisconnected, what, key.name)
	}
	s.waiters[wk] = append(s.waiters[wk], w)
	s.mu.Unlock()

	var err error
	switch {
	case key.kind == plainSub && !unsub:
		err = ps.Subscribe(ctx, key.name)
	case key.kind == patternSub && !unsub:
		err = ps.PSubscribe(ctx, key.name)
	case key.kind == shardSub && !unsub:
		err = ps.SSubscribe(ctx, key.name)
	case key.kind == plainSub:
		err = ps.Unsubscribe(ctx, key.name)
	case key.kind == patternSub:
		err = ps.PUnsubscribe(ctx, key.name)
	case key.kind == shardSub:
		err = ps.SUnsubscribe(ctx, key.name)
	}
	if err != nil {
		s.dropWaiter(wk, w)
		s.broken(ps)
		return fmt.Errorf("%w: %s %s: %v", ErrDisconnected, what, key.name, err)
	}
	select {
	case err := <-w:
		return err
	case <-ctx.Done():
		s.dropWaiter(wk, w)
		return fmt.Errorf("redisbroker: %s %s: %w", what, key.name, ctx.Err())
	case <-s.b.ctx.Done():
		return ErrClosed
	}
}
