//go:build linux

package hub

import (
	"sync"
	"syscall"
)

// idlePoller holds the idle sessions of a hub that have no reader goroutine
// (idle.go): their sockets sit in one epoll set, each armed for one
// readiness event (EPOLLONESHOT), and one goroutine waits on the set and
// starts a session's reader again when its socket becomes readable. Go's
// own poller keeps the same sockets too; the two do not interfere: epoll
// allows a socket in several sets, and a reader reads through net.Conn as
// always.
//
// The goroutine and the epoll set exist only while a session is armed: the
// loop ends, and closes the set, when none is.
type idlePoller struct {
	mu    sync.Mutex
	epfd  int // -1 when not running
	wake  [2]int
	gen   uint64              // counts the sets made, so a session knows whether its socket is in this one
	armed map[uint64]*Session // by token
	next  uint64              // last token handed out; 0 is the wake pipe
}

func (p *idlePoller) init() { p.epfd = -1 }

// startLocked makes the epoll set and the wake pipe and starts the loop.
func (p *idlePoller) startLocked() bool {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return false
	}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return false
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p.wake[0])
		syscall.Close(p.wake[1])
		return false
	}
	p.epfd = epfd
	p.gen++
	if p.armed == nil {
		p.armed = make(map[uint64]*Session)
	}
	go p.loop(epfd, p.wake[0], p.wake[1])
	return true
}

// arm puts the socket fd of s in the set, armed for one readiness event,
// and reports whether it did. It is called with s.mu held.
func (p *idlePoller) arm(s *Session, fd int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.epfd < 0 && !p.startLocked() {
		return false
	}
	if s.pollToken == 0 {
		p.next++
		s.pollToken = p.next
	}
	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT,
		Fd:     int32(s.pollToken),
		Pad:    int32(s.pollToken >> 32),
	}
	op := syscall.EPOLL_CTL_ADD
	if s.pollGen == p.gen {
		op = syscall.EPOLL_CTL_MOD
	}
	err := syscall.EpollCtl(p.epfd, op, fd, &ev)
	if err == syscall.ENOENT && op == syscall.EPOLL_CTL_MOD {
		err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
	}
	if err != nil {
		p.wakeIfIdleLocked()
		return false
	}
	s.pollGen = p.gen
	p.armed[s.pollToken] = s
	return true
}

// forget drops s, which has ended; the loop ends if no session is armed.
func (p *idlePoller) forget(s *Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.armed[s.pollToken]; ok {
		delete(p.armed, s.pollToken)
		p.wakeIfIdleLocked()
	}
}

// wakeIfIdleLocked wakes the loop when no session is armed, so that it
// ends.
func (p *idlePoller) wakeIfIdleLocked() {
	if len(p.armed) == 0 && p.epfd >= 0 {
		syscall.Write(p.wake[1], []byte{0})
	}
}

// loop waits for armed sockets to become readable and resumes their
// sessions. It ends, closing the set and the pipe, once none is armed; a
// later arm starts a new set.
func (p *idlePoller) loop(epfd, wakeR, wakeW int) {
	var events [128]syscall.EpollEvent
	var resume []*Session
	for {
		n, err := syscall.EpollWait(epfd, events[:], -1)
		if err != nil && err != syscall.EINTR {
			// Not expected; every armed session goes back to a reader
			// goroutine, which arms it in a new set.
			p.mu.Lock()
			for token, s := range p.armed {
				delete(p.armed, token)
				resume = append(resume, s)
			}
			p.epfd = -1
			p.mu.Unlock()
			for _, s := range resume {
				s.unpark()
			}
			break
		}
		resume = resume[:0]
		p.mu.Lock()
		for _, ev := range events[:max(n, 0)] {
			token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if token == 0 {
				var b [16]byte
				syscall.Read(wakeR, b[:])
				continue
			}
			if s, ok := p.armed[token]; ok {
				delete(p.armed, token)
				resume = append(resume, s)
			}
		}
		done := len(p.armed) == 0
		if done {
			p.epfd = -1
		}
		p.mu.Unlock()
		for _, s := range resume {
			s.unpark()
		}
		clear(resume) // keep no ended session reachable while the loop waits
		if done {
			break
		}
	}
	syscall.Close(epfd)
	syscall.Close(wakeR)
	syscall.Close(wakeW)
}
