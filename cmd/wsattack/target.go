package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// target is the program under attack, started by wsattack.
type target struct {
	addr   string // host:port it listens on, on loopback
	cmd    *exec.Cmd
	lines  chan []string // its stdout after "listening on", once it closed
	exited chan error    // Wait's result
}

// startTarget runs program and waits (within ctx) for its "listening on"
// line. The address must be on loopback: wsattack attacks nothing else.
func startTarget(ctx context.Context, program []string, stderr io.Writer) (*target, error) {
	cmd := exec.Command(program[0], program[1:]...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	tg := &target{cmd: cmd, lines: make(chan []string, 1), exited: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var rest []string
		found := false
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "listening on "); ok && !found {
				found = true
				addr <- a
				continue
			}
			rest = append(rest, line)
		}
		close(addr)
		tg.lines <- rest
		tg.exited <- cmd.Wait() // after stdout is read, as Wait requires
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			tg.kill()
			return nil, fmt.Errorf("%s ended before listening", program[0])
		}
		a = strings.TrimPrefix(a, "http://")
		if strings.Contains(a, "://") {
			tg.kill()
			return nil, fmt.Errorf("%s listens on %s: wsattack speaks plain http only", program[0], a)
		}
		if err := checkLoopback(a); err != nil {
			tg.kill()
			return nil, err
		}
		tg.addr = a
		return tg, nil
	case <-ctx.Done():
		tg.kill()
		return nil, fmt.Errorf("%s did not print its address: %w", program[0], ctx.Err())
	}
}

// checkLoopback refuses an address off this machine's loopback.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", addr)
	}
	return nil
}

// terminate sends SIGTERM.
func (tg *target) terminate() error { return tg.cmd.Process.Signal(syscall.SIGTERM) }

// wait waits up to d for the program to exit and returns its stdout lines
// after "listening on" and its exit error.
func (tg *target) wait(d time.Duration) ([]string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case lines := <-tg.lines:
		select {
		case err := <-tg.exited:
			tg.exited <- err // for kill
			return lines, err
		case <-timer.C:
		}
	case <-timer.C:
	}
	return nil, errors.New("still running")
}

// kill ends the program if it still runs and waits for it.
func (tg *target) kill() {
	select {
	case err := <-tg.exited:
		tg.exited <- err
		return
	default:
	}
	tg.cmd.Process.Kill()
	tg.exited <- <-tg.exited
}
