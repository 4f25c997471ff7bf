package interop

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"
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
	runDeflateCases(t, func(es *echoServer, tc deflateCase) string {
		res := runPython(t, py, es, tc.mode, 40)
		if len(res.Negotiated) != 1 {
			t.Fatalf("%s: python negotiated %+v", tc.mode, res.Negotiated)
		}
		p := res.Negotiated[0]
		if p.ServerTakeover != tc.want.ServerContextTakeover || p.ClientTakeover != tc.want.ClientContextTakeover ||
			p.ServerBits != tc.want.ServerWindowBits || p.ClientBits != tc.want.ClientWindowBits {
			t.Errorf("%s: python negotiated %+v, hub %+v", tc.mode, p, tc.want)
		}
		return res.Answer
	})
}
