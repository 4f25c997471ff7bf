//go:build !linux

package hub

// idlePoller parks nothing off Linux: an idle session's reader waits in
// Go's poller (idle.go).
type idlePoller struct{}

func (p *idlePoller) init()                  {}
func (p *idlePoller) arm(*Session, int) bool { return false }
func (p *idlePoller) forget(*Session)        {}
