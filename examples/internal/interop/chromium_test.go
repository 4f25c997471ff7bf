package interop

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/wsgate/wsgate/examples/internal/browsertest"
	"github.com/wsgate/wsgate/hub"
)

// echoPage opens a WebSocket to /ws, sends 40 similar JSON messages one at a
// time, checks each echo, and sets window.result to "ok " and the
// negotiated extensions, or to what went wrong.
const echoPage = `<!doctype html><title>echo</title><body><script>
const msgs = [];
for (let i = 0; i < 40; i++) {
  msgs.push(JSON.stringify({type: "quote", symbol: "ACME", seq: i, bid: 100 + i % 7 + (i % 100) / 100,
    venue: "XNAS", flags: ["regular", "open"], trader: {id: 4000 + i % 3, desk: "equities-emea"},
    note: "market data update for the instrument, see the reference data service"}));
}
window.result = null;
const ws = new WebSocket(location.href.replace(/^http/, "ws").replace(/\/page$/, "/ws"));
let i = 0;
ws.onopen = () => ws.send(msgs[0]);
ws.onmessage = (e) => {
  if (e.data !== msgs[i]) { window.result = "echo " + i + " differs: " + e.data; ws.close(); return; }
  if (++i === msgs.length) { window.result = "ok " + ws.extensions; ws.close(1000); return; }
  ws.send(msgs[i]);
};
ws.onclose = (e) => { if (window.result === null) window.result = "closed " + e.code + " " + e.reason; };
document.body.textContent = "running";
</script>`

// TestChromiumDeflate: Chromium (its own deflate, with context takeover by
// default) negotiates a smaller client window with the hub and echoes a
// stream of similar messages through it; with takeover the stream takes far
// fewer bytes.
func TestChromiumDeflate(t *testing.T) {
	browser := browsertest.New(t)
	cases := []struct {
		comp   hub.Compression
		answer string
		want   hub.Deflate
	}{
		{hub.Compression{Enabled: true, ContextTakeover: true, Threshold: 1, WindowBits: 11, ClientWindowBits: 12},
			"permessage-deflate; client_max_window_bits=12",
			hub.Deflate{ServerContextTakeover: true, ClientContextTakeover: true, ServerWindowBits: 11, ClientWindowBits: 12, WindowBytes: 2048 + 4096}},
		{plain, "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			hub.Deflate{ServerWindowBits: 15, ClientWindowBits: 15}},
	}
	var wire []int64
	for _, tc := range cases {
		es := startEcho(t, tc.comp)
		tab := browsertest.Tab(t, browser)
		browsertest.Do(t, tab, "open the echo page", chromedp.Navigate(es.url+"/page"))
		browsertest.Wait(t, tab, "the echoes", `window.result !== null`)
		res, err := chromedp.Run(tab, chromedp.Evaluate[string](`window.result`))
		if err != nil || res != "ok "+tc.answer {
			t.Fatalf("takeover %v: page says %q (%v), want %q", tc.comp.ContextTakeover, res, err, "ok "+tc.answer)
		}
		if d := es.session(t); d != tc.want {
			t.Errorf("takeover %v: hub negotiated %+v, want %+v", tc.comp.ContextTakeover, d, tc.want)
		}
		wire = append(wire, es.bytes.Load())
		t.Logf("takeover %v: %d bytes on the wire (page, handshake and 40 echoes)", tc.comp.ContextTakeover, es.bytes.Load())
	}
	if wire[0]*2 > wire[1] {
		t.Errorf("the same stream took %d bytes with context takeover, %d without: want under half", wire[0], wire[1])
	}
}
