package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testdeps"
	"go.uber.org/goleak"
)

// The C side is built once per test binary, on first use, into one temp
// directory: one c-shared build of this package, then the C programs.
var build struct {
	once sync.Once
	dir  string
	err  error
	noCC bool // no C compiler: the tests skip (or fail when required)
}

// archive is the c-archive build, made only by the test that needs it.
var archive struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range []string{build.dir, archive.dir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// built returns the directory holding libwsgate.so and the C programs,
// building them the first time.
func built(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		cc, err := exec.LookPath("cc")
		if err != nil {
			build.noCC = true
			return
		}
		build.dir, build.err = os.MkdirTemp("", "wsgate-capi-")
		if build.err != nil {
			return
		}
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		steps := [][]string{
			{goTool, "build", "-buildmode=c-shared", "-o", filepath.Join(build.dir, "libwsgate.so"), "."},
			ccArgs(cc, "example_prog", "example/main.c", false),
			ccArgs(cc, "api_test", "ctest/api_test.c", true, "-D_GNU_SOURCE", "-pthread"),
			ccArgs(cc, "driver", "ctest/driver.c", true, "-D_GNU_SOURCE"),
		}
		for _, s := range steps {
			cmd := exec.Command(s[0], s[1:]...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				build.err = fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, out)
				return
			}
		}
	})
	if build.noCC {
		testdeps.Missing(t, "cc", "C API tests", "install gcc")
	}
	if build.err != nil {
		t.Fatalf("building the C side: %v", build.err)
	}
	return build.dir
}

// builtStatic returns the example linked statically against libwsgate.a.
func builtStatic(t *testing.T) string {
	t.Helper()
	built(t) // the same skip rules; cc exists past this point
	archive.once.Do(func() {
		archive.dir, archive.err = os.MkdirTemp("", "wsgate-capi-a-")
		if archive.err != nil {
			return
		}
		lib := filepath.Join(archive.dir, "libwsgate.a")
		prog := filepath.Join(archive.dir, "example_static")
		for _, s := range [][]string{
			{filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-buildmode=c-archive", "-o", lib, "."},
			{"cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Iinclude", "-o", prog, "example/main.c", lib, "-lpthread"},
		} {
			cmd := exec.Command(s[0], s[1:]...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				archive.err = fmt.Errorf("%s: %v\n%s", strings.Join(s, " "), err, out)
				return
			}
		}
	})
	if archive.err != nil {
		t.Fatalf("building the c-archive: %v", archive.err)
	}
	return filepath.Join(archive.dir, "example_static")
}

// ccArgs compiles one C program against include/ and libwsgate.so in the
// build directory; asan adds AddressSanitizer (with LeakSanitizer).
func ccArgs(cc, out, src string, asan bool, extra ...string) []string {
	args := append([]string{cc, "-std=c11", "-g", "-Wall", "-Wextra", "-Werror", "-Iinclude"}, extra...)
	if asan {
		args = append(args, "-fsanitize=address", "-fno-omit-frame-pointer")
	}
	return append(args, "-o", filepath.Join(build.dir, out), src,
		"-L"+build.dir, "-lwsgate", "-Wl,-rpath,"+build.dir)
}

// proc is a running C program whose stdout the test reads line by line.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	mu    sync.Mutex
	all   []string // every line so far, for failure messages
	done  chan struct{}
	err   error // Wait's result, once done is closed
	errb  bytes.Buffer
}

// start runs prog with args and extra environment. When ln is not nil it
// is handed over through systemd socket activation (fd 3, LISTEN_FDS=1,
// LISTEN_PID set by a shell that then execs the program), so the test owns
// the port and no other test can take it.
func start(t *testing.T, prog string, ln *net.TCPListener, env []string, args ...string) *proc {
	t.Helper()
	var cmd *exec.Cmd
	if ln != nil {
		f, err := ln.File()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd = exec.Command("/bin/sh", append([]string{"-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"`, prog}, args...)...)
		cmd.ExtraFiles = []*os.File{f}
	} else {
		cmd = exec.Command(prog, args...)
	}
	cmd.Env = append(os.Environ(), env...)
	// LeakSanitizer needs ptrace-free stop-the-world, which works here;
	// abort on the first error so the exit status tells.
	cmd.Env = append(cmd.Env, "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66")
	p := &proc{t: t, cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	cmd.Stderr = &p.errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.all = append(p.all, sc.Text())
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default: // the test reads what it awaits; the rest is in all
			}
		}
		_, _ = io.Copy(io.Discard, out)
		p.err = cmd.Wait()
		close(p.lines)
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// await reads lines until one satisfies match, failing after 30s.
func (p *proc) await(match func(string) bool, what string) string {
	p.t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("program ended (%v) before printing %s; output:\n%s\nstderr:\n%s", p.err, what, p.output(), p.errb.String())
			}
			if match(l) {
				return l
			}
		case <-deadline.C:
			p.t.Fatalf("no %s within 30s; output:\n%s", what, p.output())
		}
	}
}

func (p *proc) awaitPrefix(prefix string) string {
	p.t.Helper()
	return p.await(func(l string) bool { return strings.HasPrefix(l, prefix) }, fmt.Sprintf("line %q...", prefix))
}

// wait waits for the program to exit and returns its exit code.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.t.Fatalf("program did not exit within 30s; output:\n%s", p.output())
	}
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.all, "\n")
}

// loopback returns a listener on 127.0.0.1 for a program to inherit.
func loopback(t *testing.T) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}
