package main

import (
	"bytes"
	"errors"
	"flag"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		// A short name alone, as epmd's port_please asks ekka_dist:port/1.
		{[]string{"port", "emqx12"}, "4382\n"},
		{[]string{"port", "emqx"}, "4370\n"},
		{[]string{"port", "--base-port", "5000", "n3"}, "5003\n"},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(tt.args...)
		assert.Equal(t, exitOK, code, "%q: stderr %q", tt.args, stderr)
		assert.Equal(t, tt.want, stdout, "%q", tt.args)
		assert.Empty(t, stderr, "%q", tt.args)
	}
}

func TestPortCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"port", "bad@"}, "ekka-mesh port: node name \"bad@\": empty host"},
		{[]string{"port", "@h"}, "empty short name"},
		{[]string{"port", "bad@h@x"}, "name must be short@host"},
		{[]string{"port", "em!qx"}, "illegal character in short name: '!' at position 3"},
		{[]string{"port", "remsh1@h"}, `node name "remsh1@h": remote shell name has no port: names beginning with "remsh" are remote shells`},
		{[]string{"port", "remsh"}, "ekka would give it port 0"},
		{[]string{"port", "--base-port", "0", "n1"}, "leave --base-port out for the default, 4370"},
		{[]string{"port", "a!@h"}, "illegal character in short name: '!' at position 2"},
		{[]string{"port", "n1@h_x"}, "invalid host"},
		{[]string{"port", "--base-port", "65000", "n600@h"}, "base port 65000 + offset 600 = 65600 is above 65535"},
		{[]string{"port", "--base-port", "0", "n1@h"}, "base port 0 is outside 1..65535 (leave --base-port out for the default, 4370)"},
		{[]string{"port", "--base-port", "70000", "n1@h"}, "base port 70000 is outside 1..65535"},
		{[]string{"port", "--base-port", "x", "n1@h"}, `ekka-mesh port: invalid value "x" for flag --base-port`},
		{[]string{"port", "n1@h", "--base-port"}, "ekka-mesh port: flag needs an argument: --base-port"},
		{[]string{"port", "--nope", "n1@h"}, "ekka-mesh port: flag provided but not defined: --nope"},
		{[]string{"port"}, "want exactly one node name, got 0"},
		{[]string{"port", "a@h", "b@h"}, "want exactly one node name, got 2"},
	}
	for _, tt := range tests {
		code, stdout, stderr := run(tt.args...)
		assert.Equal(t, exitUsage, code, "%q", tt.args)
		assert.Empty(t, stdout, "%q", tt.args)
		assert.Contains(t, stderr, tt.want, "%q", tt.args)
		assert.True(t, strings.HasPrefix(stderr, "ekka-mesh port: "), "%q: stderr %q lacks the prefix \"ekka-mesh port: \"", tt.args, stderr)
	}
}

func TestDispatch(t *testing.T) {
	code, stdout, stderr := run("nosuch")
	assert.Equal(t, exitUsage, code, "unknown command")
	assert.Empty(t, stdout, "unknown command")
	assert.Contains(t, stderr, `unknown command "nosuch"`)
	assert.Contains(t, stderr, "Usage: ekka-mesh")
	code, _, stderr = run()
	assert.Equal(t, exitUsage, code, "no command")
	assert.Contains(t, stderr, "Usage: ekka-mesh", "no command")
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "help"}} {
		code, stdout, stderr = run(args...)
		assert.Equal(t, exitOK, code, "%q", args)
		assert.Empty(t, stderr, "%q", args)
		assert.Contains(t, stdout, "  port ", "%q", args)
		assert.Contains(t, stdout, "  version ", "%q", args)
	}
	code, stdout, _ = run("help", "port")
	assert.Equal(t, exitOK, code, "help port")
	assert.Contains(t, stdout, "Usage: ekka-mesh port NAME [--base-port N]")
	assert.Contains(t, stdout, "-base-port")
	assert.Contains(t, stdout, "emqx12 -> 4382")
	assert.Contains(t, stdout, "Names beginning with remsh have no port")
	code, _, stderr = run("help", "nosuch")
	assert.Equal(t, exitUsage, code, "help nosuch")
	assert.Contains(t, stderr, `unknown command "nosuch"`)
	code, _, stderr = run("help", "a", "b")
	assert.Equal(t, exitUsage, code, "help a b")
	assert.Contains(t, stderr, "at most one command name")
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr = run(args...)
		assert.Equal(t, exitOK, code, "%q", args)
		assert.Empty(t, stderr, "%q", args)
		assert.True(t, strings.HasPrefix(stdout, "ekka-mesh "), "%q: stdout %q", args, stdout)
		assert.Contains(t, stdout, "go1.", "%q", args)
	}
	code, _, stderr = run("version", "x")
	assert.Equal(t, exitUsage, code, "version x")
	assert.Contains(t, stderr, "takes no arguments")
}

func TestRegisterDuplicatePanics(t *testing.T) {
	assert.Panics(t, func() { register("port", "again", runPort) }, "registering port twice")
}

func TestParseArgs(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	b := fs.Bool("v", false, "")
	n := fs.Int("n", 0, "")
	pos, err := parseArgs(fs, []string{"a", "-v", "b", "-n", "3", "c", "--", "-x", "d"})
	require.NoError(t, err)
	assert.True(t, *b)
	assert.Equal(t, 3, *n)
	assert.Equal(t, []string{"a", "b", "c", "-x", "d"}, pos)
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	_, err = parseArgs(fs, []string{"x", "--help"})
	require.ErrorIs(t, err, flag.ErrHelp)
}

// TestBinary builds the real binary once and runs it as a separate process.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ekka-mesh")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
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
		{[]string{"port", "emqx12"}, 0, "4382\n", ""},
		{[]string{"port", "remsh1@h"}, 2, "", "remote shell name has no port"},
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
		} else {
			require.NoError(t, err, "%q", tt.args)
		}
		assert.Equal(t, tt.code, code, "ekka-mesh %q: stderr %q", tt.args, errOut.String())
		assert.Equal(t, tt.stdout, out.String(), "ekka-mesh %q", tt.args)
		if tt.stderrHas == "" {
			assert.Empty(t, errOut.String(), "ekka-mesh %q", tt.args)
		} else {
			assert.Contains(t, errOut.String(), tt.stderrHas, "ekka-mesh %q", tt.args)
		}
	}
}
