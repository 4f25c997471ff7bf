package hub

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// interestWorkers is how many subscriptions a hub asks its broker for at
// once (different channels; one channel is never worked on twice at once).
const interestWorkers = 4

// retryInterval is how long the hub waits before asking the broker again
// for a subscription it refused or did not confirm in time.
const retryInterval = time.Second

// interest keeps the broker's subscriptions in step with this node's rooms
// and topic patterns. The membership lock decides what is wanted (a room or
// pattern with at least one local member); workers make the broker agree.
// For each channel the workers alternate Subscribe and Unsubscribe and never
// overlap two calls, so a leave-then-join race ends subscribed, and a join
// waits until a Subscribe that started after it was wanted is confirmed.
//
// Lock order: membership.mu, then interest.mu.
type interest struct {
	h *Hub

	mu    sync.Mutex // guards everything below
	chans map[Channel]*chanState
	dirty []Channel // channels whose want differs from have, each once
	retry []Channel // channels whose Subscribe failed, for the next retry
	nsubs int       // channels with have set
	wake  chan struct{}
}

// chanState is one channel's subscription at the broker.
type chanState struct {
	want   bool          // a local member needs it
	have   bool          // the broker confirmed it and no Unsubscribe started since
	busy   bool          // a worker is calling the broker for it
	again  bool          // a retry was asked for while busy: its worker queues it
	queued bool          // in dirty
	err    error         // why the last Subscribe failed; nil once one succeeded
	tries  uint64        // Subscribe attempts finished
	done   chan struct{} // closed (and replaced) when an attempt finishes
}

func (in *interest) init(h *Hub) {
	in.h = h
	in.chans = make(map[Channel]*chanState)
	in.wake = make(chan struct{}, 1)
}

func (in *interest) subscribed() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.nsubs
}

// setWant records whether a local member needs ch (membership lock held).
func (in *interest) setWant(ch Channel, want bool) {
	if !in.h.cluster.on {
		return
	}
	in.mu.Lock()
	st := in.chans[ch]
	if st == nil {
		if !want {
			in.mu.Unlock()
			return
		}
		st = &chanState{done: make(chan struct{})}
		in.chans[ch] = st
	}
	st.want = want
	in.markLocked(ch, st)
	in.mu.Unlock()
}

// markLocked queues ch for a worker if it needs one.
func (in *interest) markLocked(ch Channel, st *chanState) {
	if st.want == st.have || st.queued || st.busy {
		return
	}
	st.queued = true
	in.dirty = append(in.dirty, ch)
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// await waits until the broker confirms ch for a member that joined before
// the call, or until Config.BrokerTimeout. It returns an error wrapping
// ErrRemote when the broker refused or did not answer in time (the hub keeps
// retrying), and ErrClosed when the hub stopped meanwhile.
func (in *interest) await(ch Channel) error {
	h := in.h
	if !h.cluster.on {
		return nil
	}
	in.mu.Lock()
	st := in.chans[ch]
	if st == nil || st.have || !st.want {
		in.mu.Unlock()
		return nil // subscribed, or the member has already left
	}
	start := st.tries
	if st.busy {
		start++ // the attempt in flight may have started before this member
	}
	in.mu.Unlock()
	timer := time.NewTimer(h.cfg.BrokerTimeout)
	defer timer.Stop()
	for {
		in.mu.Lock()
		st = in.chans[ch]
		if st == nil || st.have || !st.want {
			in.mu.Unlock()
			return nil
		}
		if st.err != nil && st.tries > start {
			err := st.err
			in.mu.Unlock()
			return fmt.Errorf("%w: subscribing to %s: %w", ErrRemote, channelString(ch), err)
		}
		done := st.done
		in.mu.Unlock()
		select {
		case <-done:
		case <-timer.C:
			return fmt.Errorf("%w: subscribing to %s: not confirmed within %v", ErrRemote, channelString(ch), h.cfg.BrokerTimeout)
		case <-h.cluster.stop:
			return ErrClosed
		}
	}
}

func channelString(ch Channel) string {
	if ch.Kind == ToTopic {
		return "topic " + ch.Name
	}
	return "room " + ch.Name
}

// run is one worker: it takes a dirty channel and makes the broker agree,
// until the hub stops.
func (in *interest) run() {
	h := in.h
	retry := time.NewTimer(retryInterval)
	defer retry.Stop()
	for {
		ch, st, ok := in.next()
		if !ok {
			select {
			case <-in.wake:
			case <-retry.C:
				retry.Reset(retryInterval)
				in.requeueRetries()
			case <-h.cluster.stop:
				return
			}
			continue
		}
		in.reconcile(ch, st)
		select {
		case <-h.cluster.stop:
			return
		default:
		}
	}
}

// next takes a channel off the dirty list and marks it busy.
func (in *interest) next() (Channel, *chanState, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for len(in.dirty) > 0 {
		ch := in.dirty[0]
		in.dirty[0] = Channel{}
		in.dirty = in.dirty[1:]
		st := in.chans[ch]
		if st == nil {
			continue
		}
		st.queued = false
		if st.busy || st.want == st.have {
			continue
		}
		st.busy = true
		if len(in.dirty) > 0 { // more work: wake another worker
			select {
			case in.wake <- struct{}{}:
			default:
			}
		}
		return ch, st, true
	}
	in.dirty = nil
	return Channel{}, nil, false
}

// reconcile calls the broker until ch's subscription matches want.
func (in *interest) reconcile(ch Channel, st *chanState) {
	h := in.h
	failed := false
	in.mu.Lock()
	for st.want != st.have {
		subscribe := st.want
		if !subscribe {
			st.have = false
			in.nsubs--
		}
		in.mu.Unlock()
		ctx, cancel := context.WithTimeout(h.cluster.base, h.cfg.BrokerTimeout)
		var err error
		select {
		case <-h.cluster.stop:
			err = ErrClosed
		default:
			if subscribe {
				err = h.broker.Subscribe(ctx, ch)
			} else {
				err = h.broker.Unsubscribe(ctx, ch)
			}
		}
		cancel()
		in.mu.Lock()
		if !subscribe {
			if err != nil {
				h.logger().Debug("wsgate: broker unsubscribe", "channel", channelString(ch), "err", err)
			}
			continue // have is false either way: a Subscribe is idempotent
		}
		st.tries++
		st.err = err
		close(st.done)
		st.done = make(chan struct{})
		if err != nil {
			h.cluster.stats.subscribeFailed.Add(1)
			in.retry = append(in.retry, ch)
			in.mu.Unlock()
			h.callError(nil, &RemoteError{Op: "subscribe", Kind: ch.Kind, Target: ch.Name, Err: err})
			in.mu.Lock()
			failed = true // retried after retryInterval, or on Reconnected
			break
		}
		st.have = true
		in.nsubs++
	}
	st.busy = false
	if !st.want && !st.have {
		delete(in.chans, ch)
	} else if !failed || st.again {
		in.markLocked(ch, st)
	}
	st.again = false
	in.mu.Unlock()
}

// requeueRetries queues the channels whose Subscribe failed again.
func (in *interest) requeueRetries() {
	in.mu.Lock()
	defer in.mu.Unlock()
	retry := in.retry
	in.retry = nil
	for _, ch := range retry {
		st := in.chans[ch]
		switch {
		case st == nil || !st.want || st.have:
		case st.busy:
			// Its worker is still reporting the failure (or calling the
			// broker again): markLocked would do nothing, and the retry
			// would be lost until the next one.
			st.again = true
		default:
			in.markLocked(ch, st)
		}
	}
}

// retryFailed asks again, now, for every subscription the broker failed.
func (in *interest) retryFailed() { in.requeueRetries() }
