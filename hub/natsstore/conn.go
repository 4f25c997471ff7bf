package natsstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// errConnLost ends a call whose connection to the server was lost while
// it waited for a reply, or was down when it began.
var errConnLost = errors.New("connection to the server lost")

// watchConn returns a context that ends with ctx or, with the cause
// errConnLost, as soon as the store's connection is lost (at once if it
// is down now); the call must defer stop.
//
// A request or publish written just before the client notices that its
// server has gone (the server closed the socket, the client has not read
// the EOF yet) reaches no one, and nats.go does not fail a pending
// request when it reconnects: without this the call would wait for its
// reply until ctx ends, although the connection it was sent on, and
// every reply that could come on it, is gone. The status listener is
// registered before the connection state is checked and before any
// request is sent, so a loss noticed at any point of the call ends it.
func (st *Store) watchConn(ctx context.Context) (context.Context, func()) {
	ch := st.nc.StatusChanged(nats.RECONNECTING, nats.DISCONNECTED, nats.CLOSED)
	ctx, cancel := context.WithCancelCause(ctx)
	if !st.nc.IsConnected() {
		cancel(errConnLost)
		st.nc.RemoveStatusListener(ch)
		return ctx, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case _, ok := <-ch:
			if ok { // closed: the call has ended and removed it
				cancel(errConnLost)
			}
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		cancel(nil)
		<-done
		st.nc.RemoveStatusListener(ch)
	}
}

// connErr is err, or an ErrServer saying that the connection was lost
// when that is why the call's context (from watchConn) ended.
func connErr(ctx context.Context, what string, err error) error {
	if err != nil && errors.Is(err, context.Canceled) && errors.Is(context.Cause(ctx), errConnLost) {
		return fmt.Errorf("%w: %s: %w", ErrServer, what, errConnLost)
	}
	return err
}
