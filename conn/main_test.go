package conn

import (
	"flag"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind.
//
// It also shortens how long `go test -fuzz` minimizes each new input to
// 2s, unless -fuzzminimizetime is given. Go's minimizer tries removing
// every range of bytes (quadratic in the input's length) for up to 60s by
// default, and the coordinator counts none of those execs until it ends
// (golang/go#48820): on FuzzMessageReader's inputs of some KB, every new
// coverage found stalled the progress line at "0/sec" for a minute while
// the worker ran thousands of execs a second.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.fuzzminimizetime" })
	if !given {
		if err := flag.Set("test.fuzzminimizetime", "2s"); err != nil {
			panic(err)
		}
	}
	goleak.VerifyTestMain(m)
}
