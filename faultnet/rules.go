package faultnet

import "time"

// pair is a directed link: bytes written by from's side, delivered to to.
type pair struct{ from, to string }

// rule is the fault state of one directed link. The zero rule is a healthy link.
type rule struct {
	cut       bool          // new dials refused; existing connections were closed when it was set
	blackhole bool          // bytes are read and discarded; new dials hang
	delay     time.Duration // each chunk is delivered this much later, order preserved
	rate      int64         // bytes per second the link carries; 0 is unlimited
}

// ruleSet is an immutable snapshot of every rule. Pumps load it lock-free per
// chunk; a change publishes a new snapshot and closes the old one's changed
// channel so that waiters (blackholed dials, held-back FINs) re-evaluate.
type ruleSet struct {
	rules   map[pair]rule
	changed chan struct{}
}

func newRuleSet(rules map[pair]rule) *ruleSet {
	return &ruleSet{rules: rules, changed: make(chan struct{})}
}

func (s *ruleSet) get(from, to string) rule {
	if len(s.rules) == 0 {
		return rule{}
	}
	return s.rules[pair{from, to}]
}
