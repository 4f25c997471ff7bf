package ratelimit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/wsgate/wsgate/ratelimit"
)

func TestNewMessageLimiterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   ratelimit.MessageConfig
		field string
	}{
		{name: "negative PerSession", cfg: ratelimit.MessageConfig{PerSession: -1, SessionBurst: 1}, field: "MessageConfig.PerSession"},
		{name: "zero SessionBurst", cfg: ratelimit.MessageConfig{PerSession: 10}, field: "MessageConfig.SessionBurst"},
		{name: "negative SessionBurst", cfg: ratelimit.MessageConfig{SessionBurst: -1}, field: "MessageConfig.SessionBurst"},
		{name: "negative Global", cfg: ratelimit.MessageConfig{Global: -1}, field: "MessageConfig.Global"},
		{name: "zero GlobalBurst", cfg: ratelimit.MessageConfig{Global: 100}, field: "MessageConfig.GlobalBurst"},
		{name: "unknown Policy", cfg: ratelimit.MessageConfig{Policy: 7}, field: "MessageConfig.Policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ratelimit.NewMessageLimiter(tc.cfg)
			if !errors.Is(err, ratelimit.ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want ErrConfig naming %s", err, tc.field)
			}
		})
	}
}

func mustMessageLimiter(t *testing.T, cfg ratelimit.MessageConfig) *ratelimit.MessageLimiter {
	t.Helper()
	l, err := ratelimit.NewMessageLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestMessageUnlimited(t *testing.T) {
	t.Parallel()
	s := mustMessageLimiter(t, ratelimit.MessageConfig{PerSession: rate.Inf}).Session()
	for range 1000 {
		if ok, err := s.Allow(context.Background()); !ok || err != nil {
			t.Fatalf("Allow = %v, %v without limits", ok, err)
		}
	}
}

func TestMessageDropPolicy(t *testing.T) {
	t.Parallel()
	l := mustMessageLimiter(t, ratelimit.MessageConfig{PerSession: rate.Every(time.Hour), SessionBurst: 2})
	s := l.Session()
	for i := range 2 {
		if ok, err := s.Allow(context.Background()); !ok || err != nil {
			t.Fatalf("message %d: Allow = %v, %v; want true, nil", i, ok, err)
		}
	}
	for range 3 {
		if ok, err := s.Allow(context.Background()); ok || err != nil {
			t.Fatalf("over the rate: Allow = %v, %v; want false, nil", ok, err)
		}
	}
	if l.Dropped() != 3 || s.Dropped() != 3 || l.Rejected() != 0 {
		t.Fatalf("Dropped = %d (session %d), Rejected = %d; want 3, 3, 0", l.Dropped(), s.Dropped(), l.Rejected())
	}
	// Another session has its own bucket.
	if ok, _ := l.Session().Allow(context.Background()); !ok {
		t.Fatal("a second session was limited by the first one's bucket")
	}
}

func TestMessageRejectPolicy(t *testing.T) {
	t.Parallel()
	l := mustMessageLimiter(t, ratelimit.MessageConfig{PerSession: rate.Every(time.Hour), SessionBurst: 1, Policy: ratelimit.Reject})
	s := l.Session()
	if ok, err := s.Allow(context.Background()); !ok || err != nil {
		t.Fatalf("first message: Allow = %v, %v", ok, err)
	}
	ok, err := s.Allow(context.Background())
	var le *ratelimit.LimitError
	if ok || !errors.Is(err, ratelimit.ErrRateLimited) || !errors.As(err, &le) || le.Scope != ratelimit.ScopeSessionMessage {
		t.Fatalf("over the rate: Allow = %v, %v; want false and a session LimitError", ok, err)
	}
	if n := len(err.Error()); n > 123 {
		t.Fatalf("close reason is %d bytes, want <= 123: %q", n, err.Error())
	}
	if l.Rejected() != 1 || l.Dropped() != 0 {
		t.Fatalf("Rejected = %d, Dropped = %d; want 1, 0", l.Rejected(), l.Dropped())
	}
}

type allowResult struct {
	ok  bool
	err error
}

func goAllow(ctx context.Context, s *ratelimit.SessionLimiter) <-chan allowResult {
	ch := make(chan allowResult, 1)
	go func() {
		ok, err := s.Allow(ctx)
		ch <- allowResult{ok, err}
	}()
	return ch
}

func TestMessageDelayPolicyBlocksUntilContextEnds(t *testing.T) {
	t.Parallel()
	l := mustMessageLimiter(t, ratelimit.MessageConfig{PerSession: rate.Every(time.Hour), SessionBurst: 1, Policy: ratelimit.Delay})
	s := l.Session()
	if ok, err := s.Allow(context.Background()); !ok || err != nil {
		t.Fatalf("first message: Allow = %v, %v", ok, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := goAllow(ctx, s)
	cancel()
	// Had Allow not blocked, it would have answered true before cancel.
	if r := <-done; r.ok || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Allow = %v, %v; want false, context.Canceled", r.ok, r.err)
	}
	if l.Dropped() != 0 || l.Rejected() != 0 {
		t.Fatalf("Delay counted a drop or reject: %d, %d", l.Dropped(), l.Rejected())
	}
}

func TestMessageDelayPolicyPasses(t *testing.T) {
	t.Parallel()
	l := mustMessageLimiter(t, ratelimit.MessageConfig{PerSession: rate.Every(20 * time.Millisecond), SessionBurst: 1, Policy: ratelimit.Delay})
	s := l.Session()
	for i := range 4 {
		if r := <-goAllow(context.Background(), s); !r.ok || r.err != nil {
			t.Fatalf("message %d: Allow = %v, %v; want true, nil after waiting", i, r.ok, r.err)
		}
	}
}

// TestMessageGlobalVersusSession: each session has its own bucket, all
// share the global one, and a refused message spends no token of either.
func TestMessageGlobalVersusSession(t *testing.T) {
	t.Parallel()
	l := mustMessageLimiter(t, ratelimit.MessageConfig{
		PerSession: rate.Every(time.Hour), SessionBurst: 2,
		Global: rate.Every(time.Hour), GlobalBurst: 3,
		Policy: ratelimit.Reject,
	})
	s1, s2, s3 := l.Session(), l.Session(), l.Session()
	tests := []struct {
		name  string
		s     *ratelimit.SessionLimiter
		scope ratelimit.Scope // "" means allowed
	}{
		{name: "s1 first", s: s1},
		{name: "s1 second", s: s1},
		{name: "s1 over its session burst", s: s1, scope: ratelimit.ScopeSessionMessage},
		{name: "s2 takes the last global token", s: s2},
		{name: "s2 over the global burst", s: s2, scope: ratelimit.ScopeGlobalMessage},
		{name: "s3 fresh session, global exhausted", s: s3, scope: ratelimit.ScopeGlobalMessage},
	}
	for _, tc := range tests { // sequential: each step spends tokens
		ok, err := tc.s.Allow(context.Background())
		if tc.scope == "" {
			if !ok || err != nil {
				t.Fatalf("%s: Allow = %v, %v; want true, nil", tc.name, ok, err)
			}
			continue
		}
		var le *ratelimit.LimitError
		if ok || !errors.As(err, &le) || le.Scope != tc.scope {
			t.Fatalf("%s: Allow = %v, %v; want refusal with scope %q", tc.name, ok, err, tc.scope)
		}
	}
	if l.Rejected() != 3 {
		t.Fatalf("Rejected = %d, want 3", l.Rejected())
	}
}

func TestPolicyString(t *testing.T) {
	t.Parallel()
	for p, want := range map[ratelimit.Policy]string{ratelimit.Drop: "drop", ratelimit.Reject: "reject", ratelimit.Delay: "delay", 9: "Policy(9)"} {
		if got := p.String(); got != want {
			t.Errorf("Policy(%d).String() = %q, want %q", int(p), got, want)
		}
	}
}
