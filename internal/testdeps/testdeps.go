// Package testdeps is the one rule for a test that needs a program the
// machine may lack (Chromium, redis-server, a C compiler): without it the
// test is skipped, unless WSGATE_REQUIRE_DEPS=1 (as in CI), where it fails,
// since a skip there would hide a missing install step.
//
// A skip alone is easy to miss: a plain go test ./... shows a passing
// package's output, skips included, only with -v. So the first time a test
// binary misses a program, Missing also prints one line where the go
// command's own output goes, such as
//
//	examples/chat: chromium not found, browser tests skipped (set WSGATE_REQUIRE_DEPS=1 to fail)
//
// A cached test result is replayed without that line; go test -count=1
// runs the tests again.
package testdeps

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// Env is the environment variable that turns a missing program from a skip
// into a failure when set to "1".
const Env = "WSGATE_REQUIRE_DEPS"

// Required reports whether a missing program must fail the test.
func Required() bool { return os.Getenv(Env) == "1" }

// Missing ends t because program is missing: it fails t when Required,
// and otherwise announces that what is skipped and skips t. install says
// how to get the program.
func Missing(t testing.TB, program, what, install string) {
	t.Helper()
	msg := program + " not found: " + install
	if Required() {
		t.Fatalf("%s (required: %s=1)", msg, Env)
	}
	Announce(program, what)
	t.Skip(msg)
}

// GoTool returns the go command: the one on PATH, else the one of the
// toolchain that built the test. When there is neither it calls Missing,
// with what the go command is needed for.
func GoTool(t testing.TB, what string) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		Missing(t, "go", what, "install Go, or put its go command on PATH")
	}
	return p
}

// announced holds the programs already announced by this test binary.
var announced struct {
	mu   sync.Mutex
	seen map[string]bool
}

// Announce says, once per program in this test binary, that what does not
// run because program is missing, on the output a plain go test shows. It
// is for tests that go on without the program, doing less; Missing calls
// it for those that skip.
func Announce(program, what string) {
	announced.mu.Lock()
	defer announced.mu.Unlock()
	if announced.seen[program] {
		return
	}
	if announced.seen == nil {
		announced.seen = map[string]bool{}
	}
	announced.seen[program] = true
	notice(fmt.Sprintf("%s: %s not found, %s skipped (set %s=1 to fail)", pkgPath(), program, what, Env))
}

// notice writes line where a reader of go test's output sees it. The go
// command keeps a passing test binary's output to itself unless -v is set,
// so without -v the line goes to the parent process's (the go command's)
// standard error, found through /proc on Linux; with -v, or where that is
// not possible, to the binary's own standard error.
func notice(line string) {
	line += "\n"
	if !testing.Verbose() {
		f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/2", os.Getppid()), os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			_, err = io.WriteString(f, line)
			f.Close()
			if err == nil {
				return
			}
		}
	}
	io.WriteString(os.Stderr, line)
}

// pkgPath returns the package under test, relative to the repository root
// ("examples/chat"), from the test binary's build information.
func pkgPath() string {
	const root = "github.com/wsgate/wsgate/"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "wsgate"
	}
	return strings.TrimPrefix(strings.TrimSuffix(bi.Path, ".test"), root)
}
