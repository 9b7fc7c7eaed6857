package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/internal/suggest"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// Exit statuses shared by all commands.
const (
	exitOK    = 0
	exitFail  = 1 // a failure at run time, not a usage error
	exitUsage = 2
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
// When unset, the module version from the build info is used.
var version = ""

// command is one subcommand: it gets its arguments (without the command
// name) and the output streams, and returns the exit status.
type command struct {
	run     func(args []string, stdout, stderr io.Writer) int
	summary string // one line for the command list in help
}

// commands holds every subcommand by name. Each command's file registers
// itself from an init function with register.
var commands = map[string]command{}

// register adds a subcommand. It panics on a duplicate name: that is a
// programming error caught by any test that runs the binary.
func register(name, summary string, run func(args []string, stdout, stderr io.Writer) int) {
	if _, dup := commands[name]; dup {
		panic("ekka-mesh: command " + name + " registered twice")
	}
	commands[name] = command{run: run, summary: summary}
}

func init() {
	register("help", "print this help, or the help of a command (help COMMAND)", runHelp)
	register("version", "print the version", runVersion)
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch runs the command named by args[0].
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "ekka-mesh: %s\n\n", unknownCommand(name, commandNames()))
		usage(stderr)
		return exitUsage
	}
	return cmd.run(args[1:], stdout, stderr)
}

// commandNames returns the names of the subcommands, sorted.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// unknownCommand says that name is not one of known, suggesting the
// closest: `unknown command "stauts"; did you mean "status"?`.
func unknownCommand(name string, known []string) string {
	if hint := suggest.Closest(name, known); hint != "" {
		return fmt.Sprintf("unknown command %q; did you mean %q?", name, hint)
	}
	return fmt.Sprintf("unknown command %q", name)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: ekka-mesh <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	width := 0
	for _, name := range commandNames() {
		width = max(width, len(name))
	}
	for _, name := range commandNames() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "ekka-mesh help COMMAND" or "ekka-mesh COMMAND --help" for a command's flags.`)
}

func runHelp(args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		usage(stdout)
		return exitOK
	case 1:
		switch args[0] {
		case "-h", "-help", "--help":
			usage(stdout)
			return exitOK
		}
		cmd, ok := commands[args[0]]
		if !ok {
			fmt.Fprintf(stderr, "ekka-mesh help: %s\n\n", unknownCommand(args[0], commandNames()))
			usage(stderr)
			return exitUsage
		}
		if args[0] == "help" {
			usage(stdout)
			return exitOK
		}
		return cmd.run([]string{"--help"}, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "ekka-mesh help: want at most one command name, got %d arguments: %s\n", len(args), strings.Join(args, " "))
		return exitUsage
	}
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	positional, err := parseArgs(fs, args)
	if isHelp(err) {
		fmt.Fprintln(stdout, "Print the version of ekka-mesh (the release, else devel-REVISION), the Go")
		fmt.Fprintln(stdout, "version it was built with, and its OS/architecture.")
		fmt.Fprintln(stdout)
		flagUsage(stdout, fs, "version")
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh version: %v\nUsage: ekka-mesh version\n", err)
		return exitUsage
	}
	if len(positional) != 0 {
		fmt.Fprintf(stderr, "ekka-mesh version: takes no arguments, got %q\n", positional)
		return exitUsage
	}
	fmt.Fprintf(stdout, "ekka-mesh %s %s %s/%s\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// nodeVersion is the version a node announces to its peers
// (mesh.Config.Version): buildVersion, cut to mesh.MaxVersionLen bytes,
// with any byte that is not printable ASCII (or is a space) written as '_'.
func nodeVersion() string {
	b := []byte(buildVersion())
	if len(b) > mesh.MaxVersionLen {
		b = b[:mesh.MaxVersionLen]
	}
	for i, c := range b {
		if c <= ' ' || c >= 0x7f {
			b[i] = '_'
		}
	}
	return string(b)
}

// buildVersion returns the link-time version, else the module version, else
// the VCS revision, else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}

// parseArgs parses flags that may appear before, between or after the
// positional arguments (flag.FlagSet alone stops at the first positional
// argument). Everything after "--" is positional. fs must use
// flag.ContinueOnError; its own error output is discarded so the caller can
// report errors in its own words. It returns flag.ErrHelp for -h/--help;
// other errors name flags as --flag, and an unknown flag gets the closest
// known one as a suggestion.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(fs, err)
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// flagNameInError finds the flag named in one of the flag package's errors,
// which it writes with one dash whatever the user typed.
var flagNameInError = regexp.MustCompile(`(not defined: |for flag |for |needs an argument: )-([^\s:=]+)`)

// flagError rewrites an error of fs.Parse to name flags as --flag, the way
// this binary documents them, and adds "did you mean" to an unknown flag.
func flagError(fs *flag.FlagSet, err error) error {
	if isHelp(err) {
		return err
	}
	msg := flagNameInError.ReplaceAllString(err.Error(), "$1--$2")
	if m := flagNameInError.FindStringSubmatch(err.Error()); m != nil && strings.HasPrefix(m[1], "not defined") {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if hint := suggest.Closest(m[2], names); hint != "" {
			msg += fmt.Sprintf("; did you mean --%s?", hint)
		}
	}
	return errors.New(msg)
}

// flagUsage writes a command's usage line and its flags to w.
func flagUsage(w io.Writer, fs *flag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "Usage: ekka-mesh %s\n", synopsis)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if !hasFlags {
		return
	}
	fmt.Fprintln(w, "\nFlags:")
	printFlags(w, fs)
}

// printFlags lists fs's flags like flag.PrintDefaults, but written as
// --flag, the form this binary's help and errors use (a one-letter flag
// as -v):
//
//	--timeout duration
//	    	bounds the whole command (default 10s)
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		var b strings.Builder
		dashes := "--"
		if len(f.Name) == 1 {
			dashes = "-" // a one-letter flag, such as -v, keeps one dash
		}
		fmt.Fprintf(&b, "  %s%s", dashes, f.Name)
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			b.WriteString(" " + name)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		if def := f.DefValue; !isZeroDefault(def) {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					def = fmt.Sprintf("%q", def)
				}
			}
			fmt.Fprintf(&b, " (default %s)", def)
		}
		fmt.Fprintln(w, b.String())
	})
}

// isZeroDefault reports whether a flag's default is its type's zero value,
// which flag.PrintDefaults does not show either.
func isZeroDefault(def string) bool {
	switch def {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

// isHelp reports whether err is the flag package's -h/--help signal.
func isHelp(err error) bool {
	return errors.Is(err, flag.ErrHelp)
}
