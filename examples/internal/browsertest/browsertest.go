// Package browsertest starts a headless Chromium for tests and drives it
// over the DevTools protocol with chromedp. Tests need the Debian package
// chromium (apt-get install -y chromium); without it they skip, or fail when
// WSGATE_REQUIRE_DEPS=1 says the environment must have it (as in CI). Every
// wait is a poll of the page with a deadline, never a fixed sleep.
package browsertest

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wsgate/wsgate/internal/testdeps"
)

// WaitFor bounds every wait for a condition in a page.
const WaitFor = 15 * time.Second

// Path returns the Chromium binary. When it is missing the test skips, or
// fails when WSGATE_REQUIRE_DEPS=1.
func Path(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testdeps.Missing(t, "chromium", "browser tests", "apt-get install -y chromium")
	return ""
}

// New starts a headless Chromium with a fresh profile and returns the
// context of its first tab. The browser ends with the test.
func New(t testing.TB) context.Context {
	t.Helper()
	path := Path(t)
	profile := t.TempDir() // removed after the browser has ended (cleanups run last-in first-out)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1024, 640),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		defer ccancel()
		chromedp.Cancel(cctx) // closes the browser gracefully
		cancel()
		acancel() // kills it if it is still there, and waits for the process
	})
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(ctx) }() // the first Do starts the browser
	select {
	case err := <-start:
		if err != nil {
			t.Fatalf("start chromium: %v", err)
		}
	case <-time.After(30 * time.Second):
		acancel()
		t.Fatal("chromium did not start within 30s")
	}
	return ctx
}

// Tab opens another tab in the browser of parent.
func Tab(t testing.TB, parent context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	// The first Do opens the tab and binds it to the context it is given, so
	// it gets ctx itself, not one with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// Do runs actions in tab with a deadline.
func Do(t testing.TB, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, WaitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, State(tab))
	}
}

// Wait polls the JavaScript condition cond in tab until it is true.
func Wait(t testing.TB, tab context.Context, what, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, WaitFor+time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(WaitFor)))
	if err != nil {
		t.Fatalf("waiting for %s: %v\n%s", what, err, State(tab))
	}
}

// State describes what the tab shows, for failure messages.
func State(tab context.Context) string {
	ctx, cancel := context.WithTimeout(tab, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(page state unavailable: " + err.Error() + ")"
	}
	return "page text:\n" + s
}
