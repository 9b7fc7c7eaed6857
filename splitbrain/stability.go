package splitbrain

import (
	"slices"
	"strings"
	"time"
)

// verdict is what stability allows a node to do with its decision now.
type verdict uint8

const (
	// wait: the view changed within StableAfter; keep serving or not as
	// before.
	wait verdict = iota
	// act: the view has not changed for StableAfter: act on the decision.
	act
	// unstable: the view kept changing, with a split, for StableAfter +
	// DownAllWhenUnstable: stop serving, whatever the strategy says.
	unstable
)

// stability decides when a decision may be acted on, from the views a node
// saw and when. It does no I/O and reads no clock.
//
//   - A decision is acted on once the view (who reaches whom) has not
//     changed for stableAfter.
//   - An episode of instability begins when a link is lost while the view
//     shows a split, and ends once the view holds still for stableAfter
//     (the split is then decided) or has shown no split for stableAfter.
//     If it has lasted stableAfter + unstableAfter, links were lost again
//     within the last stableAfter (a flapping link, not a heal in
//     progress, which only brings links back) and the view still shows a
//     split, the verdict is unstable: every node in it stops serving, as
//     Akka's down-all-when-unstable. unstableAfter < 0 turns this off.
type stability struct {
	stableAfter, unstableAfter time.Duration

	key            string
	changed        time.Time // when key last changed
	unhealthySince time.Time // start of the episode; zero when none
	lastLoss       time.Time // the last time a link was lost
	healthySince   time.Time // since when no view showed a split; zero while one does
}

// observe takes the view's key, whether it shows a split, and whether a
// link was lost since the last view.
func (s *stability) observe(now time.Time, key string, split, lost bool) verdict {
	if key != s.key || s.changed.IsZero() {
		s.key, s.changed = key, now
	}
	if lost {
		s.lastLoss = now
	}
	if split {
		s.healthySince = time.Time{}
		if s.unhealthySince.IsZero() && lost {
			s.unhealthySince = now
		}
	} else {
		if s.healthySince.IsZero() {
			s.healthySince = now
		}
		if now.Sub(s.healthySince) >= s.stableAfter {
			s.unhealthySince = time.Time{}
		}
	}
	switch {
	case now.Sub(s.changed) >= s.stableAfter:
		// A view that held still ends the episode: a split that stays
		// put is decided, not unstable.
		s.unhealthySince = time.Time{}
		return act
	case split && s.unstableAfter >= 0 && !s.unhealthySince.IsZero() &&
		now.Sub(s.unhealthySince) >= s.stableAfter+s.unstableAfter && now.Sub(s.lastLoss) < s.stableAfter:
		return unstable
	}
	return wait
}

// unstableFor is how long the current episode has lasted (0 when none).
func (s *stability) unstableFor(now time.Time) time.Duration {
	if s.unhealthySince.IsZero() {
		return 0
	}
	return now.Sub(s.unhealthySince)
}

// viewKey is a canonical text of the members and who reaches whom in v:
// it changes exactly when the decision's inputs do.
func viewKey(v View) string {
	names := make([]string, 0, len(v.Members))
	for _, m := range v.Members {
		names = append(names, m.Node)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		if r, ok := v.Reach[n]; ok {
			r = slices.Clone(r)
			slices.Sort(r)
			b.WriteString("=" + strings.Join(r, ","))
		} else {
			b.WriteString("=?")
		}
		b.WriteByte(';')
	}
	return b.String()
}

// links returns the pairs of members v says are linked: each has a link
// to the other, as far as their entries say, as Decide reads them
// (reachability.connected).
func links(v View) map[[2]string]bool {
	reach := reachOf(v)
	out := map[[2]string]bool{}
	for i, a := range v.Members {
		for _, b := range v.Members[i+1:] {
			if reach.connected(a.Node, b.Node) {
				out[[2]string{a.Node, b.Node}] = true
			}
		}
	}
	return out
}

// lostLink reports whether a pair linked in before is not in now.
func lostLink(before, now map[[2]string]bool) bool {
	for p := range before {
		if !now[p] {
			return true
		}
	}
	return false
}
