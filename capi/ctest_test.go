package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCErrorPaths runs ctest/api_test.c, built with AddressSanitizer (and
// its LeakSanitizer): every function's NULL, freed-handle, wrong-kind and
// bad-value paths, and the local success paths, from C. Any failed check,
// invalid access or leak fails the program.
func TestCErrorPaths(t *testing.T) {
	dir := built(t)
	p := start(t, filepath.Join(dir, "api_test"), nil, nil)
	code := p.wait()
	out := p.output()
	if code != 0 || !strings.HasPrefix(out, "PASS ") {
		t.Fatalf("api_test exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, p.errb.String())
	}
	t.Log(out)
}
