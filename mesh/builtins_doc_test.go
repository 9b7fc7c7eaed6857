package mesh

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/doccheck"
)

// TestBuiltinMethodsAreSpecified: every "$ekka." method a node serves is in
// PROTOCOL.md's table of built-in methods (section 11.1), and the table names
// no method a node does not serve, so a method added to the node cannot go
// unspecified.
func TestBuiltinMethodsAreSpecified(t *testing.T) {
	spec, err := os.ReadFile("../wire/PROTOCOL.md")
	require.NoError(t, err)
	documented := doccheck.BuiltinMethods(spec)
	require.NotEmpty(t, documented, "PROTOCOL.md has no table rows of built-in methods (| `$ekka.x` | ...)")

	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.ListenAddr = "spec@127.0.0.1", "c", "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Start(ctx, cfg)
	require.NoError(t, err)
	defer n.Stop(ctx)
	n.handlers.mu.RLock()
	var served []string
	for m := range n.handlers.m {
		if strings.HasPrefix(m, reservedPrefix) {
			served = append(served, m)
		}
	}
	n.handlers.mu.RUnlock()
	slices.Sort(served)
	require.Equal(t, documented, served, "a node serves %v; PROTOCOL.md section 11.1 lists %v", served, documented)
}
