package main

import (
	"reflect"
	"strings"
	"testing"
)

// mustCollect parses input and summarizes it.
func mustCollect(t *testing.T, input string, cpu int) *summary {
	t.Helper()
	results, err := parse(strings.NewReader(input), "bench.txt", func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	s, err := collect(results, cpu)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMedianOfRepeatedRuns(t *testing.T) {
	// Two runs concatenated, the second with -count 2: three values each,
	// then a fourth for ekka.
	input := `BenchmarkCallSeq64/ekka-2    1  100 ns/op  14000 ops/s
BenchmarkCallSeq64/erlang-2  1  100 ns/op  10000 ops/s
PASS
ok  	github.com/ekka-mesh/ekka-mesh/bench	2.1s
goos: linux
BenchmarkCallSeq64/ekka-2    1  100 ns/op  9000 ops/s
BenchmarkCallSeq64/ekka-2    1  100 ns/op  20000 ops/s
BenchmarkCallSeq64/erlang-2  1  100 ns/op  30000 ops/s
BenchmarkCallSeq64/erlang-2  1  100 ns/op  11000 ops/s
BenchmarkCallSeq64/ekka-2    1  100 ns/op  15000 ops/s
`
	s := mustCollect(t, input, 0)
	if len(s.workloads) != 1 {
		t.Fatalf("%d workloads, want 1", len(s.workloads))
	}
	w := s.workloads[0]
	for _, tc := range []struct {
		impl string
		want float64
		n    int
	}{
		{"ekka", 14500, 4}, // even count: the mean of the middle two
		{"erlang", 11000, 3},
	} {
		got, n, ok := w.value(tc.impl, "ops/s")
		if !ok || got != tc.want || n != tc.n {
			t.Errorf("%s: median %v of %d values (%v), want %v of %d", tc.impl, got, n, ok, tc.want, tc.n)
		}
	}
	if r, ok := w.ratio("erlang", "ekka", "ops/s"); !ok || r != 11000.0/14500 {
		t.Errorf("ratio erlang/ekka = %v, %v; want %v", r, ok, 11000.0/14500)
	}
}

func TestCollectRefusesMixedGOMAXPROCS(t *testing.T) {
	input := "BenchmarkCallSeq64/ekka-2 1 100 ns/op 14000 ops/s\n" +
		"BenchmarkCallSeq64/ekka-4 1 100 ns/op 20000 ops/s\n" +
		"BenchmarkCallSeq64/ekka 1 100 ns/op 9000 ops/s\n"
	results, err := parse(strings.NewReader(input), "bench.txt", func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(results, 0); err == nil || !strings.Contains(err.Error(), "GOMAXPROCS 1 2 4") {
		t.Errorf("collect without -cpu: error %v, want one naming GOMAXPROCS 1 2 4", err)
	}
	for cpu, want := range map[int]float64{1: 9000, 2: 14000, 4: 20000} {
		s, err := collect(results, cpu)
		if err != nil {
			t.Fatalf("-cpu %d: %v", cpu, err)
		}
		if got, n, _ := s.workloads[0].value("ekka", "ops/s"); got != want || n != 1 {
			t.Errorf("-cpu %d: %v of %d values, want %v of 1", cpu, got, n, want)
		}
	}
	if _, err := collect(results, 8); err == nil {
		t.Error("-cpu 8 matches nothing but gave no error")
	}
}

func TestCollectSplitsWorkloadAtTheLastSlash(t *testing.T) {
	input := "BenchmarkMulticall/nodes5/ekka-2 1 100 ns/op 900 ops/s\n" +
		"BenchmarkCodecEncode-2 1 100 ns/op\n" // no implementation: left out
	s := mustCollect(t, input, 0)
	if len(s.workloads) != 1 || s.workloads[0].name != "Multicall/nodes5" {
		t.Fatalf("workloads %+v, want only Multicall/nodes5", s.workloads)
	}
	if got := s.workloads[0].impls("ops/s"); !reflect.DeepEqual(got, []string{"ekka"}) {
		t.Errorf("impls %q, want [ekka]", got)
	}
}

func TestImplOrder(t *testing.T) {
	got := sortImpls([]string{"zmq", "erlang", "ekka-auto", "grpc-stream", "rawtcp", "ekka-v2", "netrpc",
		"ekka", "grpc-unary", "ekka-off", "erlang", "amqp"})
	want := []string{"ekka", "ekka-off", "ekka-auto", "ekka-v2", "rawtcp", "netrpc", "grpc-unary", "grpc-stream",
		"erlang", "amqp", "zmq"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sortImpls = %q\nwant %q", got, want)
	}
}

func TestMetricChoice(t *testing.T) {
	s := mustCollect(t, `BenchmarkBulk/ekka-2 1 100 ns/op 41350 ops/s 2710 MB/s
BenchmarkCall/ekka-2 1 100 ns/op 14000 ops/s 61.2 p50-us
BenchmarkHeadOfLine/ekka-2 1 100 ns/op 154 p99-us 2.3 ratio
BenchmarkAllocs/ekka-2 1 100 ns/op 48 B/op 2 allocs/op
`, 0)
	for i, tc := range []struct {
		chart string
		table []string
	}{
		{"MB/s", []string{"MB/s", "ops/s"}},
		{"ops/s", []string{"ops/s", "p50-us"}},
		{"", []string{"p99-us", "ratio"}},
		{"", []string{"ns/op", "B/op", "allocs/op"}},
	} {
		w := s.workloads[i]
		if got, _ := w.chartUnit(); got != tc.chart {
			t.Errorf("%s: chart metric %q, want %q", w.name, got, tc.chart)
		}
		if got := w.tableUnits(); !reflect.DeepEqual(got, tc.table) {
			t.Errorf("%s: table metrics %q, want %q", w.name, got, tc.table)
		}
	}
}
