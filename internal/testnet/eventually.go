package testnet

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Polling cadence: a condition is checked at once, then after firstPoll,
// and the pause doubles up to maxPoll, so that a condition met quickly is
// seen quickly and an expensive one (a ctl process, an HTTP call) is not
// run in a tight loop.
const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 100 * time.Millisecond
)

// WaitError is what Poll returns when ctx ends before the condition holds:
// what was awaited, for how long, and the condition's last complaint.
type WaitError struct {
	What    string        // what was awaited, e.g. "n1 and n2 to run together"
	Last    string        // the condition's last answer: the state it saw
	Elapsed time.Duration // how long Poll waited
	Err     error         // ctx's error
}

func (e *WaitError) Error() string {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return fmt.Sprintf("after %v, still not %s: %s", e.Elapsed.Round(time.Millisecond), e.What, e.Last)
	}
	return fmt.Sprintf("stopped waiting for %s after %v (%v): %s", e.What, e.Elapsed.Round(time.Millisecond), e.Err, e.Last)
}

func (e *WaitError) Unwrap() error { return e.Err }

// Poll calls cond until it returns "" or ctx ends. cond returns "" once what
// it waits for holds, and otherwise a short description of the state it
// saw ("n1 runs [n1 n2]"), which the error reports. Poll checks at once,
// then at growing intervals (5 ms up to 100 ms). It returns how long it
// waited, and a *WaitError when ctx ended first.
func Poll(ctx context.Context, what string, cond func() string) (time.Duration, error) {
	return poll(ctx, what, cond, firstPoll, maxPoll)
}

// PollEvery is Poll at a fixed interval: for a benchmark that measures how
// long something takes and must see it at the same resolution every time.
func PollEvery(ctx context.Context, every time.Duration, what string, cond func() string) (time.Duration, error) {
	if every <= 0 {
		return 0, fmt.Errorf("testnet: poll interval %v, want > 0", every)
	}
	return poll(ctx, what, cond, every, every)
}

func poll(ctx context.Context, what string, cond func() string, pause, maxPause time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		last := cond()
		if last == "" {
			return time.Since(start), nil
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			// One last look: the condition may have come true while
			// the context ran out.
			if last = cond(); last == "" {
				return time.Since(start), nil
			}
			return time.Since(start), &WaitError{What: what, Last: last, Elapsed: time.Since(start), Err: ctx.Err()}
		case <-timer.C:
		}
		pause = min(2*pause, maxPause)
	}
}

// Eventually waits up to d for cond to return "" (see Poll) and fails the
// test, naming what and the last state cond saw, when it does not. It
// returns how long it waited. Like t.Fatal, call it from the test's own
// goroutine.
func Eventually(t TB, d time.Duration, what string, cond func() string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return EventuallyCtx(t, ctx, what, cond)
}

// EventuallyCtx is Eventually until ctx ends (a test's shared deadline).
func EventuallyCtx(t TB, ctx context.Context, what string, cond func() string) time.Duration {
	t.Helper()
	took, err := Poll(ctx, what, cond)
	if err != nil {
		t.Fatal(err)
	}
	return took
}

// True adapts a yes/no condition to Poll and Eventually: while cond is
// false the state reported is "condition false". Prefer a condition that
// says what it saw.
func True(cond func() bool) func() string {
	return func() string {
		if cond() {
			return ""
		}
		return "condition false"
	}
}

// Context returns a context that ends after d, or when the test ends (its
// cancel runs in the test's cleanup): the deadline of one step of a test.
func Context(t TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
