package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A result is one result line of go test -bench.
type result struct {
	file string
	line int
	// name is the benchmark's name without "Benchmark" and without the
	// GOMAXPROCS suffix: "CallSeq64/ekka".
	name string
	// procs is the GOMAXPROCS of the suffix; go test leaves the suffix
	// out when it is 1.
	procs   int
	metrics []metric
}

// A metric is one value and unit pair of a result line: 61.2 p50-us.
type metric struct {
	unit  string
	value float64
}

// A SyntaxError reports a benchmark result line that cannot be read.
type SyntaxError struct {
	File   string
	Line   int
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: malformed benchmark result: %s", e.File, e.Line, e.Reason)
}

// parse reads go test -bench output and returns its results in input
// order. warn is told about the lines it leaves out on purpose.
func parse(r io.Reader, file string, warn func(string)) ([]result, error) {
	var results []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for lineNo := 1; sc.Scan(); lineNo++ {
		res, ok, err := parseLine(sc.Text())
		if err != nil {
			return nil, &SyntaxError{File: file, Line: lineNo, Reason: err.Error()}
		}
		if res.failed {
			warn(fmt.Sprintf("%s:%d: Benchmark%s failed; left out", file, lineNo, res.name))
			continue
		}
		if !ok {
			continue
		}
		res.file, res.line = file, lineNo
		results = append(results, res.result)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return results, nil
}

type lineResult struct {
	result
	failed bool
}

// parseLine reads one line. ok is false for lines that are not results.
func parseLine(line string) (res lineResult, ok bool, err error) {
	// go test prints results from the first column; indented lines are
	// logs, even when they mention a benchmark.
	if !strings.HasPrefix(line, "Benchmark") {
		return res, false, nil
	}
	fields := strings.Fields(line)
	if !isBenchmarkName(fields[0]) {
		return res, false, nil
	}
	res.name, res.procs = splitProcs(strings.TrimPrefix(fields[0], "Benchmark"))
	switch {
	case len(fields) == 1:
		// go test -v names each benchmark on a line of its own before
		// running it.
		return res, false, nil
	case fields[1] == "---":
		// Without -v, go test prints the name, runs the benchmark, and
		// on failure writes "--- FAIL: name" on the same line.
		res.failed = len(fields) > 2 && fields[2] == "FAIL:"
		return res, false, nil
	}
	if _, err := strconv.ParseUint(fields[1], 10, 64); err != nil {
		return res, false, fmt.Errorf("%q after the name is not an iteration count "+
			"(did the benchmark write to standard output while it ran?)", fields[1])
	}
	pairs := fields[2:]
	if len(pairs)%2 != 0 {
		return res, false, fmt.Errorf("%q has no unit", pairs[len(pairs)-1])
	}
	for i := 0; i < len(pairs); i += 2 {
		v, err := strconv.ParseFloat(pairs[i], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return res, false, fmt.Errorf("%q before %q is not a number", pairs[i], pairs[i+1])
		}
		res.metrics = append(res.metrics, metric{unit: pairs[i+1], value: v})
	}
	return res, true, nil
}

// isBenchmarkName applies go test's rule: "Benchmark" followed by nothing
// or by something other than a lower-case letter.
func isBenchmarkName(s string) bool {
	rest, ok := strings.CutPrefix(s, "Benchmark")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLower(r)
}

// splitProcs removes the -<GOMAXPROCS> suffix go test adds to names.
func splitProcs(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return name, 1
	}
	procs, err := strconv.Atoi(name[i+1:])
	if err != nil || procs <= 0 || strings.ContainsAny(name[i+1:], "+-") {
		return name, 1
	}
	return name[:i], procs
}
