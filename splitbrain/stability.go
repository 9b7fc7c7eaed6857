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
//   - An episode of instability begins when a view shows a split, and ends
//     once the view holds still for stableAfter (the split is then decided)
//     or has shown no split for stableAfter. If it lasts stableAfter +
//     unstableAfter (a flapping link), the verdict is unstable: every node
//     in it stops serving, as Akka's down-all-when-unstable. unstableAfter
//     < 0 turns this off.
type stability struct {
	stableAfter, unstableAfter time.Duration

	key            string
	changed        time.Time // when key last changed
	unhealthySince time.Time // start of the episode; zero when none
	healthySince   time.Time // since when no view showed a split; zero while one does
}

func (s *stability) observe(now time.Time, key string, split bool) verdict {
	if key != s.key || s.changed.IsZero() {
		s.key, s.changed = key, now
	}
	if split {
		s.healthySince = time.Time{}
		if s.unhealthySince.IsZero() {
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
	case s.unstableAfter >= 0 && !s.unhealthySince.IsZero() && now.Sub(s.unhealthySince) >= s.stableAfter+s.unstableAfter:
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
