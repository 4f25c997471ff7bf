package metrics

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// contextWithBound bounds a shutdown in a cleanup.
func contextWithBound() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), failBound)
}
