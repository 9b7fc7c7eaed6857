package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunReadsFilesInOrderAndWritesTheChartToAFile(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "run1.txt")
	second := filepath.Join(dir, "run2.txt")
	if err := os.WriteFile(first, []byte(callSeqLine+"\nPASS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, []byte("goos: linux\n"+strings.Replace(callSeqLine, "14000", "16000", 1)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svgFile := filepath.Join(dir, "bench.svg")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-o", svgFile, first, second}, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("run wrote %q to stdout and %q to stderr, want nothing", stdout.String(), stderr.String())
	}
	chart, err := os.ReadFile(svgFile)
	if err != nil {
		t.Fatal(err)
	}
	decodeChart(t, chart)
	if !bytes.Contains(chart, []byte("15.0k ops/s, median of 2 runs")) {
		t.Errorf("chart lacks the median of both files:\n%s", chart)
	}
}

func TestRunReadsStdin(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-table"}, strings.NewReader(callSeqLine+"\n"), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "| CallSeq64 | ops/s (more is better) | 14.0k |") {
		t.Errorf("table:\n%s", stdout.String())
	}
}

func TestRunNamesTheMalformedLine(t *testing.T) {
	input := "goos: linux\n" + callSeqLine + "\nBenchmarkCast64/ekka-2\tstarting\n"
	err := run(nil, strings.NewReader(input), &bytes.Buffer{}, &bytes.Buffer{})
	var syntaxErr *SyntaxError
	if !errors.As(err, &syntaxErr) || syntaxErr.File != "stdin" || syntaxErr.Line != 3 {
		t.Errorf("error %v, want a *SyntaxError at stdin:3", err)
	}
}

func TestRunWarnsOfFailuresOnStderr(t *testing.T) {
	input := callSeqLine + "\nBenchmarkCast64/ekka-2\t--- FAIL: BenchmarkCast64/ekka-2\n"
	var stderr bytes.Buffer
	if err := run([]string{"-table"}, strings.NewReader(input), &bytes.Buffer{}, &stderr); err != nil {
		t.Fatal(err)
	}
	if got, want := stderr.String(), "chart: stdin:2: BenchmarkCast64/ekka failed; left out\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		input string
	}{
		{nil, "PASS\n"}, // no results
		{[]string{"-cpu", "4"}, callSeqLine + "\n"},        // none with GOMAXPROCS 4
		{[]string{"-cpu", "-1"}, callSeqLine + "\n"},       // no such GOMAXPROCS
		{[]string{filepath.Join(t.TempDir(), "none")}, ""}, // no such file
		{[]string{"-bogus"}, ""},
	} {
		if err := run(tc.args, strings.NewReader(tc.input), &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run %q on %q gave no error", tc.args, tc.input)
		}
	}
}

// The table of the two result lines in this package's documentation.
func Example_table() {
	input := strings.NewReader(`goos: linux
BenchmarkCallSeq64/ekka-2            	       1	1000234567 ns/op	     14000 ops/s	        61.2 p50-us	       120.4 p99-us
BenchmarkCallSeq64/erlang-2          	       1	1000000000 ns/op	     10300 ops/s	        95.0 p50-us	       180.0 p99-us
BenchmarkBulkCast64K/ekka-2          	       1	1000000000 ns/op	       375 MB/s	      5720 ops/s
BenchmarkBulkCast64K/erlang-2        	       1	1000000000 ns/op	      2710 MB/s	     41350 ops/s
PASS
`)
	if err := run([]string{"-table"}, input, os.Stdout, os.Stderr); err != nil {
		panic(err)
	}
	// Output:
	// | workload | metric | ekka | erlang | ekka ÷ erlang |
	// | --- | --- | --: | --: | --: |
	// | CallSeq64 | ops/s (more is better) | 14.0k | 10.3k | 1.36x |
	// | CallSeq64 | p50-us (less is better) | 61.2 | 95.0 | 0.64x |
	// | CallSeq64 | p99-us (less is better) | 120 | 180 | 0.67x |
	// | BulkCast64K | MB/s (more is better) | 375 | 2710 | 0.14x |
	// | BulkCast64K | ops/s (more is better) | 5720 | 41.4k | 0.14x |
}
