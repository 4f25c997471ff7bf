package storetest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The suite itself is exercised by hub's TestMemoryStoreConformance; this
// package's own test binary only checks it leaks nothing when imported.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
