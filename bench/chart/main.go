package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var usage usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case errors.As(err, &usage):
		os.Exit(2) // the flag package has already said what is wrong
	case err != nil:
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

// run is the command with its inputs and outputs as parameters, for tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("chart", flag.ContinueOnError)
	flags.SetOutput(stderr)
	outFile := flags.String("o", "", "write to `FILE` instead of standard output")
	table := flags.Bool("table", false, "write a Markdown table instead of the SVG chart")
	cpu := flags.Int("cpu", 0, "keep only the results run with GOMAXPROCS `N`")
	title := flags.String("title", "ekka-mesh and its baselines", "the `TITLE` of the chart")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench/chart [-table] [-o FILE] [-cpu N] [-title TITLE] [bench.txt ...]\n"+
			"Charts go test -bench output (the files, or standard input), ekka against its baselines.\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return usageError{err}
	}
	if *cpu < 0 {
		return fmt.Errorf("-cpu %d: GOMAXPROCS is at least 1", *cpu)
	}

	warn := func(msg string) { fmt.Fprintln(stderr, "chart:", msg) }
	var results []result
	inputs := flags.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	for _, name := range inputs {
		rs, err := parseInput(name, stdin, warn)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	s, err := collect(results, *cpu)
	if err != nil {
		return err
	}

	var out bytes.Buffer
	if *table {
		err = writeTable(&out, s)
	} else {
		err = writeChart(&out, s, *title)
	}
	if err != nil {
		return err
	}
	if *outFile == "" {
		_, err = stdout.Write(out.Bytes())
		return err
	}
	return os.WriteFile(*outFile, out.Bytes(), 0o644)
}

// A usageError is a command line the flag package refused.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// parseInput parses the file name, or stdin when name is "-".
func parseInput(name string, stdin io.Reader, warn func(string)) ([]result, error) {
	if name == "-" {
		return parse(stdin, "stdin", warn)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f, name, warn)
}
