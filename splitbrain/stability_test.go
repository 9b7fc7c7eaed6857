package splitbrain

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// TestStabilityActsOnceTheViewHoldsStill: a decision is acted on only when
// the view has not changed for stableAfter; every change starts the wait
// again.
func TestStabilityActsOnceTheViewHoldsStill(t *testing.T) {
	s := stability{stableAfter: time.Second, unstableAfter: -1}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	require.Equal(t, wait, s.observe(at(0), "a", true, true))
	require.Equal(t, wait, s.observe(at(999), "a", true, false))
	require.Equal(t, act, s.observe(at(1000), "a", true, false))
	require.Equal(t, wait, s.observe(at(1500), "b", true, true), "a change starts the wait again")
	require.Equal(t, wait, s.observe(at(2499), "b", true, false))
	require.Equal(t, act, s.observe(at(2500), "b", false, false))
}

// TestStabilityFlapping: a view that keeps changing with a split for
// stableAfter + unstableAfter is unstable, until no split has been seen for
// stableAfter; with unstableAfter < 0 it never is.
func TestStabilityFlapping(t *testing.T) {
	flap := func(s *stability, until int) (first int) {
		first = -1
		for ms := 0; ms <= until; ms += 100 {
			key, split, lost := "whole", false, false
			if (ms/300)%2 == 0 {
				key, split, lost = "cut", true, ms%300 == 0
			}
			if s.observe(t0.Add(time.Duration(ms)*time.Millisecond), key, split, lost) == unstable && first < 0 {
				first = ms
			}
		}
		return first
	}
	s := stability{stableAfter: time.Second, unstableAfter: 750 * time.Millisecond}
	require.Equal(t, 1800, flap(&s, 3000), "unstable from the first check at or past 1.75 s")
	require.Equal(t, 3000*time.Millisecond, s.unstableFor(t0.Add(3*time.Second)))

	// The network holds still and whole: unstable until the view has held
	// still for stableAfter, then act.
	end := t0.Add(3 * time.Second)
	require.Equal(t, wait, s.observe(end.Add(100*time.Millisecond), "whole", false, false), "a whole view is never unstable")
	require.Equal(t, act, s.observe(end.Add(1100*time.Millisecond), "whole", false, false))
	require.Zero(t, s.unstableFor(end.Add(1100*time.Millisecond)), "the episode is over")

	// A split that holds still is decided, and a change after it (the
	// network heals) starts no episode from the split's beginning.
	held := stability{stableAfter: time.Second, unstableAfter: 750 * time.Millisecond}
	require.Equal(t, wait, held.observe(t0, "cut", true, true))
	require.Equal(t, act, held.observe(t0.Add(5*time.Second), "cut", true, false))
	require.Equal(t, wait, held.observe(t0.Add(5100*time.Millisecond), "healing", true, false))
	// A heal that brings links back slowly, one at a time, loses none: not
	// unstable however long it takes.
	for ms := 5100; ms < 9000; ms += 300 {
		require.Equal(t, wait, held.observe(t0.Add(time.Duration(ms)*time.Millisecond), fmt.Sprint("healing", ms), true, false))
	}
	require.Equal(t, wait, held.observe(t0.Add(9100*time.Millisecond), "whole", false, false))

	off := stability{stableAfter: time.Second, unstableAfter: -1}
	require.Equal(t, -1, flap(&off, 10000), "down-all-when-unstable off")
}
