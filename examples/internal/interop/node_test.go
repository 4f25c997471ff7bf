package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/wsgate/wsgate/examples/internal/nodetest"
	"github.com/wsgate/wsgate/hub"
)

// TestNodeDeflate: Node's ws (zlib) negotiates context takeover and window
// sizes with the hub and echoes a stream of similar messages through it;
// with takeover the stream takes far fewer bytes.
func TestNodeDeflate(t *testing.T) {
	node := nodetest.Tool(t, "node")
	ctx, cancel := context.WithTimeout(context.Background(), 5*waitFor)
	defer cancel()
	modules := nodetest.Modules(t, ctx)
	cases := []struct {
		mode   string
		comp   hub.Compression
		answer string
		want   hub.Deflate
	}{
		{"default", takeover, "permessage-deflate", hub.Deflate{ServerContextTakeover: true, ClientContextTakeover: true,
			ServerWindowBits: 15, ClientWindowBits: 15, WindowBytes: 64 << 10}},
		{"windows", hub.Compression{Enabled: true, ContextTakeover: true, Threshold: 1, WindowBits: 12, ClientWindowBits: 9},
			"permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
			hub.Deflate{ServerContextTakeover: true, ClientContextTakeover: true, ServerWindowBits: 10, ClientWindowBits: 9, WindowBytes: 1024 + 512}},
		{"no-takeover", takeover, "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			hub.Deflate{ServerWindowBits: 15, ClientWindowBits: 15}},
		{"default", plain, "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			hub.Deflate{ServerWindowBits: 15, ClientWindowBits: 15}},
	}
	var wire []int64
	for _, tc := range cases {
		es := startEcho(t, tc.comp)
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, node, "testdata/deflate_client.cjs", es.wsURL(), tc.mode, strconv.Itoa(40))
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var res struct{ Error, Answer, Accepted string }
		if jerr := json.Unmarshal(out, &res); err != nil || jerr != nil || res.Error != "" {
			t.Fatalf("node %s: %v %v %s\nstdout: %s\nstderr: %s", tc.mode, err, jerr, res.Error, out, stderr.String())
		}
		if d := es.session(t); d != tc.want {
			t.Errorf("%s: hub negotiated %+v, want %+v", tc.mode, d, tc.want)
		}
		if res.Answer != tc.answer || res.Accepted != "permessage-deflate" {
			t.Errorf("%s: answered %q (ws accepted %q), want %q", tc.mode, res.Answer, res.Accepted, tc.answer)
		}
		wire = append(wire, es.bytes.Load())
		t.Logf("%s, takeover %v: %d bytes on the wire for 40 echoes", tc.mode, tc.comp.ContextTakeover, es.bytes.Load())
	}
	if wire[0]*2 > wire[3] {
		t.Errorf("the same stream took %d bytes with context takeover, %d without: want under half", wire[0], wire[3])
	}
}
