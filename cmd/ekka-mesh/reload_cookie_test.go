package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

// TestReloadCookies: a reload hands changed cookies to the node and never
// logs them; an empty node.cookie with no cookie file is refused instead
// of creating a new random cookie that would cut the node off.
func TestReloadCookies(t *testing.T) {
	home := t.TempDir()
	conf := filepath.Join(t.TempDir(), "node.conf")
	write := func(content string) {
		t.Helper()
		require.NoError(t, os.WriteFile(conf, []byte(content), 0o600))
	}
	opts := runOptions{configPath: conf}
	hooks := runHooks{getenv: func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}}
	logs := &testnet.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	var got [][]string
	setCookie := func(current string, previous []string) error {
		got = append(got, append([]string{current}, previous...))
		return nil
	}

	write("node.cookie = first-cookie-0123456789\n")
	running, err := hooks.load(opts)
	require.NoError(t, err)
	nl := settingsLog(logs, running)

	write("node.cookie = second-cookie-0123456789\nnode.cookie_previous = first-cookie-0123456789\n")
	running = reload(opts, hooks, running, nl, log, reloadApply{setCookie: setCookie})
	require.Equal(t, [][]string{{"second-cookie-0123456789", "first-cookie-0123456789"}}, got)
	assert.Contains(t, logs.String(), `msg="SIGHUP: reloaded node.cookie, node.cookie_previous (hidden); other keys need a restart"`)
	assert.Equal(t, "second-cookie-0123456789", running.Node.Cookie, "the next reload compares with what is in force")

	write("")
	running = reload(opts, hooks, running, nl, log, reloadApply{setCookie: setCookie})
	require.Len(t, got, 1, "no cookie file: nothing handed to the node")
	assert.Contains(t, logs.String(), `msg="SIGHUP: the new cookies are refused; the node keeps its cookies"`)
	assert.Contains(t, logs.String(), "a reload never creates it")
	assert.NoFileExists(t, filepath.Join(home, ".ekka-mesh.cookie"))
	assert.Equal(t, "second-cookie-0123456789", running.Node.Cookie)
	assert.NotContains(t, logs.String(), "-cookie-0123456789", "a cookie in the log")
}

// TestReloadTags: a reload hands the node its new tags when a node.tags.*
// key changed (cleared ones included), logs the change, and keeps the
// running tags when the node refuses the new ones.
func TestReloadTags(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "node.conf")
	write := func(content string) {
		t.Helper()
		require.NoError(t, os.WriteFile(conf, []byte("node.cookie = tags-cookie-0123456789\n"+content), 0o600))
	}
	opts := runOptions{configPath: conf}
	hooks := runHooks{getenv: func(string) string { return "" }}
	logs := &testnet.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	var got []map[string]string
	refuse := false
	apply := reloadApply{setTags: func(tags map[string]string) error {
		if refuse {
			return errors.New("tag value too long")
		}
		got = append(got, tags)
		return nil
	}}

	write("node.tags.role = web\n")
	running, err := hooks.load(opts)
	require.NoError(t, err)
	nl := settingsLog(logs, running)

	write("node.tags.role = db\nnode.tags.zone = eu-1\n")
	running = reload(opts, hooks, running, nl, log, apply)
	require.Equal(t, []map[string]string{{"role": "db", "zone": "eu-1"}}, got)
	assert.Contains(t, logs.String(), `msg="SIGHUP: reloaded node.tags.KEY (node.tags.role=web -> node.tags.role=db,node.tags.zone=eu-1); other keys need a restart"`)

	write("node.tags.role = db\nnode.tags.zone = eu-1\n")
	running = reload(opts, hooks, running, nl, log, apply)
	require.Len(t, got, 1, "unchanged tags are not handed to the node again")

	refuse = true
	write("node.tags.role = cache\n")
	running = reload(opts, hooks, running, nl, log, apply)
	require.Len(t, got, 1)
	assert.Contains(t, logs.String(), `msg="SIGHUP: the new tags are refused; the node keeps its tags" err="tag value too long"`)
	assert.Equal(t, map[string]string{"role": "db", "zone": "eu-1"}, running.Node.Tags, "the next reload compares with the tags in force")

	refuse = false
	write("")
	reload(opts, hooks, running, nl, log, apply)
	require.Len(t, got, 2)
	assert.Empty(t, got[1], "every tag removed from the file: the node's tags are cleared")
}
