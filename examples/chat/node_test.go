package main

// The tests of the client package in js/ (wsgate.js) run by Node's test
// runner against a real chat server started here, with history on. They
// need node (apt-get install -y nodejs npm) and, before Node 22 (which has
// a global WebSocket), the ws package, which this test installs with npm
// into js/node_modules from js/package-lock.json. Without node or npm they
// skip, or fail when WSGATE_REQUIRE_DEPS=1 (as in CI).

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsgate/wsgate/examples/internal/nodetest"
	"github.com/wsgate/wsgate/hub"
)

// jsDir is the client package, from this package's directory.
const jsDir = "../../js"

// nodeWait bounds npm ci and the whole node --test run: a failure bound on
// a loaded machine, never a measurement.
const nodeWait = 5 * time.Minute

// sessionsWait bounds a wait of /test/sessions for a count: a failure
// bound, shorter than the Node tests' own (env.js's wait).
const sessionsWait = 5 * time.Second

//go:generate cp ../../js/wsgate.js static/wsgate.js

// TestClientCopyIsCurrent checks that the chat serves the client package's
// wsgate.js as it is: static/wsgate.js is a copy (embed cannot reach
// outside this directory), refreshed by go generate.
func TestClientCopyIsCurrent(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(jsDir, "wsgate.js"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := static.ReadFile("static/wsgate.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("examples/chat/static/wsgate.js differs from js/wsgate.js: run go generate ./examples/chat")
	}
}

// nodeTestServer serves the chat with history on 127.0.0.1, plus what the
// Node tests need the server to do:
//
//	POST /test/close?name=N&code=C&reason=R  closes every session of chatter N; says how many
//	GET  /test/sessions?name=N               says how many sessions chatter N has
//	GET  /test/sessions?name=N&await=K       the same, once that is K (or after sessionsWait)
func nodeTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := hub.New(hub.Config{MaxTextMessage: 4096, History: chatHistory(nil)})
	if err != nil {
		t.Fatal(err)
	}
	newChat(h, false)
	mux, err := newHandler(h, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sessionsOf := func(n string) []string {
		var ids []string
		for _, id := range h.SessionIDs() {
			if s, ok := h.Session(id); ok && name(s) == n {
				ids = append(ids, id)
			}
		}
		return ids
	}
	mux.HandleFunc("POST /test/close", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.FormValue("code"))
		if err != nil {
			http.Error(w, "bad code", http.StatusBadRequest)
			return
		}
		ids := sessionsOf(r.FormValue("name"))
		for _, id := range ids {
			if err := h.CloseSession(id, code, r.FormValue("reason")); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		}
		w.Write([]byte(strconv.Itoa(len(ids))))
	})
	mux.HandleFunc("GET /test/sessions", func(w http.ResponseWriter, r *http.Request) {
		n := r.FormValue("name")
		if a := r.FormValue("await"); a != "" {
			want, err := strconv.Atoi(a)
			if err != nil {
				http.Error(w, "bad await", http.StatusBadRequest)
				return
			}
			// A client sees its close frame before the hub has ended the
			// session: wait (boundedly) for the count to settle.
			deadline := time.NewTimer(sessionsWait)
			defer deadline.Stop()
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
		wait:
			for len(sessionsOf(n)) != want {
				select {
				case <-tick.C:
				case <-deadline.C:
					break wait
				case <-r.Context().Done():
					return
				}
			}
		}
		w.Write([]byte(strconv.Itoa(len(sessionsOf(n)))))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := h.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		srv.Close()
	})
	return srv
}

// TestNodeClient runs js/test/*.test.js with node --test against the chat.
func TestNodeClient(t *testing.T) {
	node := nodetest.Tool(t, "node")
	ctx, cancel := context.WithTimeout(context.Background(), nodeWait)
	defer cancel()
	dir := nodetest.JSDir(t)
	if nodetest.Major(t, ctx, node) < 22 {
		// No global WebSocket: the tests use ws, a devDependency.
		nodetest.Modules(t, ctx)
	}
	files, err := filepath.Glob(filepath.Join(dir, "test", "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no js/test/*.test.js (%v)", err)
	}
	srv := nodeTestServer(t)
	base := strings.TrimPrefix(srv.URL, "http://")
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"WSGATE_URL=ws://"+base+"/ws",
		"WSGATE_CONTROL=http://"+base+"/test/",
		"NO_COLOR=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
	if !bytes.Contains(out, []byte("fail 0")) {
		t.Fatalf("node --test passed without its summary:\n%s", out)
	}
}
