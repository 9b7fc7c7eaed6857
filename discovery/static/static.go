package static

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/discovery"
)

// Static discovers a fixed list of seed nodes.
type Static struct {
	seeds []string
}

var _ discovery.Strategy = (*Static)(nil)

// New validates the seeds (each short@host: exactly one '@' with non-empty
// sides, no spaces) and returns the strategy. Duplicates are dropped; the
// order is kept. An empty list is allowed (the node then only waits for
// others), but a bad seed is an error naming it.
func New(seeds []string) (*Static, error) {
	s := &Static{seeds: make([]string, 0, len(seeds))}
	for i, seed := range seeds {
		if err := checkSeed(seed); err != nil {
			return nil, fmt.Errorf("static discovery: seed %d %q: %w", i+1, seed, err)
		}
		if !slices.Contains(s.seeds, seed) {
			s.seeds = append(s.seeds, seed)
		}
	}
	return s, nil
}

func checkSeed(seed string) error {
	if seed == "" {
		return fmt.Errorf("empty, want short@host")
	}
	if strings.ContainsFunc(seed, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("contains a space or control character, want short@host")
	}
	short, host, ok := strings.Cut(seed, "@")
	switch {
	case !ok:
		return fmt.Errorf("no '@', want short@host")
	case strings.Contains(host, "@"):
		return fmt.Errorf("more than one '@', want short@host")
	case short == "":
		return fmt.Errorf("empty short name before '@', want short@host")
	case host == "":
		return fmt.Errorf("empty host after '@', want short@host")
	}
	return nil
}

// Seeds returns a copy of the seed list.
func (s *Static) Seeds() []string { return slices.Clone(s.seeds) }

// Discover returns a copy of the seeds. It fails only when ctx is done.
func (s *Static) Discover(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("static discovery: %w", err)
	}
	return slices.Clone(s.seeds), nil
}

// Lock is not supported: a seed list has nothing to lock.
func (s *Static) Lock(context.Context) error { return discovery.NotSupported("static", "lock") }

// Unlock is not supported.
func (s *Static) Unlock(context.Context) error { return discovery.NotSupported("static", "unlock") }

// Register is not supported: the seed list is fixed by configuration.
func (s *Static) Register(context.Context) error { return discovery.NotSupported("static", "register") }

// Unregister is not supported.
func (s *Static) Unregister(context.Context) error {
	return discovery.NotSupported("static", "unregister")
}
