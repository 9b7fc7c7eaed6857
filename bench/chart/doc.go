// Command chart turns the output of go test -bench into an SVG chart, or a
// Markdown table, that compares ekka-mesh with its baselines workload by
// workload.
//
// Run the suite, keep its output, and chart it:
//
//	go test -run '^$' -bench . ./bench/ | tee bench.txt
//	go run ./bench/chart -o BENCHMARKS.svg bench.txt
//	go run ./bench/chart -table bench.txt    # Markdown, for BENCHMARKS.md
//
// It reads the files named as arguments, one after another, or standard
// input when there are none ("-" also names standard input). Several runs
// may be concatenated, and go test -count N repeats each result: every
// figure is the median of all the values one benchmark reported for one
// metric. Lines that are not benchmark results (goos:, pkg:, PASS, ok, logs,
// the name lines of go test -v) are skipped; a result of a failed benchmark
// is left out with a warning; a result line that cannot be read stops the
// command with an error naming the file and line.
//
// Benchmarks are named Benchmark<Workload>/<impl>, where impl is ekka,
// rawtcp, netrpc, grpc-unary, grpc-stream, erlang or anything else (ekka-off,
// ekka-auto, ...): the part after the last slash is the implementation, the
// rest the workload. The -<GOMAXPROCS> suffix go test adds is dropped; when
// the input mixes several GOMAXPROCS values, -cpu N chooses one. Benchmarks
// without a slash compare nothing and are left out.
//
// The chart has one panel per workload, a bar per implementation, each panel
// scaled on its own, for the workload's MB/s when it reports it and its
// ops/s otherwise; workloads with neither are left out of the chart. Beside
// each bar are its value and its ratio to ekka's (ekka 1.00x, erlang 0.42x).
// The table has a row per workload and metric (every metric the benchmark
// reported with b.ReportMetric, or MB/s; ns/op, B/op and allocs/op only when
// there is nothing else), a column per implementation, and ekka's value
// divided by each baseline's.
//
// The same input always gives byte-identical output.
//
// Flags:
//
//	-o FILE       write to FILE instead of standard output
//	-table        write the Markdown table instead of the SVG chart
//	-cpu N        keep only the results run with GOMAXPROCS N
//	-title TITLE  the chart's title
package main
