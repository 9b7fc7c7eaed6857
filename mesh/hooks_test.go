package mesh_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// hookLog records the hooks that ran, with what each saw of its node when
// it ran, as "n1@127.0.0.1 join [n2@127.0.0.1] Join: ...".
type hookLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *hookLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func (l *hookLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// hooks returns hooks that record each event and what the node looked like
// then: its status, the nodes it runs with, and whether its autocluster
// loop had begun.
func (l *hookLog) hooks() mesh.Hooks {
	rec := func(ctx context.Context, ev mesh.HookEvent) error {
		info := ev.Self.Info()
		ac := ev.Self.AutoclusterStatus()
		l.add(fmt.Sprintf("%s %s %v %s: status %s, running %v, autocluster passes %d", ev.Node, ev.Event, ev.Peers, ev.Reason, ev.Self.Status(), info.RunningNodes, ac.Passes))
		return nil
	}
	return mesh.Hooks{Start: rec, Stop: rec, Join: rec, Leave: rec}
}

// TestHooksRunInOrderAroundStartJoinLeaveStop: each hook runs once, in the
// documented place: Start once the node is up and before any autocluster
// pass; Join after the node announced joining and before it is linked;
// Leave after it announced leaving, links still up; Stop first thing in
// Stop, links still up.
func TestHooksRunInOrderAroundStartJoinLeaveStop(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	var log hookLog
	c := meshtest.Started(t, 2, func(i int, cfg *mesh.Config) { cfg.Hooks = log.hooks() })
	n1, n2 := c.Name(0), c.Name(1)
	require.NoError(t, c.Node(0).Join(ctx, n2))
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	require.NoError(t, c.Node(0).Leave(ctx))
	require.NoError(t, c.Wait(ctx, "n2 drops n1", func() bool { return len(c.Node(1).Members()) == 1 }))
	require.NoError(t, c.Node(1).Stop(ctx))
	require.NoError(t, c.Node(0).Stop(ctx))
	require.Equal(t, []string{
		n1 + " start [] Start: status up, running [" + n1 + "], autocluster passes 0",
		n2 + " start [] Start: status up, running [" + n2 + "], autocluster passes 0",
		n1 + " join [" + n2 + "] Join: status joining, running [" + n1 + "], autocluster passes 0",
		n1 + " leave [] Leave: status leaving, running [" + n1 + " " + n2 + "], autocluster passes 0",
		n2 + " stop [] Stop: status up, running [" + n2 + "], autocluster passes 0",
		n1 + " stop [] Stop: status up, running [" + n1 + "], autocluster passes 0",
	}, log.get())
}

// TestStopHookRunsWhileTheNodeStillServes: the Stop hook can still call
// its peers (to hand work over); peers see the node down only after it.
func TestStopHookRunsWhileTheNodeStillServes(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	var pong []byte
	var callErr error
	c := meshtest.Formed(t, 2, func(i int, cfg *mesh.Config) {
		if i == 0 {
			cfg.Hooks.Stop = func(ctx context.Context, ev mesh.HookEvent) error {
				pong, callErr = ev.Self.Call(ctx, meshtest.Name(1), mesh.MethodPong, nil)
				return nil
			}
		}
	})
	require.NoError(t, c.Node(0).Stop(ctx))
	require.NoError(t, callErr)
	require.Equal(t, "pong", string(pong))
}

// TestStartHookErrorFailsStart: Start returns the hook's error, naming the
// hook; the node is stopped (its port is free again, no goroutine is left:
// TestMain's leak check) and its Stop hook does not run.
func TestStartHookErrorFailsStart(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	for _, tc := range []struct {
		name string
		hook mesh.Hook
		want string
	}{
		{"error", func(context.Context, mesh.HookEvent) error { return errors.New("no database") }, "mesh: node h1@127.0.0.1: start hook failed: no database"},
		{"panic", func(context.Context, mesh.HookEvent) error { panic("boom") }, "mesh: node h1@127.0.0.1: start hook panicked: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", testnet.FreePort(t))
			stopRan := false
			cfg := mesh.DefaultConfig()
			cfg.Name, cfg.Cookie, cfg.ListenAddr = "h1@127.0.0.1", "c", addr
			cfg.Hooks = mesh.Hooks{Start: tc.hook, Stop: func(context.Context, mesh.HookEvent) error { stopRan = true; return nil }}
			n, err := mesh.Start(ctx, cfg)
			require.Nil(t, n)
			require.EqualError(t, err, tc.want)
			var he *mesh.HookError
			require.ErrorAs(t, err, &he)
			require.Equal(t, mesh.HookStart, he.Event)
			require.Equal(t, tc.name == "panic", he.Panicked)
			require.False(t, stopRan, "the Stop hook ran for a node that never started")
			ln, err := net.Listen("tcp", addr)
			require.NoError(t, err, "the failed node still holds its port")
			ln.Close()
		})
	}
}

// TestJoinHookErrorAbortsTheJoin: a Join hook that fails or panics stops
// the join before the node dials: Join returns the hook's error and the
// node stays alone, announced up again; a later Join works.
func TestJoinHookErrorAbortsTheJoin(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	fail := []error{errors.New("not ready"), nil, nil}
	var mu sync.Mutex
	c := meshtest.Started(t, 2, func(i int, cfg *mesh.Config) {
		cfg.Hooks.Join = func(ctx context.Context, ev mesh.HookEvent) error {
			mu.Lock()
			defer mu.Unlock()
			err := fail[0]
			fail = fail[1:]
			if len(fail) == 1 {
				panic("bad state")
			}
			return err
		}
	})
	n2 := c.Name(1)
	err := c.Node(0).Join(ctx, n2)
	require.EqualError(t, err, "mesh: node n1@127.0.0.1: join hook failed: not ready")
	require.Equal(t, []string{c.Name(0)}, c.Node(0).Info().RunningNodes)
	require.Equal(t, mesh.StatusUp, c.Node(0).Status())
	err = c.Node(0).Join(ctx, n2)
	var he *mesh.HookError
	require.ErrorAs(t, err, &he)
	require.True(t, he.Panicked)
	require.ErrorContains(t, err, "join hook panicked: bad state")
	require.Equal(t, []string{c.Name(0)}, c.Node(0).Info().RunningNodes)
	require.NoError(t, c.Node(0).Join(ctx, n2))
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
}

// TestLeaveAndStopHookErrorsDoNotKeepTheNode: a Leave hook's error and a
// Stop hook's panic are returned, and the node leaves and stops all the
// same.
func TestLeaveAndStopHookErrorsDoNotKeepTheNode(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	c := meshtest.Formed(t, 2, func(i int, cfg *mesh.Config) {
		if i == 0 {
			cfg.Hooks.Leave = func(context.Context, mesh.HookEvent) error { return errors.New("could not hand over") }
			cfg.Hooks.Stop = func(context.Context, mesh.HookEvent) error { panic("stop hook bug") }
		}
	})
	err := c.Node(0).Leave(ctx)
	require.EqualError(t, err, "mesh: node n1@127.0.0.1: leave hook failed (the node left all the same): could not hand over")
	require.Equal(t, []string{c.Name(0)}, c.Node(0).Info().RunningNodes)
	require.NoError(t, c.Wait(ctx, "n2 forgets n1", func() bool { return len(c.Node(1).Members()) == 1 }))

	err = c.Node(0).Stop(ctx)
	require.EqualError(t, err, "mesh: node n1@127.0.0.1: stop hook panicked (the node stopped all the same): stop hook bug")
	_, err = c.Node(0).Call(ctx, c.Name(1), mesh.MethodPong, nil)
	require.ErrorIs(t, err, mesh.ErrStopped)
	require.NoError(t, c.Node(0).Stop(ctx), "a second Stop")
}

// TestHooksGetTheOperationsContext: a hook that waits for its context
// ends with it, and the operation reports the context's error through the
// hook's.
func TestHooksGetTheOperationsContext(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	wait := func(ctx context.Context, _ mesh.HookEvent) error {
		<-ctx.Done()
		return ctx.Err()
	}
	cfg := mesh.DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.ListenAddr = "h1@127.0.0.1", "c", "127.0.0.1:0"
	cfg.Hooks.Start = wait
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := mesh.Start(sctx, cfg)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "start hook failed")

	c := meshtest.Started(t, 2, func(i int, cfg *mesh.Config) {
		if i == 0 {
			cfg.Hooks.Join = wait
		} else {
			cfg.Hooks.Stop = wait
		}
	})
	jctx, jcancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer jcancel()
	err = c.Node(0).Join(jctx, c.Name(1))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "join hook failed")
	stctx, stcancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stcancel()
	err = c.Node(1).Stop(stctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "stop hook failed (the node stopped all the same)")
}

// TestAutoclusterRunsTheJoinHook: a node alone whose autocluster pass is
// about to link it to the nodes it discovered runs the Join hook (reason
// "autocluster"); an error ends the pass, which is retried, and the reason
// shows in AutoclusterStatus.
func TestAutoclusterRunsTheJoinHook(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	all := []string{meshtest.Name(0), meshtest.Name(1)}
	var mu sync.Mutex
	var seen []string
	ready := false
	c, err := meshtest.Reserve(2, func(i int, cfg *mesh.Config) {
		withStatic(t, all, 20*time.Millisecond)(i, cfg)
		if i == 0 {
			cfg.Hooks.Join = func(_ context.Context, ev mesh.HookEvent) error {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, fmt.Sprintf("%s %v", ev.Reason, ev.Peers))
				if !ready {
					return errors.New("cache not warm")
				}
				return nil
			}
		} else {
			cfg.Discovery = nil // n2 waits to be found
		}
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Stop(context.Background())) })
	require.NoError(t, c.StartNode(ctx, 0))
	require.NoError(t, c.StartNode(ctx, 1))
	require.NoError(t, c.Until(ctx, "a pass that failed on the join hook", func() string {
		st := c.Node(0).AutoclusterStatus()
		if strings.Contains(st.LastResult, "join hook failed: cache not warm") {
			return ""
		}
		return fmt.Sprintf("%d passes, the last: %q", st.Passes, st.LastResult)
	}))
	mu.Lock()
	ready = true
	mu.Unlock()
	require.NoError(t, c.WaitRunning(ctx, 0, 1))
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(seen), 2, "%q", seen)
	for _, s := range seen {
		require.Equal(t, "autocluster ["+c.Name(1)+"]", s)
	}
}
