package metrics_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/metrics"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

var (
	descRE = regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	// | `name` | type | `l1`, `l2` | meaning |
	rowRE = regexp.MustCompile("^\\| `(ekka_mesh_[a-z_]+)` \\| ([a-z]+) \\|([^|]*)\\|")
)

// TestMetricsDocumented checks that docs/METRICS.md lists exactly the
// metrics the collector describes, with their labels, so the page cannot
// drift from the code.
func TestMetricsDocumented(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	node, err := mesh.Start(ctx, mesh.Config{Name: "doc@127.0.0.1", Cookie: "doc-test-cookie-123", ListenAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	defer node.Stop(context.Background())
	lk, err := locker.New(node, locker.Config{})
	require.NoError(t, err)
	defer lk.Close()
	ah, err := autoheal.Attach(node, autoheal.Config{})
	require.NoError(t, err)
	defer ah.Close()
	sb, err := splitbrain.Attach(node, splitbrain.Config{Rules: splitbrain.Rules{Strategy: splitbrain.KeepMajority}})
	require.NoError(t, err)
	defer sb.Close()
	col := metrics.NewCollector(node, metrics.WithLocker(lk), metrics.WithAutoheal(ah), metrics.WithSplitBrain(sb))

	described := map[string]string{} // name -> labels, comma-separated
	ch := make(chan *prometheus.Desc, 100)
	col.Describe(ch)
	close(ch)
	for d := range ch {
		m := descRE.FindStringSubmatch(d.String())
		require.NotNil(t, m, "desc %s", d)
		described[m[1]] = m[2]
	}

	// Every family the collector sends now is described (the checked
	// registry would refuse it otherwise; this says which).
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(col))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		require.Contains(t, described, mf.GetName())
	}

	doc, err := os.ReadFile("../docs/METRICS.md")
	require.NoError(t, err)
	documented := map[string]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		require.NotContains(t, documented, m[1], "listed twice in docs/METRICS.md")
		require.Contains(t, []string{"counter", "gauge", "histogram"}, m[2], "type of %s", m[1])
		require.Equal(t, m[2] == "counter", strings.HasSuffix(m[1], "_total"), "%s: counters, and only they, end in _total", m[1])
		var labels []string
		for _, l := range strings.Split(m[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				labels = append(labels, l)
			}
		}
		documented[m[1]] = strings.Join(labels, ",")
	}
	for name, labels := range described {
		doc, ok := documented[name]
		require.True(t, ok, "%s is not listed in docs/METRICS.md", name)
		require.Equal(t, labels, doc, "labels of %s in docs/METRICS.md", name)
	}
	for name := range documented {
		require.Contains(t, described, name, "docs/METRICS.md lists %s, which the collector does not send", name)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range described {
			if !yield(n) {
				return
			}
		}
	})
	require.Len(t, names, len(documented))
}
