package hub

import (
	"context"
	"errors"
	"fmt"
)

// maxBatch bounds the envelopes handed to a BatchPublisher at once.
const maxBatch = 128

// maxOutboxSize bounds Config.OutboxSize.
const maxOutboxSize = 1 << 20

var errOutboxFull = errors.New("outbox full")

// outbox holds what this node routes for the other nodes until its one
// goroutine hands it to Broker.Publish, so that routing never waits for the
// network. It is bounded by Config.OutboxSize.
type outbox struct {
	h     *Hub
	mb    mailbox[Envelope]
	batch BatchPublisher // the broker, if it publishes batches
	done  chan struct{}  // closed when run has returned
}

func (o *outbox) init(h *Hub, size int) {
	o.h = h
	if h.cluster.on { // a single node keeps no outbox
		o.mb.init(size)
	}
	o.batch, _ = h.cfg.Broker.(BatchPublisher)
	o.done = make(chan struct{})
}

func (o *outbox) len() int {
	if o.mb.ch == nil {
		return 0
	}
	return len(o.mb.ch)
}

// push queues e for the other nodes. It returns ErrClosed once Shutdown has
// closed the outbox, and an error wrapping ErrRemote (also counted and
// reported to OnError) when the outbox is full.
func (o *outbox) push(e Envelope) error {
	switch o.mb.put(e) {
	case pushClosed:
		return ErrClosed
	case pushFull:
		c := &o.h.cluster
		c.stats.refused.Add(1)
		o.h.reportHub(&RemoteError{Op: "publish", Kind: e.Kind, Target: e.Target, Lost: 1, Err: errOutboxFull})
		return fmt.Errorf("%w: outbox full (%d envelopes)", ErrRemote, cap(o.mb.ch))
	}
	return nil
}

// run hands queued envelopes to the broker, in order, until the outbox is
// closed and empty.
func (o *outbox) run() {
	defer close(o.done)
	h := o.h
	c := &h.cluster
	batch := make([]Envelope, 0, maxBatch)
	for e := range o.mb.ch {
		batch = append(batch[:0], e)
		if o.batch != nil {
		more:
			for len(batch) < maxBatch {
				select {
				case e, ok := <-o.mb.ch:
					if !ok {
						break more
					}
					batch = append(batch, e)
				default:
					break more
				}
			}
		}
		if err := c.base.Err(); err != nil { // Shutdown's context ended
			lost := len(batch)
			for range o.mb.ch {
				lost++
			}
			c.stats.failed.Add(uint64(lost))
			h.reportHub(&RemoteError{Op: "publish", Kind: batch[0].Kind, Target: batch[0].Target, Lost: lost, Err: err})
			return
		}
		var err error
		{
			ctx, cancel := context.WithTimeout(c.base, h.cfg.BrokerTimeout)
			if o.batch != nil {
				err = o.batch.PublishBatch(ctx, batch)
			} else {
				err = h.broker.Publish(ctx, batch[0])
			}
			cancel()
		}
		if err != nil {
			c.stats.failed.Add(uint64(len(batch)))
			h.reportHub(&RemoteError{Op: "publish", Kind: batch[0].Kind, Target: batch[0].Target, Lost: len(batch), Err: err})
		} else {
			c.stats.published.Add(uint64(len(batch)))
		}
		clear(batch)
	}
}

// close refuses new envelopes and waits until the queued ones are handed
// over (stopCluster cancels the calls when Shutdown's context ends: the
// rest are then counted as failed).
func (o *outbox) close() {
	o.mb.close()
	if o.h.cluster.on {
		<-o.done
	}
}
