// Package nodetest finds Node.js and the ws package for tests that run Node
// scripts. Node comes from Debian (apt-get install -y nodejs npm); before
// Node 22, which has a global WebSocket, the scripts need the ws package,
// which Modules installs with npm into js/node_modules from
// js/package-lock.json. Without node or npm a test skips, or fails when
// WSGATE_REQUIRE_DEPS=1 says the environment must have them (as in CI).
package nodetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/wsgate/wsgate/internal/testdeps"
)

// Tool returns the path of node or npm. When it is missing the test skips,
// or fails when WSGATE_REQUIRE_DEPS=1.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	testdeps.Missing(t, name, "Node tests", "apt-get install -y nodejs npm")
	return ""
}

// Major returns the major version of the node at path.
func Major(t testing.TB, ctx context.Context, path string) int {
	t.Helper()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil {
		t.Fatalf("node --version said %q", out)
	}
	return major
}

// JSDir returns the absolute path of the client package, js/.
func JSDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("nodetest: cannot find its own source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "js")
}

// Modules makes sure js/node_modules holds ws (running npm ci when it does
// not, one test process at a time) and returns that directory.
func Modules(t testing.TB, ctx context.Context) string {
	t.Helper()
	dir := JSDir(t)
	modules := filepath.Join(dir, "node_modules")
	ws := filepath.Join(modules, "ws", "package.json")
	if _, err := os.Stat(ws); err == nil {
		return modules
	}
	npm := Tool(t, "npm")
	// Test binaries of several packages run at once: the first installs,
	// the others wait on the lock and find ws there.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "wsgate-npm.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(ws); err == nil {
		return modules
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in js/: %v\n%s", err, out)
	}
	return modules
}
