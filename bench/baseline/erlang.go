package baseline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ErlangMissing says why the Erlang baseline cannot run here, or returns
// nil when erl and erlc are installed.
func ErlangMissing() error {
	for _, tool := range []string{"erl", "erlc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not installed: apt-get install erlang-base", tool)
		}
	}
	return nil
}

// Erlang is a pair of Erlang nodes on 127.0.0.1, each its own erl process,
// connected by Erlang distribution: Server serves, Client runs workloads on
// command (see bench/erlang/ekka_bench.erl).
type Erlang struct {
	Server, Client *Child
	ServerName     string
}

// StartErlang compiles src (ekka_bench.erl) into workDir and starts the
// server node, then the client node, which connects to it. erl starts epmd
// when it is not running.
func StartErlang(ctx context.Context, src, workDir string) (*Erlang, error) {
	if err := ErlangMissing(); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, "erlc", "-o", workDir, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("erlc %s: %v: %s", src, err, out)
	}
	var r [8]byte
	rand.Read(r[:])
	tag := fmt.Sprintf("%d_%s", os.Getpid(), hex.EncodeToString(r[:4]))
	cookie := hex.EncodeToString(r[4:]) + "cookie"
	e := &Erlang{ServerName: "ekkabsrv" + tag + "@127.0.0.1"}
	erl := func(name, eval string) *exec.Cmd {
		return exec.Command("erl", "-name", name, "-setcookie", cookie, "-noshell", "-pa", workDir, "-eval", eval)
	}
	start := func(kind string, cmd *exec.Cmd) (*Child, error) {
		c, err := startLines(kind, cmd)
		if err != nil {
			return nil, err
		}
		l, err := c.readLine(ctx)
		if err == nil && l != "ready" {
			err = fmt.Errorf("said %q, want \"ready\"", l)
		}
		if err != nil {
			c.StopWithin(5 * time.Second)
			return nil, fmt.Errorf("bench %s: %w", kind, err)
		}
		return c, nil
	}
	var err error
	e.Server, err = start("erlang server", erl(e.ServerName, "ekka_bench:serve()"))
	if err != nil {
		return nil, err
	}
	e.Client, err = start("erlang client", erl("ekkabcli"+tag+"@127.0.0.1", fmt.Sprintf("ekka_bench:client('%s')", e.ServerName)))
	if err != nil {
		e.Server.StopWithin(5 * time.Second)
		return nil, err
	}
	return e, nil
}

// Run sends one command to the client node (see ekka_bench.erl) and parses
// its answer.
func (e *Erlang) Run(ctx context.Context, command string) (ErlangResult, error) {
	line, err := e.Client.Command(ctx, command)
	if err != nil {
		return ErlangResult{}, err
	}
	return ParseErlangResult(line)
}

// Stop stops the client node, then the server node, killing either when
// ctx ends first.
func (e *Erlang) Stop(ctx context.Context) error {
	return errors.Join(e.Client.Stop(ctx), e.Server.Stop(ctx))
}

// ErlangResult is the client node's answer to one command.
type ErlangResult struct {
	Ops      int64         // calls made, or messages the server counted
	Elapsed  time.Duration // from the first operation to the last answer
	P50, P99 time.Duration // of the calls' latencies; 0 for casts
}

// ParseErlangResult parses "ok OPS ELAPSED_NS P50_NS P99_NS"; an "error
// ..." line becomes an error.
func ParseErlangResult(line string) (ErlangResult, error) {
	f := strings.Fields(line)
	if len(f) > 0 && f[0] == "error" {
		return ErlangResult{}, fmt.Errorf("erlang client: %s", line)
	}
	if len(f) != 5 || f[0] != "ok" {
		return ErlangResult{}, fmt.Errorf("erlang client said %q, want \"ok OPS ELAPSED_NS P50_NS P99_NS\"", line)
	}
	var v [4]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil || n < 0 {
			return ErlangResult{}, fmt.Errorf("erlang client said %q: field %d is %q, want a non-negative integer", line, i+2, f[i+1])
		}
		v[i] = n
	}
	return ErlangResult{Ops: v[0], Elapsed: time.Duration(v[1]), P50: time.Duration(v[2]), P99: time.Duration(v[3])}, nil
}
