package conn

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// refusalLog counts refused connections by reason and decides when a log
// line is due, so that a flood of bad connections costs a few lines per
// interval instead of one per attempt. It does no I/O and reads no clock:
// callers pass the time.
//
// The first refusal after a quiet interval is written at once, in full (a
// single misconfigured peer shows up in the log immediately). Refusals
// within the interval that follows are only counted; once the interval has
// passed, one line sums them up by reason, naming the last source and detail
// of each.
type refusalLog struct {
	interval time.Duration
	lastLine time.Time // when the last line was due; zero: never
	window   map[string]*refusalCount
	inWindow uint64
	totals   map[string]uint64
}

type refusalCount struct {
	n          uint64
	lastFrom   string
	lastDetail string
}

func newRefusalLog(interval time.Duration) *refusalLog {
	return &refusalLog{interval: interval, window: make(map[string]*refusalCount), totals: make(map[string]uint64)}
}

// note records one refusal for reason from the address from, with detail
// saying what was wrong. It returns the line to write now, if one is due.
func (r *refusalLog) note(now time.Time, reason, from, detail string) (string, bool) {
	r.totals[reason]++
	quiet := r.lastLine.IsZero() || now.Sub(r.lastLine) >= r.interval
	if quiet && r.inWindow == 0 {
		r.lastLine = now
		line := fmt.Sprintf("refused connection from %s: %s", from, reason)
		if detail != "" {
			line += ": " + detail
		}
		return line, true
	}
	c := r.window[reason]
	if c == nil {
		c = &refusalCount{}
		r.window[reason] = c
	}
	c.n++
	c.lastFrom, c.lastDetail = from, detail
	r.inWindow++
	return r.flush(now, false)
}

// due returns when the counted refusals should be summed up, and whether
// any are waiting.
func (r *refusalLog) due() (time.Time, bool) {
	return r.lastLine.Add(r.interval), r.inWindow > 0
}

// flush returns the summary of the refusals counted since the last line if
// the interval has passed, or at once when force is set (the listener is
// closing). It returns false when nothing is due.
func (r *refusalLog) flush(now time.Time, force bool) (string, bool) {
	if r.inWindow == 0 || (!force && now.Sub(r.lastLine) < r.interval) {
		return "", false
	}
	reasons := make([]string, 0, len(r.window))
	for k := range r.window {
		reasons = append(reasons, k)
	}
	sort.Slice(reasons, func(i, j int) bool {
		a, b := r.window[reasons[i]], r.window[reasons[j]]
		if a.n != b.n {
			return a.n > b.n
		}
		return reasons[i] < reasons[j]
	})
	var sb strings.Builder
	span := now.Sub(r.lastLine)
	if span >= time.Second {
		span = span.Round(time.Second)
	} else {
		span = span.Round(time.Millisecond)
	}
	fmt.Fprintf(&sb, "refused %d connections in the last %v:", r.inWindow, span)
	for i, k := range reasons {
		c := r.window[k]
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, " %s %d (last from %s", k, c.n, c.lastFrom)
		if c.lastDetail != "" {
			sb.WriteString(": " + c.lastDetail)
		}
		sb.WriteByte(')')
	}
	clear(r.window)
	r.inWindow = 0
	r.lastLine = now
	return sb.String(), true
}

// snapshot returns the counts by reason since the log was made.
func (r *refusalLog) snapshot() map[string]uint64 {
	m := make(map[string]uint64, len(r.totals))
	for k, v := range r.totals {
		m[k] = v
	}
	return m
}

// rateLog writes a refusalLog's lines to a logger, with a timer that sums up
// a burst once its interval has passed even when no refusal follows it.
type rateLog struct {
	log *slog.Logger

	mu     sync.Mutex
	r      *refusalLog
	timer  *time.Timer
	armed  bool
	closed bool
	firing sync.WaitGroup // a timer callback that may run
}

func newRateLog(log *slog.Logger, interval time.Duration) *rateLog {
	return &rateLog{log: log, r: newRefusalLog(interval)}
}

// refuse counts one refused connection and logs per the refusalLog's rule.
func (l *rateLog) refuse(reason, from, detail string) {
	l.mu.Lock()
	line, ok := l.r.note(time.Now(), reason, from, cleanReason(detail))
	l.arm()
	l.mu.Unlock()
	if ok {
		l.log.Warn(line)
	}
}

// arm starts the timer for the pending summary; l.mu is held.
func (l *rateLog) arm() {
	at, pending := l.r.due()
	if !pending || l.armed || l.closed {
		return
	}
	l.armed = true
	l.firing.Add(1)
	d := max(time.Until(at), 0)
	if l.timer == nil {
		l.timer = time.AfterFunc(d, l.fire)
	} else {
		l.timer.Reset(d)
	}
}

func (l *rateLog) fire() {
	defer l.firing.Done()
	l.mu.Lock()
	l.armed = false
	line, ok := "", false
	if !l.closed {
		line, ok = l.r.flush(time.Now(), false)
		l.arm()
	}
	l.mu.Unlock()
	if ok {
		l.log.Warn(line)
	}
}

// stats returns the refusals counted so far, by reason.
func (l *rateLog) stats() map[string]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.snapshot()
}

// close stops the timer, waits for a callback in progress and writes what
// is still counted.
func (l *rateLog) close() {
	l.mu.Lock()
	l.closed = true
	if l.armed && l.timer.Stop() {
		l.armed = false
		l.firing.Done()
	}
	line, ok := l.r.flush(time.Now(), true)
	l.mu.Unlock()
	l.firing.Wait()
	if ok {
		l.log.Warn(line)
	}
}
