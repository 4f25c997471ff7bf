package main

// End-to-end tests of the chat page in a real headless Chromium, driven over
// the DevTools protocol with chromedp. They need the Debian package chromium
// (apt-get install -y chromium); without it they skip, or fail when
// WSGATE_REQUIRE_DEPS=1 (as in CI). Every wait is a poll of the page's DOM
// with a deadline, never a fixed sleep.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/wsgate/wsgate/examples/internal/browsertest"
	"github.com/wsgate/wsgate/hub"
)

// browserChat is one run of the chat program.
type browserChat struct {
	addr   string // host:port it listens on
	cancel context.CancelFunc
	errc   chan error
	done   bool
}

// browserStartChat runs the chat program on addr (port 0 picks one) until
// stop or the end of the test.
func browserStartChat(t *testing.T, addr string, args ...string) *browserChat {
	t.Helper()
	return browserStartChatWith(t, addr, nil, args...)
}

// browserStartChatWith is browserStartChat with the rooms' history in store
// (nil: the program's own), which can outlive the run.
func browserStartChatWith(t *testing.T, addr string, store hub.Store, args ...string) *browserChat {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	c := &browserChat{cancel: cancel, errc: make(chan error, 1)}
	go func() {
		c.errc <- runWith(ctx, append([]string{"-addr", addr}, args...), pw, store)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening on http://"); ok {
			c.addr = a
			break
		}
	}
	go io.Copy(io.Discard, pr) // ends when run returns and closes pw
	if c.addr == "" {
		cancel()
		t.Fatalf("chat on %s ended before listening: %v", addr, <-c.errc)
	}
	t.Cleanup(func() { c.stop(t) })
	return c
}

// url returns the chat's page address.
func (c *browserChat) url() string { return "http://" + c.addr + "/" }

// stop shuts the chat down (sessions get close 1001) and waits until it has
// ended; later calls do nothing.
func (c *browserChat) stop(t *testing.T) {
	t.Helper()
	if c.done {
		return
	}
	c.done = true
	c.cancel()
	if err := <-c.errc; err != nil {
		t.Errorf("chat run: %v", err)
	}
}

// browserFreeAddr returns a loopback address with a port free right now, for
// a server that must come back on the same address.
func browserFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// browserJS quotes s as a JavaScript string literal.
func browserJS(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Conditions on the chat page.
func browserStatusIs(state string) string {
	return `document.getElementById("status").dataset.state === ` + browserJS(state)
}

func browserMembersAre(names ...string) string {
	return `[...document.querySelectorAll("#members li")].map((e) => e.textContent).join(",") === ` +
		browserJS(strings.Join(names, ","))
}

func browserHasMessage(name, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#log li.msg")].some((li) =>
		li.querySelector(".who").textContent === %s && li.querySelector(".text").textContent === %s)`,
		browserJS(name), browserJS(text))
}

func browserHasNote(prefix string) string {
	return `[...document.querySelectorAll("#log li.sys")].some((li) => li.textContent.startsWith(` + browserJS(prefix) + `))`
}

// browserEnter opens the chat at pageURL in tab as name and joins room.
func browserEnter(t *testing.T, tab context.Context, pageURL, name, room string) {
	t.Helper()
	browsertest.Do(t, tab, name+" enters",
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.Click(chromedp.CSS("#hello button")),
		chromedp.WaitVisible(chromedp.ID("room")),
		chromedp.SetValue(chromedp.ID("room"), room),
		chromedp.Click(chromedp.CSS("#join button")),
	)
	browsertest.Wait(t, tab, name+"'s socket to open", browserStatusIs("open"))
}

// browserSay sends text from the chat page in tab.
func browserSay(t *testing.T, tab context.Context, text string) {
	t.Helper()
	browsertest.Do(t, tab, "say "+text,
		chromedp.SendKeys(chromedp.ID("text"), text),
		chromedp.Click(chromedp.CSS("#say button")),
	)
}

func TestBrowserTwoPagesChat(t *testing.T) {
	ada := browsertest.New(t)
	bob := browsertest.Tab(t, ada)
	chat := browserStartChat(t, "127.0.0.1:0")
	browsertest.Do(t, ada, "set the viewport", chromedp.EmulateViewport(1024, 640))

	browserEnter(t, ada, chat.url(), "ada", "lobby")
	browsertest.Wait(t, ada, "ada in the member list", browserMembersAre("ada"))
	browserEnter(t, bob, chat.url(), "bob", "lobby")
	for _, p := range []struct {
		name string
		tab  context.Context
	}{{"ada", ada}, {"bob", bob}} {
		browsertest.Wait(t, p.tab, p.name+"'s member list to hold both", browserMembersAre("ada", "bob"))
	}
	browsertest.Wait(t, ada, "ada to see bob join", browserHasNote("→ bob joined"))

	browserSay(t, ada, "hi bob, this is wsgate")
	browsertest.Wait(t, bob, "bob to see ada's message", browserHasMessage("ada", "hi bob, this is wsgate"))
	browserSay(t, bob, "hello ada, I see you")
	browsertest.Wait(t, ada, "ada to see bob's message", browserHasMessage("bob", "hello ada, I see you"))
	browserSay(t, ada, "rooms, members and reconnects work in the browser too")
	browsertest.Wait(t, bob, "bob to see ada's second message", browserHasMessage("ada", "rooms, members and reconnects work in the browser too"))
	browsertest.Wait(t, ada, "ada to see her own message", browserHasMessage("ada", "rooms, members and reconnects work in the browser too"))

	browserScreenshot(t, ada, "chat.png")
}

// browserScreenshot saves what tab shows as a PNG into the test's artifact
// directory (kept with go test -artifacts -outputdir DIR), and into
// docs/chat.png when WSGATE_UPDATE_DOCS=1.
func browserScreenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, browsertest.WaitFor)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.DecodeConfig(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if img.Width != 1024 || img.Height != 640 {
		t.Errorf("screenshot is %dx%d, want 1024x640", img.Width, img.Height)
	}
	dirs := []string{t.ArtifactDir()}
	if os.Getenv("WSGATE_UPDATE_DOCS") == "1" {
		dirs = append(dirs, filepath.Join("..", "..", "docs"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", p, len(buf))
	}
}

func TestBrowserReconnectAfterRestart(t *testing.T) {
	ada := browsertest.New(t)
	bob := browsertest.Tab(t, ada)
	addr := browserFreeAddr(t)
	first := browserStartChat(t, addr)
	pages := []struct {
		name string
		tab  context.Context
	}{{"ada", ada}, {"bob", bob}}
	browserEnter(t, ada, first.url(), "ada", "lobby")
	browserEnter(t, bob, first.url(), "bob", "lobby")
	for _, p := range pages {
		browsertest.Wait(t, p.tab, p.name+"'s member list to hold both", browserMembersAre("ada", "bob"))
	}

	// Shutdown sends close 1001; the pages show it and start retrying.
	first.stop(t)
	for _, p := range pages {
		browsertest.Wait(t, p.tab, p.name+" to report close 1001", browserHasNote("disconnected: closed 1001"))
		browsertest.Wait(t, p.tab, p.name+" to clear its stale member list", browserMembersAre())
	}
	// Said while disconnected: queued, and sent after the replayed hello and
	// join (before them the server would refuse it).
	browserSay(t, bob, "queued while offline")

	// Back on the same address: both pages reconnect by themselves and
	// replay hello and their join, so the new server knows both again.
	second := browserStartChat(t, addr)
	if second.addr != addr {
		t.Fatalf("restarted on %s, want %s", second.addr, addr)
	}
	for _, p := range pages {
		browsertest.Wait(t, p.tab, p.name+"'s socket to reopen", browserStatusIs("open"))
		browsertest.Wait(t, p.tab, p.name+" to note the reconnect", browserHasNote("reconnected"))
		browsertest.Wait(t, p.tab, p.name+"'s member list to hold both again", browserMembersAre("ada", "bob"))
	}
	browsertest.Wait(t, bob, "bob's queued message to be delivered", browserHasMessage("bob", "queued while offline"))
	browsertest.Wait(t, bob, "no refusal", `document.getElementById("notice").hidden`)
	browserSay(t, bob, "still here after the restart")
	browsertest.Wait(t, ada, "ada to see bob's message after the restart", browserHasMessage("bob", "still here after the restart"))
	browserSay(t, ada, "me too")
	browsertest.Wait(t, bob, "bob to see ada's message after the restart", browserHasMessage("ada", "me too"))
}

// browserProbe opens a WebSocket to the URL in the page's ?ws= parameter and
// writes what happens into #probe: "open chat.v1", "error", "close CODE".
const browserProbe = `(() => {
  const out = document.createElement("pre");
  out.id = "probe";
  document.body.append(out);
  const say = (s) => { out.textContent += s + "\n"; };
  const ws = new WebSocket(new URLSearchParams(location.search).get("ws"), ["chat.v1"]);
  ws.onopen = () => { say("open " + ws.protocol); ws.close(1000); };
  ws.onerror = () => say("error");
  ws.onclose = (e) => { say("close " + e.code); out.dataset.done = "1"; };
})();`

// browserProbeResult runs the probe in a new tab at pageURL (which serves
// the probe) against wsURL. It returns the probe's lines and, as the browser's
// DevTools saw it, the Origin header the handshake sent and its outcome:
// "status 101" or the browser's handshake error (the page itself only ever
// learns "error" and close 1006).
func browserProbeResult(t *testing.T, browser context.Context, pageURL, wsURL string) (lines, origin, handshake string) {
	t.Helper()
	tab := browsertest.Tab(t, browser)
	ctx, cancel := context.WithTimeout(tab, browsertest.WaitFor)
	defer cancel()
	seen := make(chan [2]string, 8) // {kind, value}; the listener must not block
	note := func(kind, value string) {
		select {
		case seen <- [2]string{kind, value}:
		default:
		}
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventWebSocketWillSendHandshakeRequest:
			o, _ := ev.Request.Headers["Origin"].(string)
			note("origin", o)
		case *network.EventWebSocketHandshakeResponseReceived:
			note("handshake", fmt.Sprintf("status %d", ev.Response.Status))
		case *network.EventWebSocketFrameError:
			note("handshake", ev.ErrorMessage)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Do(t, tab, "open the probe page", chromedp.Navigate(pageURL+"?ws="+url.QueryEscape(wsURL)))
	browsertest.Wait(t, tab, "the probe to end", `document.getElementById("probe")?.dataset.done === "1"`)
	lines, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("probe").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	for handshake == "" {
		select {
		case kv := <-seen:
			switch kv[0] {
			case "origin":
				origin = kv[1]
			case "handshake":
				handshake = kv[1]
			}
		case <-ctx.Done():
			t.Fatalf("no handshake outcome seen for %s (probe: %q)", wsURL, lines)
		}
	}
	return strings.TrimSpace(lines), origin, handshake
}

func TestBrowserForeignOriginRefused(t *testing.T) {
	browser := browsertest.New(t)
	chat := browserStartChat(t, "127.0.0.1:0")
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>probe</title><body><script>%s</script></body>", browserProbe)
	}))
	t.Cleanup(foreign.Close)
	wsURL := "ws://" + chat.addr + "/ws"

	t.Run("foreign page refused", func(t *testing.T) {
		lines, origin, handshake := browserProbeResult(t, browser, foreign.URL+"/", wsURL)
		if lines != "error\nclose 1006" {
			t.Errorf("probe from %s saw %q, want error then close 1006", foreign.URL, lines)
		}
		if origin != foreign.URL {
			t.Errorf("handshake sent Origin %q, want %q", origin, foreign.URL)
		}
		if !strings.HasSuffix(handshake, "Unexpected response code: 403") {
			t.Errorf("handshake outcome %q, want the chat's 403", handshake)
		}
	})

	t.Run("same-origin control opens", func(t *testing.T) {
		// The same probe script, run in a page of the chat's own origin
		// (its index page; the chat script there stays idle until a name is
		// entered), proves the probe can see a socket open.
		tab := browsertest.Tab(t, browser)
		browsertest.Do(t, tab, "open the chat page", chromedp.Navigate(chat.url()+"?ws="+url.QueryEscape(wsURL)))
		ctx, cancel := context.WithTimeout(tab, browsertest.WaitFor)
		defer cancel()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](browserProbe)); err != nil {
			t.Fatal(err)
		}
		browsertest.Wait(t, tab, "the probe to end", `document.getElementById("probe")?.dataset.done === "1"`)
		lines, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("probe").textContent`))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(lines); got != "open chat.v1\nclose 1000" {
			t.Errorf("same-origin probe saw %q, want open chat.v1 then close 1000", got)
		}
	})

	t.Run("foreign page allowed by -allowed-origin", func(t *testing.T) {
		// The same foreign page opens the socket once the chat allows its
		// origin: the refusal above is the origin policy, nothing else.
		allowing := browserStartChat(t, "127.0.0.1:0", "-allowed-origin", foreign.URL)
		lines, origin, handshake := browserProbeResult(t, browser, foreign.URL+"/", "ws://"+allowing.addr+"/ws")
		if lines != "open chat.v1\nclose 1000" {
			t.Errorf("allowed foreign probe saw %q, want open chat.v1 then close 1000", lines)
		}
		if origin != foreign.URL || handshake != "status 101" {
			t.Errorf("handshake from Origin %q: %q, want %q: status 101", origin, handshake, foreign.URL)
		}
	})
}

// TestBrowserClientModule checks wsgate.js on its own in the page: the send
// queue is bounded, a refused connection is reported as close 1006 and
// retried, the delays back off within their caps, and a final close code
// stops the retries.
func TestBrowserClientModule(t *testing.T) {
	tab := browsertest.New(t)
	chat := browserStartChat(t, "127.0.0.1:0")
	dead := "ws://" + browserFreeAddr(t) + "/ws" // nothing listens there
	browsertest.Do(t, tab, "open the chat page", chromedp.Navigate(chat.url()))
	ctx, cancel := context.WithTimeout(tab, browsertest.WaitFor)
	defer cancel()
	type closeInfo struct {
		Code  int     `json:"code"`
		Retry bool    `json:"retry"`
		Delay float64 `json:"delay"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Queue   []string    `json:"queue"`
		Dropped int         `json:"dropped"`
		Drops   []string    `json:"drops"`
		Closes  []closeInfo `json:"closes"`
		State   string      `json:"state"`
	}](`(async () => {
		const { Client } = await import("/wsgate.js");
		const c = new Client(`+browserJS(dead)+`, { maxQueue: 2, minDelay: 10, maxDelay: 40 });
		const drops = [], closes = [];
		c.addEventListener("drop", (e) => drops.push(e.detail.data));
		for (const m of ["a", "b", "c"]) c.send(m);
		await new Promise((resolve) => {
			c.addEventListener("close", (e) => {
				closes.push(e.detail);
				if (closes.length === 6) { c.close(); resolve(); }
			});
			c.connect();
			c.connect(); // a second call while connecting does nothing
		});
		return { queue: c.queue, dropped: c.dropped, drops, closes, state: c.state };
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Queue, ",") != "b,c" || got.Dropped != 1 || strings.Join(got.Drops, ",") != "a" {
		t.Errorf("queue %v, dropped %d %v; want [b c], 1 [a]", got.Queue, got.Dropped, got.Drops)
	}
	if got.State != "closed" {
		t.Errorf("state after close() %q, want closed", got.State)
	}
	if len(got.Closes) != 6 {
		t.Fatalf("%d closes, want 6", len(got.Closes))
	}
	caps := []float64{10, 20, 40, 40, 40, 40}
	for i, c := range got.Closes {
		if c.Code != 1006 || !c.Retry || c.Delay < 0 || c.Delay >= caps[i] {
			t.Errorf("close %d: %+v, want code 1006, retry, delay in [0, %v)", i, c, caps[i])
		}
	}

	// A close the server means as final (1003 for a binary message here)
	// reaches the page with its reason and ends the reconnecting.
	final, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
		Retry  bool   `json:"retry"`
		State  string `json:"state"`
	}](`(async () => {
		const { Client } = await import("/wsgate.js");
		const c = new Client("/ws", { protocols: ["chat.v1"] });
		c.addEventListener("open", () => c.send(new Uint8Array([1])));
		const d = await new Promise((resolve) => {
			c.addEventListener("close", (e) => resolve(e.detail));
			c.connect();
		});
		return { ...d, state: c.state };
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if final.Code != 1003 || final.Reason != "chat.v1 speaks text only" || final.Retry || final.State != "closed" {
		t.Errorf("after a binary message: %+v, want code 1003 with the reason, no retry, state closed", final)
	}
}
