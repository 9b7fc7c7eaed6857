package mesh_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// TestMembersSeeVersions: each node announces its Config.Version, even
// without services, and every member shows each other's in MemberInfo and
// in Info (what ctl status prints); a node without a version shows none.
func TestMembersSeeVersions(t *testing.T) {
	versions := []string{"v1.0.0", "v2.0.0-rc.1", ""}
	c := meshtest.Formed(t, 3, func(i int, cfg *mesh.Config) { cfg.Version = versions[i] })
	ctx := testnet.Context(t, 20*time.Second)
	seen := func(on int) map[string]string {
		out := map[string]string{}
		for _, m := range c.Node(on).Members() {
			out[m.Node] = m.Version
		}
		return out
	}
	want := map[string]string{c.Name(0): "v1.0.0", c.Name(1): "v2.0.0-rc.1", c.Name(2): ""}
	for i := range 3 {
		require.NoError(t, c.Wait(ctx, c.Name(i)+" to see every version", func() bool {
			got := seen(i)
			for k, v := range want {
				if got[k] != v {
					return false
				}
			}
			return true
		}), "node %d sees %v", i, seen(i))
	}
	// A service added later travels with the version, which stays.
	require.NoError(t, c.Node(0).AddService("autoheal"))
	require.NoError(t, c.Wait(ctx, "n2 to see n1's service with its version", func() bool {
		for _, m := range c.Node(1).Members() {
			if m.Node == c.Name(0) {
				return len(m.Services) == 1 && m.Version == "v1.0.0"
			}
		}
		return false
	}))
	info := c.Node(2).Info()
	for _, m := range info.Members {
		require.Equal(t, want[m.Node], m.Version, "Info on n3 for %s", m.Node)
	}
}
