package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// strictObject decodes line as exactly one JSON object and fails on a key
// repeated in any object (encoding/json would keep the last silently).
func strictObject(line string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	v, err := strictValue(dec)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object: %T", v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("more than one JSON value on the line")
	}
	return m, nil
}

func strictValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		m := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string)
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("key %q repeated", k)
			}
			if m[k], err = strictValue(dec); err != nil {
				return nil, err
			}
		}
		_, err := dec.Token() // '}'
		return m, err
	case json.Delim('['):
		var a []any
		for dec.More() {
			v, err := strictValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token() // ']'
		return a, err
	}
	return tok, nil
}

// jsonLines checks that every line of log is one JSON object with time,
// level and msg and no repeated key, and returns them.
func jsonLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		m, err := strictObject(line)
		require.NoError(t, err, "line %d: %s", i+1, line)
		for _, k := range []string{"time", "level", "msg"} {
			require.Contains(t, m, k, "line %d: %s", i+1, line)
		}
		out = append(out, m)
	}
	return out
}

func TestStrictObjectDetectsRepeatedKeys(t *testing.T) {
	// What the detector is for: slog's own handler writes a key twice.
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).With("node", "a").Info("m", "node", "b")
	_, err := strictObject(buf.String())
	assert.ErrorContains(t, err, `key "node" repeated`)
	_, err = strictObject(`{"a":{"b":1,"b":2}}`)
	assert.ErrorContains(t, err, `key "b" repeated`)
	_, err = strictObject(`{"a":1} {"a":1}`)
	assert.Error(t, err)
	m, err := strictObject(`{"a":[{"b":1},{"b":2}],"c":{"b":3}}`)
	assert.NoError(t, err)
	assert.Len(t, m, 2)
}

func TestUniqueHandler(t *testing.T) {
	var buf bytes.Buffer
	log := newNodeLog(&buf, config.LogJSON, slog.LevelDebug).logger()

	log.With("node", "a", "x", 1).Info("m", "node", "b", "msg", "shadow", "time", "t", slog.Group("", "x", 2))
	m, err := strictObject(buf.String())
	require.NoError(t, err, buf.String())
	assert.Equal(t, "m", m["msg"])
	assert.Equal(t, "b", m["node"], "the last value wins")
	assert.Equal(t, json.Number("2"), m["x"], "an inline group's attributes count at its level")
	assert.Equal(t, "shadow", m["attr.msg"], "an attribute named like a built-in key is renamed")
	assert.Equal(t, "t", m["attr.time"])

	buf.Reset()
	log.Info("m", "delay", 15*time.Second)
	m, err = strictObject(buf.String())
	require.NoError(t, err, buf.String())
	assert.Equal(t, "15s", m["delay"], "durations read as in the text format")

	buf.Reset()
	log.With("node", "a").WithGroup("g").With("y", 1, "node", "in g").Info("m", "y", 2, "msg", "in g", slog.Group("h", "z", 1, "z", 2))
	m, err = strictObject(buf.String())
	require.NoError(t, err, buf.String())
	assert.Equal(t, "a", m["node"])
	assert.Equal(t, map[string]any{"y": json.Number("2"), "node": "in g", "msg": "in g", "h": map[string]any{"z": json.Number("2")}}, m["g"])

	// Text: the same rule.
	buf.Reset()
	newNodeLog(&buf, config.LogText, slog.LevelInfo).logger().With("node", "a").Info("m", "node", "b")
	assert.Equal(t, 1, strings.Count(buf.String(), "node="), buf.String())
	assert.Contains(t, buf.String(), "level=INFO msg=m node=b\n")
}

// TestLogLevels: the mesh's routine info lines show only at debug, its
// warnings and admin actions at info, and a level change applies to both
// loggers at once.
func TestLogLevels(t *testing.T) {
	var buf bytes.Buffer
	nl := newNodeLog(&buf, config.LogText, slog.LevelInfo)
	log, meshLog := nl.logger(), nl.meshLogger()
	emit := func() string {
		buf.Reset()
		log.Debug("own debug")
		log.Info("own info")
		meshLog.Debug("mesh debug")
		meshLog.Info("mesh info")
		meshLog.Info(mesh.AdminActionMsg, "action", "join")
		meshLog.Warn("mesh warn")
		var msgs []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			_, msg, _ := strings.Cut(line, "msg=")
			msgs = append(msgs, strings.Trim(strings.Split(msg, `" `)[0], `"`))
		}
		return strings.Join(msgs, ",")
	}
	assert.Equal(t, "own info,admin action,mesh warn", emit())
	nl.level.Set(slog.LevelDebug)
	assert.Equal(t, "own debug,own info,mesh debug,mesh info,admin action,mesh warn", emit())
	nl.level.Set(slog.LevelWarn)
	assert.Equal(t, "mesh warn", emit())
}

// TestJSONLogScenario runs two nodes with JSON logs through a start, a
// join, a call, a lock and unlock through ctl, a ctl lock left to expire,
// the peer stopping and a stop: every line is one JSON object with time,
// level and msg and no key twice; the admin actions name the client.
func TestJSONLogScenario(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "j1@127.0.0.1", "j2@127.0.0.2")
	b := strconv.Itoa(base)
	common := []string{"--base-port", b, "--cookie", "json-cookie-0123456789abcdef", "--set", "node.heartbeat_interval=200ms", "--set", "node.heartbeat_timeout=1s"}
	// j1 by the flags, j2 by the environment.
	p1 := startRunNode(t, map[string]string{"HOME": t.TempDir()}, append([]string{"--name", "j1@127.0.0.1", "--log-format", "json", "--log-level", "debug"}, common...)...)
	env2 := map[string]string{"HOME": t.TempDir(), "EKKA_MESH_LOG__FORMAT": "json", "EKKA_MESH_LOG__LEVEL": "debug"}
	p2 := startRunNode(t, env2, append([]string{"--name", "j2@127.0.0.2"}, common...)...)
	on := func(node string, args ...string) string {
		t.Helper()
		code, stdout, stderr := ctl(t, map[string]string{"HOME": t.TempDir()}, append([]string{"--node", node, "--base-port", b, "--cookie", "json-cookie-0123456789abcdef"}, args...)...)
		require.Equal(t, exitOK, code, "ctl %q: %s %s", args, stdout, stderr)
		return stdout
	}
	on("j2@127.0.0.2", "join", "j1@127.0.0.1")
	testnet.Eventually(t, 20*time.Second, "j1 and j2 clustered", func() string {
		if r := p1.node.Info().RunningNodes; len(r) != 2 {
			return fmt.Sprint("j1 runs ", r)
		}
		return ""
	})
	assert.Equal(t, "pong", strings.TrimSpace(on("j1@127.0.0.1", "call", "j2@127.0.0.2", mesh.MethodPong)))
	on("j1@127.0.0.1", "lock", "orders", "--owner", "A", "--lease", "30s")
	on("j1@127.0.0.1", "unlock", "orders", "--owner", "A")
	on("j1@127.0.0.1", "lock", "brief", "--owner", "B", "--lease", "300ms")
	testnet.Eventually(t, 20*time.Second, "the brief lock's lease ended on j1", func() string {
		if !strings.Contains(p1.log.String(), `"msg":"lease ended"`) || !strings.Contains(p1.log.String(), `"resource":"brief"`) {
			return "no lease ended line yet"
		}
		return ""
	})
	require.Equal(t, exitOK, p2.stop(t))
	testnet.Eventually(t, 20*time.Second, "j1 logs j2 down", func() string {
		if !strings.Contains(p1.log.String(), `"msg":"node-down"`) {
			return "no node-down yet"
		}
		return ""
	})
	require.Equal(t, exitOK, p1.stop(t))

	lines1, lines2 := jsonLines(t, p1.log.String()), jsonLines(t, p2.log.String())
	find := func(lines []map[string]any, kv ...string) []map[string]any {
		var out []map[string]any
	next:
		for _, m := range lines {
			for i := 0; i < len(kv); i += 2 {
				if fmt.Sprint(m[kv[i]]) != kv[i+1] {
					continue next
				}
			}
			out = append(out, m)
		}
		return out
	}
	client := func(m map[string]any) {
		t.Helper()
		assert.Regexp(t, `^ctl-[0-9a-f]+@127\.0\.0\.1$`, m["client"], "%v", m)
		assert.Regexp(t, `^127\.0\.0\.1:\d+$`, m["client_addr"], "%v", m)
	}
	for _, tc := range []struct {
		lines []map[string]any
		kv    []string
	}{
		{lines2, []string{"msg", "admin action", "level", "INFO", "node", "j2@127.0.0.2", "action", "join", "target", "j1@127.0.0.1", "outcome", "ok"}},
		{lines1, []string{"msg", "admin action", "level", "INFO", "action", "lock", "resource", "orders", "owner", "A", "type", "quorum", "outcome", "granted"}},
		{lines1, []string{"msg", "admin action", "level", "INFO", "action", "unlock", "resource", "orders", "owner", "A", "outcome", "released"}},
		{lines1, []string{"msg", "admin action", "level", "INFO", "action", "lock", "resource", "brief", "owner", "B", "outcome", "granted"}},
	} {
		got := find(tc.lines, tc.kv...)
		if assert.Len(t, got, 1, "%q", tc.kv) {
			client(got[0])
		}
	}
	ended := find(lines1, "msg", "lease ended", "level", "INFO", "resource", "brief", "owner", "B")
	assert.Len(t, ended, 1, "the ctl lock's end on the holding node")
	assert.Empty(t, find(lines1, "msg", "lease lost"))
	assert.Len(t, find(lines1, "msg", "started", "name", "j1@127.0.0.1"), 1)
	assert.Len(t, find(lines1, "msg", "node-down", "member", "j2@127.0.0.2"), 1)
	assert.Len(t, find(lines2, "msg", "stopped"), 1)
	assert.NotEmpty(t, find(lines1, "level", "DEBUG"), "log.level=debug applies")
}

// TestAdminActionsAtInfo: at the default level (info) the admin actions
// show, the mesh's routine info lines do not.
func TestAdminActionsAtInfo(t *testing.T) {
	checkLeaks(t)
	base := testnet.FreeBase(t, "i1@127.0.0.1")
	b := strconv.Itoa(base)
	p := startRunNode(t, map[string]string{"HOME": t.TempDir()}, "--name", "i1@127.0.0.1", "--base-port", b, "--cookie", "info-cookie-0123456789abcdef")
	code, stdout, stderr := ctl(t, map[string]string{"HOME": t.TempDir()}, "--node", "i1@127.0.0.1", "--base-port", b, "--cookie", "info-cookie-0123456789abcdef",
		"join", "i1@127.0.0.1")
	t.Logf("ctl join itself: exit %d %s %s", code, stdout, stderr)
	code, stdout, stderr = ctl(t, map[string]string{"HOME": t.TempDir()}, "--node", "i1@127.0.0.1", "--base-port", b, "--cookie", "info-cookie-0123456789abcdef",
		"lock", "r", "--owner", "me")
	require.Equal(t, exitOK, code, "%s %s", stdout, stderr)
	require.Equal(t, exitOK, p.stop(t))
	log := p.log.String()
	lines := logLines(log, "admin action")
	require.Len(t, lines, 2, log)
	assert.Regexp(t, `level=INFO msg="admin action" node=i1@127\.0\.0\.1 action=join target=i1@127\.0\.0\.1 client=ctl-[0-9a-f]+@127\.0\.0\.1 client_addr=127\.0\.0\.1:\d+ outcome=`, lines[0])
	assert.Regexp(t, `level=INFO msg="admin action" locker=default action=lock resource=r owner=me type=quorum lease=\S+ token=\d+ granted_by=i1@127\.0\.0\.1 client=ctl-[0-9a-f]+@127\.0\.0\.1 client_addr=127\.0\.0\.1:\d+ outcome=granted`, lines[1])
	assert.Empty(t, logLines(log, "node started"), "the mesh's routine info lines show at debug only")
	assert.NotContains(t, log, "level=DEBUG")
}
