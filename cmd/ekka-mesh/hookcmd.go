package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

// The node.hooks.* keys name commands the node runs at its lifecycle
// events (mesh.Hooks: start, stop, join, leave; autoheal.Hooks: prepare,
// reboot; splitbrain.Hooks: down, up), each with /bin/sh -c, in its own
// process group, told the event by its environment. A command that exits with a status other than 0, or
// is still running after node.hooks.timeout (or when the operation's
// context ends), fails the hook; it is killed with its process group.

// hookOutputMax is how much of a hook command's output (stdout and stderr
// together, the end kept) its log line or error shows.
const hookOutputMax = 2048

// hookWaitDelay is how long a hook command's output is still read after it
// exited or was killed (a background child may hold the pipe).
const hookWaitDelay = time.Second

// meshHooks returns the mesh.Hooks of node.hooks.start, stop, join, leave.
func meshHooks(h config.HookSettings, log *slog.Logger) mesh.Hooks {
	hook := func(command string) mesh.Hook {
		if command == "" {
			return nil
		}
		return func(ctx context.Context, ev mesh.HookEvent) error {
			env := []string{"EKKA_MESH_NODE=" + ev.Node, "EKKA_MESH_EVENT=" + ev.Event, "EKKA_MESH_REASON=" + ev.Reason}
			if len(ev.Peers) > 0 {
				env = append(env, "EKKA_MESH_PEER="+strings.Join(ev.Peers, ","))
			}
			return runHookCommand(ctx, ev.Event, command, h.Timeout, env, log)
		}
	}
	return mesh.Hooks{Start: hook(h.Start), Stop: hook(h.Stop), Join: hook(h.Join), Leave: hook(h.Leave)}
}

// autohealHooks returns the autoheal.Hooks of node.hooks.prepare and reboot.
func autohealHooks(h config.HookSettings, node string, log *slog.Logger) autoheal.Hooks {
	return autoheal.Hooks{Prepare: reasonHook(h, node, "prepare", h.Prepare, log), Reboot: reasonHook(h, node, "reboot", h.Reboot, log)}
}

// splitBrainHooks returns the splitbrain.Hooks of node.hooks.down and up;
// EKKA_MESH_REASON is the decision's reason.
func splitBrainHooks(h config.HookSettings, node string, log *slog.Logger) splitbrain.Hooks {
	hook := func(event, command string) func(context.Context, splitbrain.Decision) error {
		run := reasonHook(h, node, event, command, log)
		if run == nil {
			return nil
		}
		return func(ctx context.Context, d splitbrain.Decision) error { return run(ctx, d.Reason) }
	}
	return splitbrain.Hooks{Down: hook("down", h.Down), Up: hook("up", h.Up)}
}

// reasonHook returns command (of node.hooks.EVENT) as a hook told a
// reason, or nil when command is empty.
func reasonHook(h config.HookSettings, node, event, command string, log *slog.Logger) func(context.Context, string) error {
	if command == "" {
		return nil
	}
	return func(ctx context.Context, reason string) error {
		env := []string{"EKKA_MESH_NODE=" + node, "EKKA_MESH_EVENT=" + event, "EKKA_MESH_REASON=" + reason}
		return runHookCommand(ctx, event, command, h.Timeout, env, log)
	}
}

// runHookCommand runs command with /bin/sh -c and the node's environment
// plus env, within timeout and ctx. Its output is logged (debug when it
// succeeds) and, when it fails, ends the error.
func runHookCommand(ctx context.Context, event, command string, timeout time.Duration, env []string, log *slog.Logger) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = append(os.Environ(), env...)
	var out tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = hookWaitDelay
	t0 := time.Now()
	err := cmd.Run()
	took := time.Since(t0).Round(time.Millisecond)
	output := strings.TrimSpace(out.String())
	if err == nil {
		log.Debug("hook command done", "hook", event, "command", command, "took", took, "output", output)
		return nil
	}
	var exit *exec.ExitError
	switch {
	case parent.Err() != nil: // the operation's bound, such as a stop's
		err = fmt.Errorf("was killed after %v: the %s it ran for ended: %w", took, event, parent.Err())
	case ctx.Err() != nil:
		err = fmt.Errorf("did not finish within node.hooks.timeout %v, killed: %w", timeout, ctx.Err())
	case errors.As(err, &exit):
		err = fmt.Errorf("exited with status %d", exit.ExitCode())
	default:
		err = fmt.Errorf("could not run: %w", err)
	}
	if output != "" {
		err = fmt.Errorf("%w; its output: %s", err, output)
	}
	return fmt.Errorf("command %q %w", command, err)
}

// tailBuffer keeps the last hookOutputMax bytes written to it.
type tailBuffer struct{ b bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b.Write(p)
	if over := t.b.Len() - hookOutputMax; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.b.String() }
