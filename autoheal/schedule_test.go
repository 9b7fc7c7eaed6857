package autoheal

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestScheduleIdleWaitsForNothing(t *testing.T) {
	_, ok := schedule{}.next()
	require.False(t, ok, "an idle node (nothing to retry, no partition recorded, no report pending) sets no timer")
	require.True(t, decisionAt(false, base, base.Add(time.Hour), time.Second).IsZero(), "no pending report, no decision")
}

func TestScheduleEarliestWins(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    schedule
		want time.Time
	}{
		{"only a reminder", schedule{remind: base.Add(15 * time.Second)}, base.Add(15 * time.Second)},
		{"retry before reminder", schedule{retryFresh: base.Add(500 * time.Millisecond), remind: base.Add(15 * time.Second)}, base.Add(500 * time.Millisecond)},
		{"decision first", schedule{retryFresh: base.Add(time.Second), remind: base.Add(15 * time.Second), decide: base.Add(100 * time.Millisecond)}, base.Add(100 * time.Millisecond)},
		{"decision alone", schedule{decide: base.Add(time.Minute)}, base.Add(time.Minute)},
	} {
		at, ok := tc.s.next()
		require.True(t, ok, tc.name)
		require.Equal(t, tc.want, at, tc.name)
	}
}

func TestDecisionAtCountsFromTheLastFreshReport(t *testing.T) {
	const delay = 15 * time.Second
	require.Equal(t, base.Add(delay), decisionAt(true, base, time.Time{}, delay), "delay after the last fresh report")
	require.Equal(t, base.Add(delay+3*time.Second), decisionAt(true, base.Add(3*time.Second), time.Time{}, delay), "a later fresh report moves it")
	require.Equal(t, base.Add(40*time.Second), decisionAt(true, base, base.Add(40*time.Second), delay), "not before the retry time")
	require.Equal(t, base.Add(delay), decisionAt(true, base, base.Add(time.Second), delay), "a past retry time does not hold it back")
}
