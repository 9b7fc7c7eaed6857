package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/baseline"
)

// erlangSource is the Erlang side of the suite, relative to this package.
const erlangSource = "erlang/ekka_bench.erl"

// erlangPair starts two erl nodes (server and client) connected by Erlang
// distribution, or skips b when erl is not installed; both stop when b ends.
func erlangPair(b *testing.B) *baseline.Erlang {
	b.Helper()
	if err := baseline.ErlangMissing(); err != nil {
		b.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	e, err := baseline.StartErlang(ctx, erlangSource, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Stop(sctx); err != nil {
			b.Error(err)
		}
	})
	return e
}

// runErlang runs command (with %d for the operation count, b.N) on the
// Erlang client node after warm-up (the same command with a count of 10) and
// reports the figures it measured itself: ns/op is its time per operation,
// without the round trip of the command. size is the payload one way for
// MB/s, 0 for none.
func runErlang(b *testing.B, e *baseline.Erlang, command string, size int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := e.Run(ctx, fmt.Sprintf(command, 10)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	r, err := e.Run(ctx, fmt.Sprintf(command, b.N))
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if r.Ops != int64(b.N) {
		b.Fatalf("%q: %d operations done, want %d", fmt.Sprintf(command, b.N), r.Ops, b.N)
	}
	b.ReportMetric(float64(r.Elapsed)/float64(b.N), "ns/op")
	report(b, r.Ops, r.Elapsed, size, nil)
	if r.P99 > 0 {
		b.ReportMetric(baseline.Micros(r.P50), "p50-us")
		b.ReportMetric(baseline.Micros(r.P99), "p99-us")
	}
}
