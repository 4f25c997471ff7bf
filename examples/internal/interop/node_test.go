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
)

// TestNodeDeflate: Node's ws (zlib) negotiates context takeover and window
// sizes with the hub and echoes a stream of similar messages through it;
// with takeover the stream takes far fewer bytes.
func TestNodeDeflate(t *testing.T) {
	node := nodetest.Tool(t, "node")
	ctx, cancel := context.WithTimeout(context.Background(), 5*waitFor)
	defer cancel()
	modules := nodetest.Modules(t, ctx)
	runDeflateCases(t, func(es *echoServer, tc deflateCase) string {
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, node, "testdata/deflate_client.cjs", es.wsURL(), tc.mode, strconv.Itoa(40))
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var res struct{ Error, Answer, Accepted string }
		if jerr := json.Unmarshal(out, &res); err != nil || jerr != nil || res.Error != "" {
			t.Fatalf("node %s: %v %v %s\nstdout: %s\nstderr: %s", tc.mode, err, jerr, res.Error, out, stderr.String())
		}
		if res.Accepted != "permessage-deflate" {
			t.Errorf("%s: ws accepted %q", tc.mode, res.Accepted)
		}
		return res.Answer
	})
}
