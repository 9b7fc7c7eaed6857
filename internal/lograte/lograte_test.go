package lograte

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	l := Limiter{Interval: 10 * time.Second}
	steps := []struct {
		sec, n, count int
		due           bool
	}{
		{0, 0, 0, false}, // nothing happened: no line
		{1, 3, 3, true},  // the first occurrences log at once
		{2, 5, 0, false}, // within the interval: counted
		{5, 7, 0, false},
		{11, 1, 13, true}, // the interval passed: the totals since the last line
		{12, 0, 0, false},
		{30, 0, 0, false}, // nothing pending: no line
		{31, 2, 2, true},
		{32, 1, 0, false},
		{41, 1, 2, true}, // exactly one interval after the last line
	}
	for i, s := range steps {
		count, due := l.Note(at(s.sec), s.n)
		if count != s.count || due != s.due {
			t.Fatalf("step %d (t=%ds, n=%d): count %d due %v; want %d %v", i, s.sec, s.n, count, due, s.count, s.due)
		}
	}
}
