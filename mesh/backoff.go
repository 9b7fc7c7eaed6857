package mesh

import (
	"math"
	"time"
)

// Backoff computes capped, jittered exponential delays, e.g. between redials
// of a down member. It is a pure value: randomness is passed in.
type Backoff struct {
	// Min is the delay before jitter of attempt 0. Negative means 0.
	Min time.Duration
	// Max caps every delay. Below Min means Min.
	Max time.Duration
	// Factor multiplies the delay per attempt. Below 1 (including the zero
	// value), NaN or infinite means 2; exactly 1 gives a constant delay.
	Factor float64
	// Jitter is the fraction of each delay that is random, 0..1 ("equal
	// jitter" at 0.5, "full jitter" at 1). Values outside are clamped; NaN
	// means 0.
	Jitter float64
}

// DefaultBackoff is the redial backoff of down members: 100 ms doubling up to
// 10 s, half of each delay random.
func DefaultBackoff() Backoff {
	return Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second, Factor: 2, Jitter: 0.5}
}

// Delay returns the delay before retry number attempt (0 for the first
// retry). With base = min(Min*Factor^attempt, Max), the delay lies in
// [base*(1-Jitter), base]: rnd's value r in [0, 1) picks
// base*(1-Jitter) + base*Jitter*r. A nil rnd means r = 1 (no jitter, the
// upper bound); r outside [0, 1] is clamped. The result is never negative and
// never above Max.
func (b Backoff) Delay(attempt int, rnd func() float64) time.Duration {
	lo := max(b.Min, 0)
	hi := max(b.Max, lo)
	factor := b.Factor
	if factor < 1 || math.IsNaN(factor) || math.IsInf(factor, 0) {
		factor = 2
	}
	jitter := b.Jitter
	switch {
	case math.IsNaN(jitter) || jitter < 0:
		jitter = 0
	case jitter > 1:
		jitter = 1
	}
	attempt = max(attempt, 0)

	base := float64(lo) * math.Pow(factor, float64(attempt))
	if math.IsNaN(base) || base > float64(hi) {
		base = float64(hi)
	}
	r := 1.0
	if rnd != nil {
		r = rnd()
		switch {
		case math.IsNaN(r) || r < 0:
			r = 0
		case r > 1:
			r = 1
		}
	}
	d := base*(1-jitter) + base*jitter*r
	switch {
	case d >= float64(hi):
		return hi
	case d <= 0:
		return 0
	}
	return time.Duration(d)
}
