package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// startBenchServe runs bench serve in-process with the given flags and
// waits until its node is up; it is stopped at the end of the test unless
// stop was called.
func startBenchServe(t *testing.T, env map[string]string, args ...string) *inprocNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &inprocNode{log: &testnet.SyncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	started := make(chan *mesh.Node, 1)
	go func() {
		p.done <- benchServeMain(ctx, args, p.log, p.log, runHooks{getenv: envFunc(env), started: func(n *mesh.Node) { started <- n }})
	}()
	select {
	case p.node = <-started:
	case code := <-p.done:
		cancel()
		t.Fatalf("bench serve %q exited with %d before starting:\n%s", args, code, p.log.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("bench serve %q did not start in 20s:\n%s", args, p.log.String())
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// benchRun runs bench run in-process and returns its exit status and output.
func benchRun(t *testing.T, env map[string]string, terminal bool, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = benchRunMain(ctx, args, &out, &errOut, benchRunHooks{getenv: envFunc(env), terminal: terminal})
	return code, out.String(), errOut.String()
}

// lastJSON decodes the last line of stdout as a JSON object and returns its
// keys in order and its values.
func lastJSON(t *testing.T, stdout string) ([]string, map[string]any) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(last), &obj), "the last line of stdout: %q", last)
	dec := json.NewDecoder(strings.NewReader(last))
	_, err := dec.Token()
	require.NoError(t, err)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var v any
		require.NoError(t, dec.Decode(&v))
	}
	return keys, obj
}

var benchJSONKeys = []string{"workload", "concurrency", "size", "ops", "ops_per_sec", "p50_us", "p99_us", "mb_per_sec"}

func TestBenchServeAndRun(t *testing.T) {
	checkLeaks(t)
	const target = "bs1@127.0.0.1"
	base := strconv.Itoa(testnet.FreeBase(t, target))
	env := map[string]string{"HOME": t.TempDir()}
	srv := startBenchServe(t, env, "--name", target, "--cookie", "bench-cookie-0123456789abcdef", "--base-port", base)

	for _, tc := range []struct {
		workload    string
		extra       []string
		size        float64
		concurrency float64
	}{
		{"call", nil, 64, 1},
		{"cast", []string{"--concurrency", "2", "--size", "1KiB"}, 1024, 2},
		{"bulk", []string{"--size", "256K", "--payload", "random"}, 256 << 10, 1},
	} {
		t.Run(tc.workload, func(t *testing.T) {
			args := append([]string{"--target", target, "--cookie", "bench-cookie-0123456789abcdef", "--base-port", base,
				"--workload", tc.workload, "--duration", "100ms", "--json"}, tc.extra...)
			code, stdout, stderr := benchRun(t, env, false, args...)
			require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			keys, obj := lastJSON(t, stdout)
			require.GreaterOrEqual(t, len(keys), len(benchJSONKeys), "keys %v", keys)
			assert.Equal(t, benchJSONKeys, keys[:len(benchJSONKeys)])
			assert.Equal(t, tc.workload, obj["workload"])
			assert.Equal(t, tc.size, obj["size"])
			assert.Equal(t, tc.concurrency, obj["concurrency"])
			assert.Positive(t, obj["ops"])
			assert.Positive(t, obj["ops_per_sec"])
			assert.Positive(t, obj["mb_per_sec"])
			assert.Positive(t, obj["p50_us"])
			assert.GreaterOrEqual(t, obj["p99_us"], obj["p50_us"])
			// The human summary comes first.
			assert.Contains(t, stdout, tc.workload+" from benchrun@127.0.0.1 to "+target)
			assert.Contains(t, stdout, "ops/s")
			assert.Empty(t, stderr, "no progress line off a terminal, nothing logged below warn")
		})
	}
	t.Run("lock", func(t *testing.T) {
		// bench serve runs the default lock service, as run does; the
		// bench node joined last, so the target leads and holds the table.
		code, stdout, stderr := benchRun(t, env, false, "--target", target, "--cookie", "bench-cookie-0123456789abcdef", "--base-port", base,
			"--workload", "lock", "--concurrency", "2", "--bulk", "256KiB", "--payload", "random", "--duration", "200ms", "--json")
		require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		keys, obj := lastJSON(t, stdout)
		assert.Equal(t, benchJSONKeys, keys[:len(benchJSONKeys)])
		assert.Equal(t, "lock", obj["workload"])
		assert.Equal(t, target, obj["lock_node"])
		assert.Equal(t, float64(256<<10), obj["bulk"])
		assert.Positive(t, obj["ops"])
		assert.Positive(t, obj["bulk_mb_per_sec"])
		assert.Contains(t, stdout, "lock from benchrun@127.0.0.1 to "+target+": leader locks in "+target+"'s table taken and released by 2 owners, with 256 KiB calls of bench.sink alongside")
		assert.Contains(t, stdout, "  bulk       ")
	})
	t.Run("terminal", func(t *testing.T) {
		code, stdout, stderr := benchRun(t, env, true, "--target", target, "--cookie", "bench-cookie-0123456789abcdef", "--base-port", base,
			"--workload", "call", "--concurrency", "4", "--duration", "1100ms")
		require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Regexp(t, `\rcall run \d+\.\ds of 1\.1s: [1-9]\d* ops, [1-9]\d* ops/s\x1b\[K`, stderr)
		assert.True(t, strings.HasSuffix(stderr, "\r\x1b[K"), "the progress line is erased at the end: %q", stderr)
		assert.NotContains(t, stdout, "{", "no JSON without --json")
		assert.Contains(t, stdout, "4 in flight")
	})
	// The bench node left: the server runs alone again, and stops cleanly.
	testnet.Eventually(t, 10*time.Second, "the server alone", func() string {
		if running := srv.node.Info().RunningNodes; len(running) != 1 {
			return "running: " + strings.Join(running, ",")
		}
		return ""
	})
	require.Equal(t, exitOK, srv.stop(t), srv.log.String())
	log := srv.log.String()
	assert.Contains(t, log, "msg=\"serving the bench methods\" name="+target)
	assert.Contains(t, log, "msg=node-up member=benchrun@127.0.0.1")
	assert.Contains(t, log, "msg=served echo_calls=")
	assert.NotContains(t, log, "casts=0 ")
}

func TestBenchRunNamedNode(t *testing.T) {
	// With --name the bench node listens on its name's port, and the
	// settings of a configuration file apply to it as to run.
	checkLeaks(t)
	const target, self = "bs2@127.0.0.1", "driver9@127.0.0.1"
	base := strconv.Itoa(testnet.FreeBase(t, target, self))
	env := map[string]string{"HOME": t.TempDir()}
	conf := filepath.Join(t.TempDir(), "bench.conf")
	require.NoError(t, os.WriteFile(conf, []byte("cluster.name = benchcl\nnode.cookie = filecookie\nnode.base_port = "+base+"\n"), 0o600))
	startBenchServe(t, env, "--config", conf, "--name", target)
	code, stdout, stderr := benchRun(t, env, false, "--config", conf, "--target", target, "--name", self,
		"--workload", "cast", "--duration", "50ms", "--json", "--log-level", "info")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stderr, "msg=started name="+self+" addr=127.0.0.1:"+strconv.Itoa(mustAtoi(t, base)+9))
	_, obj := lastJSON(t, stdout)
	assert.Equal(t, target, obj["target"])
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

func TestBenchRunTargetUnreachable(t *testing.T) {
	checkLeaks(t)
	base := strconv.Itoa(testnet.FreeBase(t, "nobody3@127.0.0.1"))
	code, stdout, stderr := benchRun(t, nil, false, "--target", "nobody3@127.0.0.1", "--cookie", "c", "--base-port", base,
		"--workload", "call", "--timeout", "300ms")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "ekka-mesh bench run: cannot reach the target nobody3@127.0.0.1 at 127.0.0.1:"+strconv.Itoa(mustAtoi(t, base)+3))
	assert.Contains(t, stderr, "is the node running")
}

func TestBenchRunTargetNotServing(t *testing.T) {
	checkLeaks(t)
	const target = "plain4@127.0.0.1"
	base := strconv.Itoa(testnet.FreeBase(t, target))
	startRunNode(t, map[string]string{"HOME": t.TempDir()}, "--name", target, "--cookie", "c", "--base-port", base)
	code, stdout, stderr := benchRun(t, nil, false, "--target", target, "--cookie", "c", "--base-port", base, "--workload", "bulk")
	assert.Equal(t, exitFail, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "does not serve the bench methods (run ekka-mesh bench serve there")
}

func TestBenchRunBadCookie(t *testing.T) {
	checkLeaks(t)
	const target = "bs5@127.0.0.1"
	base := strconv.Itoa(testnet.FreeBase(t, target))
	startBenchServe(t, map[string]string{"HOME": t.TempDir()}, "--name", target, "--cookie", "right", "--base-port", base)
	code, _, stderr := benchRun(t, nil, false, "--target", target, "--cookie", "wrong", "--base-port", base, "--workload", "call", "--log-level", "error")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, stderr, "cannot reach the target "+target)
	assert.Contains(t, stderr, "the node refused the cookie")
}

func TestBenchUsageErrors(t *testing.T) {
	ok := []string{"--target", "b1@127.0.0.1", "--cookie", "c"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "ekka-mesh bench: want a subcommand, serve or run"},
		{[]string{"walk"}, `ekka-mesh bench: unknown subcommand "walk", want serve or run`},
		{[]string{"run", "--cookie", "c", "--workload", "call"}, "ekka-mesh bench run: --target is required"},
		{[]string{"run", "--target", "nohost@", "--workload", "call"}, `--target "nohost@": want a node name, short@host`},
		{append([]string{"run"}, ok...), "--workload is required: want call, cast, bulk or lock"},
		{append([]string{"run", "--workload", "stream"}, ok...), `--workload "stream": want call, cast, bulk or lock`},
		{append([]string{"run", "--workload", "bulk", "--bulk", "64MiB"}, ok...), `--bulk "64MiB": only the lock workload sends bulk calls alongside`},
		{append([]string{"run", "--workload", "lock", "--bulk", "lots"}, ok...), `--bulk "lots": want a number of bytes from 0 to`},
		{append([]string{"run", "--workload", "lock", "--size", "64"}, ok...), `--size "64": the lock workload sends no payload; --bulk sizes the calls sent alongside`},
		{append([]string{"run", "--workload", "call", "--concurrency", "0"}, ok...), `--concurrency "0": want a whole number from 1 to 4096`},
		{append([]string{"run", "--workload", "call", "--concurrency", "many"}, ok...), `--concurrency "many": want a whole number`},
		{append([]string{"run", "--workload", "bulk", "--size", "1GiB"}, ok...), `--size "1GiB": want a number of bytes from 1 to`},
		{append([]string{"run", "--workload", "bulk", "--size", "0"}, ok...), `--size "0": want a number of bytes from 1 to`},
		{append([]string{"run", "--workload", "cast", "--duration", "0s"}, ok...), `--duration "0s": want a positive duration`},
		{append([]string{"run", "--workload", "cast", "--duration", "five"}, ok...), `--duration "five": want a positive duration`},
		{append([]string{"run", "--workload", "cast", "--warmup", "-1s"}, ok...), `--warmup "-1s": want 0s or a positive duration`},
		{append([]string{"run", "--workload", "cast", "--payload", "ones"}, ok...), `--payload "ones": want zeros or random`},
		{append([]string{"run", "--workload", "cast", "--timeout", "0"}, ok...), `--timeout "0": want a positive duration`},
		{append([]string{"run", "--workload", "cast", "--log-level", "loud"}, ok...), `--log-level "loud": want debug, info, warn or error`},
		{append([]string{"run", "--workload", "cast", "extra"}, ok...), `takes no arguments besides flags, got ["extra"]`},
		{append([]string{"run", "--workload", "cast", "--frobnicate"}, ok...), "flag provided but not defined: --frobnicate"},
		{append([]string{"run", "--workload", "cast", "--set", "node.colour=red"}, ok...), "node.colour"},
		{append([]string{"run", "--workload", "cast", "--base-port", "99999"}, ok...), "node.base_port"},
		{[]string{"serve", "--log-level", "loud"}, `ekka-mesh bench serve: --log-level "loud": want debug, info, warn or error`},
		{[]string{"serve", "now"}, `ekka-mesh bench serve: takes no arguments besides flags, got ["now"]`},
		{[]string{"serve", "--set", "node.colour=red"}, "node.colour"},
	} {
		var out, errOut bytes.Buffer
		code := dispatch(append([]string{"bench"}, tc.args...), &out, &errOut)
		assert.Equal(t, exitUsage, code, "bench %q: stderr %s", tc.args, errOut.String())
		assert.Contains(t, errOut.String(), tc.want, "bench %q", tc.args)
		assert.Empty(t, out.String(), "bench %q", tc.args)
	}
}

func TestBenchHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"help", "bench"}, []string{"Usage:\n  ekka-mesh bench serve", "ekka-mesh bench run --target NAME"}},
		{[]string{"bench", "--help"}, []string{"bench serve runs a"}},
		{[]string{"bench", "serve", "--help"}, []string{"Usage: ekka-mesh bench serve", "-log-level", "-set KEY=VALUE"}},
		{[]string{"bench", "run", "-h"}, []string{"Usage: ekka-mesh bench run", "-workload", "-json", "p50_us, p99_us, mb_per_sec"}},
	} {
		var out, errOut bytes.Buffer
		code := dispatch(tc.args, &out, &errOut)
		assert.Equal(t, exitOK, code, "%q", tc.args)
		assert.Empty(t, errOut.String(), "%q", tc.args)
		for _, w := range tc.want {
			assert.Contains(t, out.String(), w, "%q", tc.args)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "64": 64, "64B": 64, "1K": 1024, "64KiB": 64 << 10, "1M": 1 << 20, "16MiB": 16 << 20} {
		got, err := parseBytes(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for _, in := range []string{"", "K", "-1", "1.5M", "1GiB", "12x", "3000MiB"} {
		_, err := parseBytes(in)
		assert.Error(t, err, in)
	}
}

func TestBenchBinary(t *testing.T) {
	// The real thing: bench serve and bench run as two processes.
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const target = "bs6@127.0.0.1"
	base := strconv.Itoa(testnet.FreeBase(t, target))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := &clusterHarness{t: t, ctx: ctx, bin: buildBinary(t), env: append(os.Environ(), "HOME="+t.TempDir())}

	serve := h.command(t, target, "bench", "serve", "--name", target, "--cookie", "bin-cookie-0123456789abcdef", "--base-port", base)
	testnet.Eventually(t, 20*time.Second, "bench serve up", func() string {
		if !strings.Contains(serve.log.String(), "serving the bench methods") {
			return "no \"serving the bench methods\" in its log yet"
		}
		return ""
	})

	code, stdout, stderr := h.exec(t, "bench", "run", "--target", target, "--cookie", "bin-cookie-0123456789abcdef", "--base-port", base,
		"--workload", "bulk", "--size", "64KiB", "--concurrency", "2", "--duration", "200ms", "--json")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	keys, obj := lastJSON(t, stdout)
	assert.Equal(t, benchJSONKeys, keys[:len(benchJSONKeys)])
	assert.Equal(t, "bulk", obj["workload"])
	assert.Equal(t, float64(64<<10), obj["size"])
	assert.Positive(t, obj["ops"])
	assert.Empty(t, stderr, "stderr is not a terminal: no progress line")

	assert.Equal(t, exitOK, serve.term(t))
	assert.Contains(t, serve.log.String(), "msg=served ")
}

func TestBenchRunInterrupted(t *testing.T) {
	checkLeaks(t)
	const target = "bs8@127.0.0.1"
	base := strconv.Itoa(testnet.FreeBase(t, target))
	srv := startBenchServe(t, map[string]string{"HOME": t.TempDir()}, "--name", target, "--cookie", "c", "--base-port", base)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var out, errOut bytes.Buffer
	code := benchRunMain(ctx, []string{"--target", target, "--cookie", "c", "--base-port", base, "--workload", "cast", "--duration", "1m"},
		&out, &errOut, benchRunHooks{getenv: envFunc(nil), started: func(*mesh.Node) {
			cancel(errors.New("received signal interrupt"))
		}})
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errOut.String(), "ekka-mesh bench run: interrupted (received signal interrupt)")
	assert.Empty(t, out.String())
	// The target no longer counts it running.
	testnet.Eventually(t, 10*time.Second, "the server alone", func() string {
		if running := srv.node.Info().RunningNodes; len(running) != 1 {
			return "running: " + strings.Join(running, ",")
		}
		return ""
	})
}

func TestBenchNodeFlagsApplyAsRun(t *testing.T) {
	// The same flags give the same settings, in the same order, as run's.
	args := []string{"--set", "cluster.name=a", "--cookie=-starts-with-a-dash", "--base-port", "5000",
		"--config", "x.conf", "--name", "n1@127.0.0.1", "--set", "node.name=n2@127.0.0.1", "--log-level", "debug"}
	want, code, done := parseRunArgs(args, io.Discard, io.Discard)
	require.False(t, done, "run's parser ended with %d", code)
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	nf := addNodeFlags(fs, "name", "cookie", "")
	_, err := parseArgs(fs, args)
	require.NoError(t, err)
	got, err := nf.runOptions()
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, []string{"node.name=n1@127.0.0.1", "node.cookie=-starts-with-a-dash", "node.base_port=5000", "log.level=debug", "cluster.name=a", "node.name=n2@127.0.0.1"}, got.overrides)
	assert.True(t, nf.named())
}
