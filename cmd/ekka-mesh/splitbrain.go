package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

// autohealUnused is what run logs, and check-config notes, when
// cluster.autoheal is on with a strategy other than autoheal.
const autohealUnused = "cluster.autoheal is not used with this split-brain strategy: the strategy decides which side serves, and the other side resumes once the split is over"

// splitBrainConfig maps cluster.split_brain.* to the resolver's Config:
// decides is false for the autoheal strategy, which run serves as it always
// did (autoheal attached when cluster.autoheal is on), and true for a
// strategy the resolver decides (package splitbrain), whose losing side
// suspends itself and runs node.hooks.down and up. The error names the key.
func splitBrainConfig(s config.Settings, log *slog.Logger) (cfg splitbrain.Config, decides bool, err error) {
	sb := s.Cluster.SplitBrain
	st, err := splitbrain.ParseStrategy(string(sb.Strategy))
	if err != nil {
		return cfg, false, fmt.Errorf("cluster.split_brain.strategy: %w", err)
	}
	if st == splitbrain.Autoheal {
		return cfg, false, nil
	}
	cfg = splitbrain.Config{
		Rules:               splitbrain.Rules{Strategy: st, QuorumSize: sb.QuorumSize, OldestServesAlone: !sb.DownIfAlone},
		StableAfter:         sb.StableAfter,
		DownAllWhenUnstable: sb.DownAllWhenUnstable, // 0: 3/4 of StableAfter; negative: off, as config's on and off
		Hooks:               splitBrainHooks(s.Node.Hooks, s.Node.Name.String(), log),
		// The command's own bound, node.hooks.timeout, ends it first, with
		// an error that names the key.
		HookTimeout: s.Node.Hooks.Timeout + hookWaitDelay + time.Second,
		Logger:      log,
	}
	if err := cfg.Rules.Check(); err != nil {
		return cfg, false, err
	}
	return cfg, true, nil
}
