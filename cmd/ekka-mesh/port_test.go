package main

import (
	"bytes"
	"errors"
	"flag"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run calls a command function directly and returns its exit status and output.
func run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = dispatch(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestPortCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"port", "emqx12@h"}, "4382\n"},
		{[]string{"port", "emqx@h"}, "4370\n"},
		{[]string{"port", "emqx-12@h"}, "4382\n"},
		{[]string{"port", "emqx007@h"}, "4377\n"},
		{[]string{"port", "emqx1a@h"}, "4370\n"},
		{[]string{"port", "n60000@h"}, "4370\n"},
		{[]string{"port", "n1@[::1]"}, "4371\n"},
		{[]string{"port", "--base-port", "5000", "n3@h"}, "5003\n"},
		{[]string{"port", "n3@h", "--base-port", "5000"}, "5003\n"},
		{[]string{"port", "n3@h", "--base-port=5000"}, "5003\n"},
		{[]string{"port", "-base-port", "5000", "n3@h"}, "5003\n"},
		{[]string{"port", "--", "-n3@h"}, "4373\n"},
		{[]string{"port", "--base-port", "6000", "--", "-n3@h"}, "6003\n"},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(tt.args...)
		if code != exitOK || stdout != tt.want || stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 0, stdout %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
}

func TestPortCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"port", "bad@"}, "ekka-mesh port: node name \"bad@\": empty host"},
		{[]string{"port", "@h"}, "empty short name"},
		{[]string{"port", "bad"}, "name must be short@host"},
		{[]string{"port", "a!@h"}, "illegal character in short name: '!' at position 2"},
		{[]string{"port", "n1@h_x"}, "invalid host"},
		{[]string{"port", "--base-port", "65000", "n600@h"}, "base port 65000 + offset 600 = 65600 is above 65535"},
		{[]string{"port", "--base-port", "0", "n1@h"}, "base port 0 is outside 1..65535"},
		{[]string{"port", "--base-port", "70000", "n1@h"}, "base port 70000 is outside 1..65535"},
		{[]string{"port", "--base-port", "x", "n1@h"}, `ekka-mesh port: invalid value "x" for flag --base-port`},
		{[]string{"port", "n1@h", "--base-port"}, "ekka-mesh port: flag needs an argument: --base-port"},
		{[]string{"port", "--nope", "n1@h"}, "ekka-mesh port: flag provided but not defined: --nope"},
		{[]string{"port"}, "want exactly one node name, got 0"},
		{[]string{"port", "a@h", "b@h"}, "want exactly one node name, got 2"},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(tt.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and stderr containing %q", tt.args, code, stdout, stderr, tt.want)
		}
		if !strings.HasPrefix(stderr, "ekka-mesh port: ") {
			t.Errorf("%q: stderr %q lacks the prefix \"ekka-mesh port: \"", tt.args, stderr)
		}
	}
}

func TestDispatch(t *testing.T) {
	code, stdout, stderr := run("nosuch")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, `unknown command "nosuch"`) || !strings.Contains(stderr, "Usage: ekka-mesh") {
		t.Errorf("unknown command: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = run()
	if code != exitUsage || !strings.Contains(stderr, "Usage: ekka-mesh") {
		t.Errorf("no command: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "help"}} {
		code, stdout, stderr = run(args...)
		if code != exitOK || stderr != "" || !strings.Contains(stdout, "  port ") || !strings.Contains(stdout, "  version ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	code, stdout, _ = run("help", "port")
	if code != exitOK || !strings.Contains(stdout, "Usage: ekka-mesh port NAME [--base-port N]") || !strings.Contains(stdout, "-base-port") {
		t.Errorf("help port: exit %d, stdout %q", code, stdout)
	}
	code, _, stderr = run("help", "nosuch")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = run("help", "a", "b")
	if code != exitUsage || !strings.Contains(stderr, "at most one command name") {
		t.Errorf("help a b: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr = run(args...)
		if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "ekka-mesh ") || !strings.Contains(stdout, "go1.") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	code, _, stderr = run("version", "x")
	if code != exitUsage || !strings.Contains(stderr, "takes no arguments") {
		t.Errorf("version x: exit %d, stderr %q", code, stderr)
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering port twice did not panic")
		}
	}()
	register("port", "again", runPort)
}

func TestParseArgs(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	b := fs.Bool("v", false, "")
	n := fs.Int("n", 0, "")
	pos, err := parseArgs(fs, []string{"a", "-v", "b", "-n", "3", "c", "--", "-x", "d"})
	if err != nil || !*b || *n != 3 || strings.Join(pos, ",") != "a,b,c,-x,d" {
		t.Fatalf("parseArgs = %q, %v (v=%v n=%d)", pos, err, *b, *n)
	}
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	if _, err := parseArgs(fs, []string{"x", "--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseArgs --help = %v, want flag.ErrHelp", err)
	}
}

// TestBinary builds the real binary once and runs it as a separate process.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ekka-mesh")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		args      []string
		code      int
		stdout    string
		stderrHas string
	}{
		{[]string{"port", "emqx12@h"}, 0, "4382\n", ""},
		{[]string{"port", "--base-port", "5000", "n3@h"}, 0, "5003\n", ""},
		{[]string{"port", "n3@h", "--base-port", "5000"}, 0, "5003\n", ""},
		{[]string{"port", "bad@"}, 2, "", "ekka-mesh port: node name \"bad@\": empty host"},
		{[]string{"nosuch"}, 2, "", `unknown command "nosuch"`},
	}
	for _, tt := range tests {
		cmd := exec.Command(bin, tt.args...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code = exitErr.ExitCode()
		} else if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if code != tt.code || out.String() != tt.stdout || (tt.stderrHas == "" && errOut.Len() != 0) || !strings.Contains(errOut.String(), tt.stderrHas) {
			t.Errorf("ekka-mesh %q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
				tt.args, code, out.String(), errOut.String(), tt.code, tt.stdout, tt.stderrHas)
		}
	}
}
