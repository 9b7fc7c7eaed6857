package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/doccheck"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// TestCtlCallOutput: ctl call prints a text reply with a newline after it
// (one added when the reply has none), and a binary reply, an empty one or
// any reply under --raw exactly as it came.
func TestCtlCallOutput(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "c1@127.0.0.1")
	n := startMeshNode(t, "c1@127.0.0.1", base, "C")
	binary := []byte{0x00, 0xff, 'p', 'o', 'n', 'g', 0x01}
	replies := map[string][]byte{
		"text":      []byte("héllo, world"),
		"text.nl":   []byte("two\nlines\n"),
		"text.tab":  []byte("a\tb\r\nc"),
		"binary":    binary,
		"bad.utf8":  []byte("abc\xc3"),
		"escape":    []byte("red \x1b[31m"),
		"empty":     nil,
		"json":      []byte(`{"ok":true}`),
		"only.nl":   []byte("\n"),
		"nul.inner": []byte("a\x00b"),
	}
	for method, reply := range replies {
		require.NoError(t, n.Handle(method, func(context.Context, string, []byte) ([]byte, error) { return reply, nil }))
	}
	call := func(args ...string) (int, string, string) {
		return ctl(t, map[string]string{}, append([]string{"--node", "c1@127.0.0.1", "--base-port", strconv.Itoa(base), "--cookie", "C", "call"}, args...)...)
	}
	for _, tt := range []struct {
		method string
		want   string
	}{
		{"text", "héllo, world\n"},
		{"text.nl", "two\nlines\n"},
		{"text.tab", "a\tb\r\nc\n"},
		{"json", "{\"ok\":true}\n"},
		{"only.nl", "\n"},
		{"binary", string(binary)},
		{"bad.utf8", "abc\xc3"},
		{"escape", "red \x1b[31m"},
		{"nul.inner", "a\x00b"},
		{"empty", ""},
		{mesh.MethodPong, "pong\n"},
	} {
		code, stdout, stderr := call("c1@127.0.0.1", tt.method)
		assert.Equal(t, exitOK, code, "%s: %s", tt.method, stderr)
		assert.Equal(t, tt.want, stdout, tt.method)
		assert.Empty(t, stderr, tt.method)

		code, stdout, stderr = call("c1@127.0.0.1", tt.method, "--raw")
		assert.Equal(t, exitOK, code, "%s --raw: %s", tt.method, stderr)
		want := string(replies[tt.method])
		if tt.method == mesh.MethodPong {
			want = "pong"
		}
		assert.Equal(t, want, stdout, "%s --raw", tt.method)
	}

	code, stdout, stderr := ctl(t, map[string]string{}, "--node", "c1@127.0.0.1", "--base-port", strconv.Itoa(base), "--cookie", "C", "--raw", "status")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "ekka-mesh ctl: --raw applies to call only, not to status")
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteReply(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, writeReply(&b, []byte("ok"), false))
	assert.Equal(t, "ok\n", b.String())
	b.Reset()
	require.NoError(t, writeReply(&b, []byte("ok"), true))
	assert.Equal(t, "ok", b.String())
	assert.EqualError(t, writeReply(failWriter{}, []byte("ok"), false), "disk full")

	for s, want := range map[string]bool{
		"":            true,
		"plain":       true,
		"tab\tcr\r":   true,
		"ünïcödé ✓":   true,
		"nul\x00":     false,
		"bell\a":      false,
		"del\x7f":     false,
		"\xff\xfe":    false,
		"cut\xe2\x9c": false,
	} {
		assert.Equal(t, want, isText([]byte(s)), "%q", s)
	}
}

// TestCallHelpListsBuiltins: ctl's help lists, for call, every built-in
// method that wire/PROTOCOL.md section 11.1 specifies (the mesh package's
// TestBuiltinMethodsAreSpecified checks that this table is what a bare node
// serves), and nothing else as built-in.
func TestCallHelpListsBuiltins(t *testing.T) {
	spec, err := os.ReadFile("../../wire/PROTOCOL.md")
	require.NoError(t, err)
	specified := doccheck.BuiltinMethods(spec)
	require.NotEmpty(t, specified)

	var listed []string
	for _, m := range builtinMethods {
		listed = append(listed, m.name)
	}
	slices.Sort(listed)
	assert.Equal(t, specified, listed, "ctl call's help lists %v; PROTOCOL.md section 11.1 specifies %v: add the new method's mesh constant to builtinMethods", listed, specified)

	code, stdout, stderr := run("help", "ctl")
	require.Equal(t, exitOK, code, stderr)
	for _, m := range specified {
		assert.Regexp(t, `(?m)^  `+regexp.QuoteMeta(m)+` `, stdout)
	}
	assert.Contains(t, stdout, "--raw")
	assert.True(t, strings.Contains(stdout, "locker:default:"), "the help names the lock service's methods")
}
