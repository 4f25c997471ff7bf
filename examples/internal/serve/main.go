package serve

import (
	"bytes"
	"context"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Main runs an example's run function with the command-line arguments and
// a context that ends on SIGINT or SIGTERM, which is how every example
// shuts down gracefully; it exits with run's error.
func Main(run func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

// Buffer collects what a program writes from several goroutines, such as
// its log lines; tests read it with String.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
