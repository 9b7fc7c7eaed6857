package faultnet

import "time"

// burstWindow is how much of a rate-limited link's traffic may pass at once
// after a quiet spell. It also absorbs timer lateness: a pacer that wakes
// up to this late loses none of the link's bandwidth.
const burstWindow = 10 * time.Millisecond

// minPaceChunk is the smallest read of a rate-limited direction, so that
// very slow links still move whole small messages.
const minPaceChunk = 1 << 10

// RateBurst is how many bytes a link paced by Rate(from, to, bytesPerSec)
// lets through ahead of the rate after a quiet spell: 10 ms of traffic, at
// least 1 KiB. A transfer of N bytes over such a link takes at least
// (N - RateBurst(bytesPerSec)) / bytesPerSec seconds. It is 0 when
// bytesPerSec is not positive (no limit).
func RateBurst(bytesPerSec int64) int64 {
	if bytesPerSec <= 0 {
		return 0
	}
	return max(bytesPerSec*int64(burstWindow)/int64(time.Second), minPaceChunk)
}

// paceChunk is the most a paced direction reads at once: at most the burst,
// so that a chunk never waits longer than the burst takes to earn.
func paceChunk(bytesPerSec int64) int {
	return int(min(RateBurst(bytesPerSec), chunkSize))
}

// pacer is one direction's token bucket, kept as a theoretical arrival time
// (GCRA): tat is when the link will have carried everything charged so far
// at the rate. A chunk may pass once tat, with its own cost added, lies at
// most the burst ahead of now. Only the direction's reader touches it.
type pacer struct {
	rate  int64     // the rate tat was charged at; another rate starts afresh
	tat   time.Time // zero: the bucket is full
	timer *time.Timer
}

// cost is the time rate bytesPerSec takes to carry k bytes.
func cost(k int, bytesPerSec int64) time.Duration {
	return time.Duration(int64(k) * int64(time.Second) / bytesPerSec)
}

// pace waits until the direction's rate lets k more bytes through, and
// charges them. It re-reads the rule whenever the rules change while it
// waits, so lifting the rate (or a Heal) releases the chunk at once. It
// reports false if the connection closed meanwhile.
func (d *direction) pace(k int) bool {
	p := &d.pacer
	for {
		rules := d.c.n.rules.Load()
		rate := rules.get(d.from, d.to).rate
		if rate <= 0 {
			p.rate, p.tat = 0, time.Time{}
			return true
		}
		now := time.Now()
		if p.rate != rate || p.tat.Before(now) {
			p.rate, p.tat = rate, now
		}
		tat := p.tat.Add(cost(k, rate))
		burst := cost(int(RateBurst(rate)), rate)
		wait := tat.Sub(now) - burst
		if wait <= 0 {
			p.tat = tat
			return true
		}
		if p.timer == nil {
			p.timer = time.NewTimer(wait)
		} else {
			p.timer.Reset(wait)
		}
		select {
		case <-p.timer.C:
			p.tat = tat
			return true
		case <-rules.changed:
			p.timer.Stop()
		case <-d.c.done:
			p.timer.Stop()
			return false
		}
	}
}
