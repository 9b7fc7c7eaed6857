package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The two result lines of the brief, as go test prints them.
const (
	callSeqLine  = "BenchmarkCallSeq64/ekka-2            \t       1\t1000234567 ns/op\t     14000 ops/s\t        61.2 p50-us\t       120.4 p99-us"
	bulkCastLine = "BenchmarkBulkCast64K/erlang-2        \t       1\t1000000000 ns/op\t      2710 MB/s\t     41350 ops/s"
)

func TestParseResultLines(t *testing.T) {
	input := "goos: linux\n" + callSeqLine + "\n" + bulkCastLine + "\nPASS\n"
	got, err := parse(strings.NewReader(input), "bench.txt", func(msg string) { t.Errorf("unexpected warning %q", msg) })
	if err != nil {
		t.Fatal(err)
	}
	want := []result{
		{file: "bench.txt", line: 2, name: "CallSeq64/ekka", procs: 2, metrics: []metric{
			{"ns/op", 1000234567}, {"ops/s", 14000}, {"p50-us", 61.2}, {"p99-us", 120.4},
		}},
		{file: "bench.txt", line: 3, name: "BulkCast64K/erlang", procs: 2, metrics: []metric{
			{"ns/op", 1000000000}, {"MB/s", 2710}, {"ops/s", 41350},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parse:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseSkipsWhatIsNotAResult(t *testing.T) {
	for _, line := range []string{
		"",
		"goos: linux",
		"goarch: amd64",
		"pkg: github.com/ekka-mesh/ekka-mesh/bench",
		"cpu: AMD EPYC 7B13",
		"PASS",
		"FAIL",
		"ok  \tgithub.com/ekka-mesh/ekka-mesh/bench\t21.337s",
		"=== RUN   BenchmarkCallSeq64",
		"--- BENCH: BenchmarkCast64/erlang-2",
		"--- SKIP: BenchmarkCast64/erlang",
		"    bench_test.go:88: erl not installed",
		"    BenchmarkCallSeq64/ekka-2 1 nonsense", // indented: a log
		"BenchmarkCallSeq64/ekka",                  // go test -v names the benchmark first
		"Benchmarking the mesh: 3 nodes",           // lower case after Benchmark: not a name
		"BenchmarkCast64/ekka-2   \t--- FAIL: BenchmarkCast64/ekka-2",
		"2026/01/02 15:04:05 mesh: node n1 up",
	} {
		got, ok, err := parseLine(line)
		if ok || err != nil {
			t.Errorf("parseLine(%q) = %+v, %v, %v; want no result and no error", line, got, ok, err)
		}
	}
}

func TestParseWarnsOfFailedBenchmarks(t *testing.T) {
	input := callSeqLine + "\nBenchmarkCast64/ekka-2   \t--- FAIL: BenchmarkCast64/ekka-2\n    bench_test.go:12: link down\n"
	var warnings []string
	got, err := parse(strings.NewReader(input), "bench.txt", func(msg string) { warnings = append(warnings, msg) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Errorf("got %d results, want 1", len(got))
	}
	want := []string{"bench.txt:2: BenchmarkCast64/ekka failed; left out"}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
}

func TestParseAcceptsResultsWithoutMetrics(t *testing.T) {
	// go test prints no ns/op when it measured 0.
	got, ok, err := parseLine("BenchmarkNothing/ekka-2\t 1000000000")
	if !ok || err != nil || len(got.metrics) != 0 {
		t.Errorf("parseLine = %+v, %v, %v; want a result without metrics", got, ok, err)
	}
}

func TestParseMalformedLineNamesItsLine(t *testing.T) {
	for _, tc := range []struct {
		line   string
		reason string
	}{
		{"BenchmarkCallSeq64/ekka-2\tstarting erl\t1\t100 ns/op", `"starting" after the name is not an iteration count`},
		{"BenchmarkCallSeq64/ekka-2\t1.5\t100 ns/op", `"1.5" after the name is not an iteration count`},
		{"BenchmarkCallSeq64/ekka-2\t1\t100 ns/op\t14000", `"14000" has no unit`},
		{"BenchmarkCallSeq64/ekka-2\t1\t100 ns/op\tfast ops/s", `"fast" before "ops/s" is not a number`},
		{"BenchmarkCallSeq64/ekka-2\t1\tNaN p99-us", `"NaN" before "p99-us" is not a number`},
		{"BenchmarkCallSeq64/ekka-2\t1\t+Inf ops/s", `"+Inf" before "ops/s" is not a number`},
	} {
		input := "goos: linux\n" + callSeqLine + "\n" + tc.line + "\nPASS\n"
		_, err := parse(strings.NewReader(input), "bench.txt", func(string) {})
		var syntaxErr *SyntaxError
		if !errors.As(err, &syntaxErr) {
			t.Errorf("%q: error %v, want a *SyntaxError", tc.line, err)
			continue
		}
		if syntaxErr.File != "bench.txt" || syntaxErr.Line != 3 {
			t.Errorf("%q: error at %s:%d, want bench.txt:3", tc.line, syntaxErr.File, syntaxErr.Line)
		}
		if !strings.HasPrefix(syntaxErr.Reason, tc.reason) {
			t.Errorf("%q: reason %q, want it to start with %q", tc.line, syntaxErr.Reason, tc.reason)
		}
		if !strings.HasPrefix(err.Error(), "bench.txt:3: ") {
			t.Errorf("%q: message %q does not start with the file and line", tc.line, err)
		}
	}
}

func TestSplitProcs(t *testing.T) {
	for _, tc := range []struct {
		in    string
		name  string
		procs int
	}{
		{"CallSeq64/ekka-2", "CallSeq64/ekka", 2},
		{"CallSeq64/ekka", "CallSeq64/ekka", 1}, // GOMAXPROCS=1: go test adds no suffix
		{"BulkCast64K/ekka-off-16", "BulkCast64K/ekka-off", 16},
		{"BulkCast64K/ekka-off", "BulkCast64K/ekka-off", 1},
		{"CallSeq64/grpc-unary-2", "CallSeq64/grpc-unary", 2},
		{"CallSeq64/ekka-", "CallSeq64/ekka-", 1},
		{"CallSeq64/ekka-0", "CallSeq64/ekka-0", 1},
		{"CallSeq64/ekka--2", "CallSeq64/ekka-", 2}, // a sub-benchmark named "ekka-"
		{"CallSeq64/ekka-+2", "CallSeq64/ekka-+2", 1},
		{"", "", 1},
	} {
		name, procs := splitProcs(tc.in)
		if name != tc.name || procs != tc.procs {
			t.Errorf("splitProcs(%q) = %q, %d; want %q, %d", tc.in, name, procs, tc.name, tc.procs)
		}
	}
}
