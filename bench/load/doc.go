// Package load holds the workloads of ekka-mesh's cross-process benchmark:
// the methods a node serves to be measured (Serve) and the driver that
// measures them from another node (Run). The ekka-mesh binary runs them as
// "ekka-mesh bench serve" and "ekka-mesh bench run", between two processes
// or two machines; other Go code, such as a go test -bench suite, calls them
// directly.
//
// On the node to measure, register the bench methods:
//
//	err := load.Serve(node) // bench.echo, bench.sink, bench.cast, bench.count
//
// On the node that drives, link to it and run a workload:
//
//	err = driver.Join(ctx, "bench1@10.0.0.1")
//	res, err := load.Run(ctx, driver, "bench1@10.0.0.1", load.Options{
//		Workload:    load.WorkloadCall, // or WorkloadCast, WorkloadBulk
//		Concurrency: 64,
//		Duration:    5 * time.Second,
//	})
//	fmt.Println(res.OpsPerSec, res.P99us)
//
// The workloads:
//
//   - call: Concurrency callers, each with one call of bench.echo in
//     flight; the reply is the request (64 bytes by default). Latency is the
//     round trip.
//   - cast: Concurrency goroutines cast 64 bytes (by default) to bench.cast
//     as fast as Cast returns. When the time is up, the driver polls
//     bench.count until the target has counted every cast sent: the rate is
//     casts received over the time until then. Latency is the time Cast took
//     to return.
//   - bulk: Concurrency callers, each with one call of bench.sink in flight,
//     carrying 1 MiB (by default) with an empty reply: one-way bulk data,
//     acknowledged per message.
//
// A Result gives operations, operations per second, the p50 and p99
// latencies (from a log-linear Histogram that allocates nothing per
// operation) and the payload megabytes (10^6 bytes) per second this side
// sent: for call, the requests only.
//
// The target's cast count is shared: run one cast workload at a time per
// target.
package load
