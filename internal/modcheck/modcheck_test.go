package modcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/internal/testdeps"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const module = "github.com/wsgate/wsgate"

// heavy are the module path prefixes that a user of hub and middleware must
// not resolve.
var heavy = []string{
	"github.com/chromedp/",
	"github.com/labstack/echo",
	"github.com/prometheus/",
	"github.com/redis/go-redis",
	"github.com/nats-io/",
}

// goWait bounds one go command (a module download on a cold cache and a
// loaded machine): a failure bound, never a measurement.
const goWait = 3 * time.Minute

// repoRoot returns the directory of the root module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.HasPrefix(string(data), "module "+module+"\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of %s above the test's directory", module)
		}
		dir = parent
	}
}

// goCmd runs the go command in dir, outside any workspace, and returns its
// standard output.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	tool := testdeps.GoTool(t, "the module graph checks")
	ctx, cancel := context.WithTimeout(context.Background(), goWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Dir = dir
	// GOPROXY and the module cache are inherited; the workspace is not.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// userModules returns the modules that a fresh module importing pkgs
// resolves (go list -m all), the wsgate modules replaced by this checkout.
func userModules(t *testing.T, root string, replace map[string]string, pkgs ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var gomod, src strings.Builder
	gomod.WriteString("module example.com/user\n\ngo 1.25.0\n")
	for mod, path := range replace {
		gomod.WriteString("\nrequire " + mod + " v0.0.0-00010101000000-000000000000\n")
		gomod.WriteString("replace " + mod + " => " + filepath.Join(root, path) + "\n")
	}
	src.WriteString("package main\n\nimport (\n")
	for _, p := range pkgs {
		src.WriteString("\t_ \"" + p + "\"\n")
	}
	src.WriteString(")\n\nfunc main() {}\n")
	for name, text := range map[string]string{"go.mod": gomod.String(), "main.go": src.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd(t, dir, "mod", "tidy")
	var mods []string
	for _, line := range strings.Split(strings.TrimSpace(goCmd(t, dir, "list", "-m", "all")), "\n") {
		mods = append(mods, strings.Fields(line)[0])
	}
	return mods
}

// heavyIn returns the modules of mods that match a heavy prefix.
func heavyIn(mods []string) []string {
	var found []string
	for _, m := range mods {
		for _, h := range heavy {
			if strings.HasPrefix(m, h) {
				found = append(found, m)
			}
		}
	}
	return found
}

// A program that imports hub and middleware resolves gorilla/websocket and
// none of the optional parts' dependencies; one that also imports metrics
// does resolve Prometheus (the check can see a heavy dependency when there
// is one).
func TestCoreResolvesNoHeavyModule(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	core := userModules(t, root, map[string]string{module: "."}, module+"/hub", module+"/middleware")
	if !slices.Contains(core, "github.com/gorilla/websocket") {
		t.Fatalf("go list -m all did not list gorilla/websocket: %v", core)
	}
	if found := heavyIn(core); len(found) > 0 {
		t.Errorf("a user of hub and middleware resolves %v", found)
	}

	withMetrics := userModules(t, root, map[string]string{module: ".", module + "/metrics": "metrics"},
		module+"/hub", module+"/metrics")
	if !slices.Contains(withMetrics, "github.com/prometheus/client_golang") {
		t.Errorf("a user of metrics does not resolve Prometheus: %v", withMetrics)
	}
}

// Every go.mod in the repository is a module of go.work: the README's test
// command reaches modules through the workspace, so a module left out of it
// would go untested.
func TestEveryModuleInWorkspace(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	var work struct{ Use []struct{ DiskPath string } }
	if err := json.Unmarshal([]byte(goCmd(t, root, "work", "edit", "-json", filepath.Join(root, "go.work"))), &work); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, u := range work.Use {
		used[filepath.Clean(u.DiskPath)] = true
	}
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.Name() != "go.mod" {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		found++
		if !used[rel] {
			t.Errorf("%s is not in go.work's use list", filepath.Join(rel, "go.mod"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 2 {
		t.Fatalf("found %d go.mod files; the walk is broken", found)
	}
}
