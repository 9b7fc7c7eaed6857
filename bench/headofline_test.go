package bench_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/baseline"
)

// BenchmarkHeadOfLine/ekka: between two processes, the p99 of 64-byte echo
// calls on the idle pair (p99-idle-us), then while 64 MiB calls of
// bench.sink cross the same pair back to back (p99-loaded-us), and their
// ratio (target: at most 3). Each phase makes max(b.N, 1000) small calls;
// the loaded one goes on until at least two 64 MiB calls were answered
// while it ran. ops/s, p50-us and p99-us are the small calls' under load,
// bulk-MB/s the 64 MiB calls' (not MB/s: the chart would take it for the
// workload's figure).
func BenchmarkHeadOfLine(b *testing.B) {
	b.Run(implEkka, func(b *testing.B) {
		node, srv := ekkaPair(b, implEkka)
		ctx := benchContext(b)
		small := randomBytes(64)
		n := max(b.N, 1000)
		measure := func(enough func() bool) []time.Duration {
			lat := make([]time.Duration, 0, n)
			for len(lat) < n || !enough() {
				t0 := time.Now()
				reply, err := node.Call(ctx, srv, baseline.MethodEcho, small)
				if err != nil {
					b.Fatal(err)
				}
				if len(reply) != len(small) {
					b.Fatalf("echo of %d bytes, want %d", len(reply), len(small))
				}
				lat = append(lat, time.Since(t0))
			}
			return lat
		}
		always := func() bool { return true }
		measure(always) // warm up
		idle := baseline.Percentile(measure(always), 99)

		big := randomBytes(64 << 20)
		var crossed atomic.Int64
		first := make(chan struct{})
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := node.Call(ctx, srv, baseline.MethodSink, big); err != nil {
					b.Error(err)
					close(first)
					return
				}
				if crossed.Add(1) == 1 {
					close(first)
				}
			}
		})
		<-first
		c0 := crossed.Load()
		b.ResetTimer()
		t0 := time.Now()
		loaded := measure(func() bool { return crossed.Load() >= c0+2 || b.Failed() })
		elapsed := time.Since(t0)
		c1 := crossed.Load()
		b.StopTimer()
		close(stop)
		wg.Wait()
		if b.Failed() {
			return
		}
		report(b, int64(len(loaded)), elapsed, 0, loaded)
		p99 := baseline.Percentile(loaded, 99)
		b.ReportMetric(float64(elapsed)/float64(len(loaded)), "ns/op") // per small call under load
		b.ReportMetric(baseline.Micros(idle), "p99-idle-us")
		b.ReportMetric(baseline.Micros(p99), "p99-loaded-us")
		b.ReportMetric(float64(p99)/float64(idle), "ratio")
		b.ReportMetric(float64(c1-c0)*float64(len(big))/elapsed.Seconds()/1e6, "bulk-MB/s")
	})
}
