package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHelpEveryCommand: "ekka-mesh help X" and "ekka-mesh X --help" print
// X's help on stdout and exit 0 for every command X, so that no command
// answers its own help with a usage error.
func TestHelpEveryCommand(t *testing.T) {
	for _, name := range commandNames() {
		for _, args := range [][]string{{"help", name}, {name, "--help"}, {name, "-h"}} {
			code, stdout, stderr := run(args...)
			assert.Equal(t, exitOK, code, "%q: stderr %s", args, stderr)
			assert.Empty(t, stderr, "%q", args)
			assert.Contains(t, stdout, "Usage:", "%q", args)
		}
	}
	code, stdout, _ := run("help", "version")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "Usage: ekka-mesh version")
	code, _, stderr := run("version", "--bogus")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--bogus")
}
