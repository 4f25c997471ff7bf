package natsstore

// Connected reports whether the store's connection is up (tests wait for
// it after restarting the server).
func (st *Store) Connected() bool { return st.nc.IsConnected() }

// Reconnects is how often the store's connection has reconnected.
func (st *Store) Reconnects() uint64 { return st.gen() }

// ErrConnLost is the cause of a call ended by the loss of its connection.
var ErrConnLost = errConnLost
