package natsstore

// Connected reports whether the store's connection is up (tests wait for
// it after restarting the server).
func (st *Store) Connected() bool { return st.nc.IsConnected() }
