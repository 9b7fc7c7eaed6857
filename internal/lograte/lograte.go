// Package lograte decides when a noisy log line is due: at most once per
// interval, with the count of what happened since the last line, so that a
// peer repeating bad input costs one line per interval instead of one per
// attempt. It does no I/O and reads no clock: callers pass the time.
package lograte

import "time"

// Limiter lets a line through at most once per Interval and counts the
// occurrences in between. The zero value with Interval set is ready; it is
// not safe for concurrent use (callers hold their own lock).
type Limiter struct {
	Interval time.Duration
	last     time.Time
	pending  int // occurrences not yet reported
}

// Note counts n occurrences at now and reports whether a line is due. When
// one is, count is the number of occurrences it reports: those since the
// last line, these n included. The first occurrence after a quiet interval
// is due at once; a Note of nothing (n == 0 and nothing pending) never is.
func (l *Limiter) Note(now time.Time, n int) (count int, due bool) {
	l.pending += n
	if l.pending == 0 || !l.last.IsZero() && now.Sub(l.last) < l.Interval {
		return 0, false
	}
	count, l.pending, l.last = l.pending, 0, now
	return count, true
}
