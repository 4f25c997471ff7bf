package interop

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"

	"github.com/wsgate/wsgate/hub"
)

// python returns a Python 3 that has the websockets library (Debian:
// python3-websockets).
func python(t *testing.T) string {
	t.Helper()
	const install = "apt-get install -y python3-websockets"
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import websockets").Run() == nil {
			return path
		}
	}
	return need(t, install, "python3-with-websockets")
}

type pyResult struct {
	Error      string
	Answer     string
	Negotiated []struct {
		Name           string
		ServerTakeover bool `json:"server_takeover"`
		ClientTakeover bool `json:"client_takeover"`
		ServerBits     int  `json:"server_bits"`
		ClientBits     int  `json:"client_bits"`
	}
}

// runPython echoes n messages through es with Python's websockets
// negotiating as mode says.
func runPython(t *testing.T, py string, es *echoServer, mode string, n int) pyResult {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(py, "testdata/deflate_client.py", es.wsURL(), mode, strconv.Itoa(n))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res pyResult
	if jerr := json.Unmarshal(out, &res); err != nil || jerr != nil || res.Error != "" {
		t.Fatalf("python %s: %v %v %s\nstdout: %s\nstderr: %s", mode, err, jerr, res.Error, out, stderr.String())
	}
	return res
}

// TestPythonDeflate: Python's websockets (zlib) negotiates context takeover
// and window sizes with the hub and echoes a stream of similar messages
// through it; with takeover the stream takes far fewer bytes.
func TestPythonDeflate(t *testing.T) {
	py := python(t)
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
		res := runPython(t, py, es, tc.mode, 40)
		if d := es.session(t); d != tc.want {
			t.Errorf("%s: hub negotiated %+v, want %+v", tc.mode, d, tc.want)
		}
		if res.Answer != tc.answer {
			t.Errorf("%s: answered %q, want %q", tc.mode, res.Answer, tc.answer)
		}
		if len(res.Negotiated) != 1 {
			t.Fatalf("%s: python negotiated %+v", tc.mode, res.Negotiated)
		}
		p := res.Negotiated[0]
		if p.ServerTakeover != tc.want.ServerContextTakeover || p.ClientTakeover != tc.want.ClientContextTakeover ||
			p.ServerBits != tc.want.ServerWindowBits || p.ClientBits != tc.want.ClientWindowBits {
			t.Errorf("%s: python negotiated %+v, hub %+v", tc.mode, p, tc.want)
		}
		wire = append(wire, es.bytes.Load())
		t.Logf("%s, takeover %v: %d bytes on the wire for 40 echoes", tc.mode, tc.comp.ContextTakeover, es.bytes.Load())
	}
	if wire[0]*2 > wire[3] {
		t.Errorf("the same stream took %d bytes with context takeover, %d without: want under half", wire[0], wire[3])
	}
}
