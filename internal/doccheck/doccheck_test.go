package doccheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/wsgate/wsgate/internal/testdeps"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait in these tests (a build on a loaded machine, a
// program starting); it is a failure bound, never a measurement.
const wait = 60 * time.Second

// repoRoot is the directory above the test's that holds README.md and
// docs/: the Markdown files live there, whichever module this package is
// in.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "README.md")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "docs")); err == nil {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no README.md and docs/ above the test's directory")
		}
		dir = parent
	}
}

func goTool(t testing.TB) string { return testdeps.GoTool(t, "the docs' programs") }

// genDir is the directory, below this package's, that a block's file is
// mapped to by the overlay; nothing is written there. Keeping it below the
// package keeps it inside the package's module, wherever that is.
func genDir(b Block) string {
	slug := strings.ToLower(strings.TrimSuffix(filepath.ToSlash(b.File), ".md"))
	slug = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(slug, "_")
	return fmt.Sprintf("gen/%s_%d", strings.Trim(slug, "_"), b.Line)
}

// mdPosition is a Markdown file name at the start of a compiler message.
var mdPosition = regexp.MustCompile(`(?m)^[^\s:]+\.md:`)

// buildWait bounds a go build, which may compile every dependency on a cold
// cache and a loaded machine: a failure bound, never a measurement.
const buildWait = 5 * time.Minute

// build compiles the given blocks of Markdown files under root, each in a
// package of its own, with go build -overlay run in this package's
// directory, and returns the compiler's output with positions in the
// Markdown files, relative to root. With binary set (one block only), the
// program is linked there.
func build(t testing.TB, root string, blocks []Block, binary string) (string, error) {
	t.Helper()
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	replace := map[string]string{}
	var pkgs []string
	for i, b := range blocks {
		md := b.File
		if !filepath.IsAbs(md) {
			md = filepath.Join(root, md)
		}
		src := filepath.Join(tmp, fmt.Sprintf("block%d.go", i))
		if err := os.WriteFile(src, []byte(Source(b, md)), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := genDir(b)
		replace[filepath.Join(here, filepath.FromSlash(dir), "doc.go")] = src
		pkgs = append(pkgs, "./"+dir)
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	overlayPath := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlayPath, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "-overlay", overlayPath, "-gcflags=-e"}
	if binary != "" {
		args = append(args, "-o", binary)
	}
	cmd := exec.Command(goTool(t), append(args, pkgs...)...)
	cmd.Dir = here
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = runBounded(cmd, buildWait)
	// The compiler names the Markdown files relative to here when it can:
	// say them relative to root, as a reader finds them.
	text := mdPosition.ReplaceAllStringFunc(out.String(), func(pos string) string {
		path := strings.TrimSuffix(pos, ":")
		if !filepath.IsAbs(path) {
			path = filepath.Join(here, path)
		}
		if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
			path = rel
		}
		return path + ":"
	})
	if err != nil && text == "" {
		text = err.Error()
	}
	return text, err
}

// runBounded runs cmd and kills it if it has not ended within limit.
func runBounded(cmd *exec.Cmd, limit time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not finish within %v", strings.Join(cmd.Args, " "), limit)
	}
}

// goBlocks returns every ```go block of README.md and docs/*.md, and the
// skipped ones apart.
func goBlocks(t testing.TB, root string) (compile, skipped []Block) {
	t.Helper()
	files, err := MarkdownFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		blocks, err := Extract(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if b.Lang != "go" {
				continue
			}
			b.File = f
			if _, ok := b.Skip(); ok {
				skipped = append(skipped, b)
				continue
			}
			compile = append(compile, b)
		}
	}
	return compile, skipped
}

// Every Go block in README.md and docs/*.md compiles against this module.
func TestDocBlocks(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	blocks, skipped := goBlocks(t, root)
	for _, b := range skipped {
		reason, _ := b.Skip()
		if reason == "" {
			t.Errorf("%s:%d: a skipped block must say why (<!-- doc: skip: reason -->)", b.File, b.Line)
		}
		t.Logf("%s:%d: not compiled: %s", b.File, b.Line, reason)
	}
	if len(blocks) < 10 {
		t.Fatalf("found %d Go blocks to compile; the extraction is broken or the docs lost their code", len(blocks))
	}
	if len(skipped)*5 > len(blocks) {
		t.Errorf("%d of %d Go blocks are skipped: make them compile", len(skipped), len(blocks)+len(skipped))
	}
	out, err := build(t, root, blocks, "")
	if err != nil {
		t.Fatalf("Go blocks in the docs do not compile (positions are in the Markdown files):\n%s", out)
	}
	t.Logf("%d Go blocks compiled, %d skipped", len(blocks), len(skipped))
}

// A block that does not compile is reported at its line in its Markdown
// file, and so is a fragment's undeclared name.
func TestReportsMarkdownPositions(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	dir := t.TempDir()
	md := "# doc\n\ntext\n\n<!-- doc: var h *hub.Hub -->\n```go\nh.Join(\"a\", \"b\")\nundefinedThing()\n```\n\n```go\nfunc f() int { return \"x\" }\n```\n"
	path := filepath.Join(dir, "bad.md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, err := Extract(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks[0].Directive != "var h *hub.Hub" || blocks[0].Line != 6 || blocks[1].Line != 11 {
		t.Fatalf("extracted %+v", blocks)
	}
	if !declarationsOnly(blocks[1].Code) || declarationsOnly(blocks[0].Code) {
		t.Fatal("fragment kinds misread")
	}
	out, err := build(t, root, blocks, "")
	if err == nil {
		t.Fatal("broken blocks compiled")
	}
	for _, want := range []string{path + ":8: undefined: undefinedThing", path + ":12: cannot use"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "h.Join") || strings.Contains(out, ":7:") {
		t.Errorf("the declared name h was not declared:\n%s", out)
	}
}

// Package names used in strings or comments, or as a field after a dot,
// do not become imports.
func TestUsedPackages(t *testing.T) {
	t.Parallel()
	got := usedPackages("x := ws.hub.Stats() // http.Get\ns := \"time.Now\"\nh, _ := hub.New(hub.Config{})\n")
	if strings.Join(got, ",") != "hub" {
		t.Fatalf("usedPackages = %v, want [hub]", got)
	}
}

// readmeProgram returns the README's complete program: its first block that
// is a main package.
func readmeProgram(t testing.TB, root string) Block {
	t.Helper()
	blocks, err := Extract(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		if b.Lang == "go" && strings.HasPrefix(b.Code, "package main\n") {
			b.File = "README.md"
			return b
		}
	}
	t.Fatal("README.md has no complete program (a go block starting with package main)")
	return Block{}
}

// The README's program is short enough to paste, builds on its own, serves
// WebSocket clients a shared lobby, and ends cleanly on SIGTERM: the
// clients get close 1001 and the process exits 0.
func TestReadmeProgramRuns(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	prog := readmeProgram(t, root)
	if n := strings.Count(prog.Code, "\n"); n >= 40 {
		t.Errorf("the README's program has %d lines; keep it under 40", n)
	}
	const addr = "localhost:8080"
	if !strings.Contains(prog.Code, `"`+addr+`"`) {
		t.Fatalf("the program no longer listens on %q; update this test", addr)
	}
	port := freePort(t)
	prog.Code = strings.ReplaceAll(prog.Code, addr, "127.0.0.1:"+port)
	binary := filepath.Join(t.TempDir(), "readme-program")
	if out, err := build(t, root, []Block{prog}, binary); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	var logs syncBuffer
	cmd := exec.Command(binary)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed when the program has ended, with exitErr set.
	var exitErr error
	exited := make(chan struct{})
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(wait):
		}
	})

	url := "ws://127.0.0.1:" + port + "/ws"
	ada, bob := newPeer(t, dialUntilUp(t, url, exited, &logs)), newPeer(t, dialUntilUp(t, url, exited, &logs))
	// Each joins the lobby in OnConnect, which may still be running when
	// the dial returns: probe until a message gets through each way.
	awaitDelivery(t, ada, bob)
	awaitDelivery(t, bob, ada)
	for _, m := range []struct {
		from, to *peer
		text     string
	}{{ada, bob, "hi bob"}, {bob, ada, "hi ada"}} {
		m.from.send(t, m.text)
		if got := m.to.next(t); got != m.text {
			t.Fatalf("read %q, want %q\nprogram output:\n%s", got, m.text, logs.String())
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*peer{"ada": ada, "bob": bob} {
		err := p.end(t)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("%s: connection ended without a close frame: %v", name, err)
		}
		if ce.Code != websocket.CloseGoingAway {
			t.Errorf("%s: close %d %q, want 1001", name, ce.Code, ce.Text)
		}
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Fatalf("program exited with %v\n%s", exitErr, logs.String())
		}
	case <-time.After(wait):
		t.Fatalf("program still running %v after SIGTERM\n%s", wait, logs.String())
	}
}

// peer is a client whose messages a goroutine reads into a channel, so a
// test can wait for one with a deadline and go on using the connection.
type peer struct {
	conn *websocket.Conn
	msgs chan string
	err  chan error // the error that ended reading, once
}

func newPeer(t *testing.T, c *websocket.Conn) *peer {
	p := &peer{conn: c, msgs: make(chan string, 64), err: make(chan error, 1)}
	go func() {
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				p.err <- err
				close(p.msgs)
				return
			}
			p.msgs <- string(data)
		}
	}()
	t.Cleanup(func() { _ = c.Close() })
	return p
}

func (p *peer) send(t *testing.T, text string) {
	t.Helper()
	if err := p.conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		t.Fatal(err)
	}
}

// next returns the next message that is not a probe.
func (p *peer) next(t *testing.T) string {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				t.Fatalf("connection ended: %v", <-p.err)
			}
			if !strings.HasPrefix(m, "probe ") {
				return m
			}
		case <-timeout:
			t.Fatalf("no message within %v", wait)
		}
	}
}

// end waits for the connection to end and returns why.
func (p *peer) end(t *testing.T) error {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case _, ok := <-p.msgs:
			if !ok {
				return <-p.err
			}
		case <-timeout:
			t.Fatalf("connection still open %v later", wait)
		}
	}
}

// awaitDelivery sends probes from one peer until one reaches the other,
// polling at a bounded pace: a probe sent before both joined is lost.
func awaitDelivery(t *testing.T, from, to *peer) {
	t.Helper()
	deadline := time.After(wait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		from.send(t, fmt.Sprintf("probe %d", i))
		select {
		case m, ok := <-to.msgs:
			if !ok {
				t.Fatalf("connection ended: %v", <-to.err)
			}
			if strings.HasPrefix(m, "probe ") {
				return
			}
			t.Fatalf("unexpected message %q", m)
		case <-tick.C:
		case <-deadline:
			t.Fatal("no message got through the lobby")
		}
	}
}

// dialUntilUp dials url until the program listens, failing if it exits.
func dialUntilUp(t *testing.T, url string, exited <-chan struct{}, logs *syncBuffer) *websocket.Conn {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		c, _, err := (&websocket.Dialer{HandshakeTimeout: wait}).Dial(url, nil)
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		select {
		case <-exited:
			t.Fatalf("program exited before it served\n%s", logs.String())
		case <-time.After(20 * time.Millisecond): // polling for the listener; bounded by deadline
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v\nprogram output:\n%s", url, err, logs.String())
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Every relative link in README.md and docs/*.md leads to a file that
// exists, and a #fragment to a heading of that file.
func TestLinks(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	files, err := MarkdownFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		links, err := Links(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			target, frag, _ := strings.Cut(l.Target, "#")
			path := filepath.Join(root, f)
			if target != "" {
				path = filepath.Join(filepath.Dir(path), filepath.FromSlash(target))
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s:%d: link to %s: no such file", f, l.Line, l.Target)
					continue
				}
			}
			if frag != "" {
				if !strings.HasSuffix(path, ".md") {
					t.Errorf("%s:%d: link %s: a fragment on a file that is not Markdown", f, l.Line, l.Target)
					continue
				}
				anchors, err := Anchors(path)
				if err != nil {
					t.Fatal(err)
				}
				if !anchors[frag] {
					t.Errorf("%s:%d: link %s: no heading with that anchor", f, l.Line, l.Target)
				}
			}
			checked++
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d links: the link parser is broken", checked)
	}
}

// Anchors are GitHub's: lower case, punctuation dropped, spaces to dashes.
func TestAnchors(t *testing.T) {
	t.Parallel()
	for heading, want := range map[string]string{
		"Origin checking (`origin`)": "origin-checking-origin",
		"`hub.Config`":               "hubconfig",
		"How the gaps in gorilla/websocket v1.5.3 are closed":  "how-the-gaps-in-gorillawebsocket-v153-are-closed",
		"Graceful shutdown on SIGTERM, with a readiness check": "graceful-shutdown-on-sigterm-with-a-readiness-check",
	} {
		if got := Anchor(heading); got != want {
			t.Errorf("Anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// Every guide in docs/ opens with a table of contents that links to each of
// its "##" sections, so a section added later is not left out.
func TestGuidesHaveContents(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	files, err := MarkdownFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	guides := 0
	for _, f := range files {
		if !strings.HasPrefix(f, "docs"+string(filepath.Separator)) || filepath.Base(f) == "README.md" {
			continue
		}
		guides++
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		start := strings.Index(text, "**Contents**")
		if start < 0 {
			t.Errorf("%s: no **Contents** list", f)
			continue
		}
		first := strings.Index(text, "\n## ")
		if first < 0 || first < start {
			t.Errorf("%s: the contents must come before the first section", f)
			continue
		}
		contents := text[start:first]
		inFence := false
		for i, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "```") {
				inFence = !inFence
			}
			if inFence || !strings.HasPrefix(line, "## ") {
				continue
			}
			if !strings.Contains(contents, "](#"+Anchor(line[3:])+")") {
				t.Errorf("%s:%d: section %q is not in the contents", f, i+1, line[3:])
			}
		}
	}
	if guides < 10 {
		t.Fatalf("found %d guides in docs/", guides)
	}
}
