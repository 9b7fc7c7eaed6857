package bench_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/bench/baseline"
)

// TestMain is the one TestMain of this test binary (package bench and
// bench_test share it): when baseline.ServeEnv is set, the binary is the
// server child of a benchmark (see package baseline) and serves instead of
// running tests.
func TestMain(m *testing.M) {
	if kind := os.Getenv(baseline.ServeEnv); kind != "" {
		os.Exit(baseline.ServeChild(kind))
	}
	goleak.VerifyTestMain(m)
}
