package testdeps

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestHelperMissing is run by the tests below in a child process: it
// misses the same program twice.
func TestHelperMissing(t *testing.T) {
	if os.Getenv("TESTDEPS_HELPER") != "1" {
		t.Skip("run by TestHelperParent in a child process")
	}
	t.Run("first", func(t *testing.T) { Missing(t, "fake-program", "fake tests", "there is none") })
	t.Run("second", func(t *testing.T) { Missing(t, "fake-program", "fake tests", "there is none") })
}

const line = "internal/testdeps: fake-program not found, fake tests skipped (set WSGATE_REQUIRE_DEPS=1 to fail)\n"

// TestHelperParent is run by child in a process that stands for the go
// command: it runs TestHelperMissing in a grandchild whose own standard
// error (and output) goes to the file $OWN_STDERR, and passes its exit
// status on.
func TestHelperParent(t *testing.T) {
	if os.Getenv("TESTDEPS_HELPER") != "parent" {
		t.Skip("run by child in a child process")
	}
	f, err := os.Create(os.Getenv("OWN_STDERR"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args := []string{"-test.run=^TestHelperMissing$"}
	if os.Getenv("CHILD_VERBOSE") == "1" {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TESTDEPS_HELPER=1")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
}

// child runs TestHelperMissing in a grandchild of this test, and returns
// what reached the standard error of its parent (which stands for the go
// command) and its own standard error.
func child(t *testing.T, require string, verbose bool) (parent, own string, err error) {
	t.Helper()
	ownFile := filepath.Join(t.TempDir(), "stderr")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperParent$")
	cmd.Env = append(os.Environ(), "TESTDEPS_HELPER=parent", "OWN_STDERR="+ownFile, Env+"="+require)
	if verbose {
		cmd.Env = append(cmd.Env, "CHILD_VERBOSE=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	data, rerr := os.ReadFile(ownFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	return stderr.String(), string(data), err
}

// Without -v the line reaches the parent's standard error, once for two
// skips; the tests pass.
func TestMissingAnnouncesToParent(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd/2"); err != nil {
		t.Skip("no /proc: the line goes to the binary's own standard error")
	}
	parent, own, err := child(t, "", false)
	if err != nil {
		t.Fatalf("child failed: %v\n%s%s", err, parent, own)
	}
	if parent != line {
		t.Errorf("parent's stderr = %q, want %q", parent, line)
	}
	if strings.Contains(own, "not found,") {
		t.Errorf("the line also went to the binary's own stderr: %q", own)
	}
}

// With -v the go command shows the binary's output: the line goes there,
// next to the SKIP lines.
func TestMissingVerbose(t *testing.T) {
	parent, own, err := child(t, "", true)
	if err != nil {
		t.Fatalf("child failed: %v\n%s%s", err, parent, own)
	}
	if strings.Count(own, line) != 1 || parent != "" {
		t.Errorf("own output %q, parent's stderr %q; want the line once in the own", own, parent)
	}
}

// With WSGATE_REQUIRE_DEPS=1 the test fails, naming the program and the
// variable, and announces nothing.
func TestMissingRequired(t *testing.T) {
	parent, own, err := child(t, "1", true)
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("child did not fail: %v\n%s%s", err, parent, own)
	}
	if !strings.Contains(own, "fake-program not found: there is none (required: WSGATE_REQUIRE_DEPS=1)") {
		t.Errorf("the failure does not name the program and the variable:\n%s", own)
	}
	if strings.Contains(parent+own, "skipped") {
		t.Errorf("announced a skip while required:\n%s%s", parent, own)
	}
}

// GoTool finds the go command that runs this test.
func TestGoTool(t *testing.T) {
	out, err := exec.Command(GoTool(t, "this test"), "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	if len(bytes.TrimSpace(out)) == 0 {
		t.Fatal("go env GOROOT printed nothing")
	}
}
