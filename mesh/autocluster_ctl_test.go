package mesh_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/discovery/singleton"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// TestAutoclusterOffOnAndNow: n1's loop keeps retrying a seed that is
// down; turned off it stops (SetAutocluster waits for it, so no pass runs
// after); Autocluster runs one pass on demand, off or not; turned on again
// a loop runs until it is linked to every node discovered, and ends.
func TestAutoclusterOffOnAndNow(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	all := []string{meshtest.Name(0), meshtest.Name(1), meshtest.Name(2)}
	c, err := meshtest.Reserve(3, func(i int, cfg *mesh.Config) {
		withStatic(t, all, 20*time.Millisecond)(i, cfg)
		if i > 0 {
			cfg.Discovery = nil // n2 and n3 wait to be found
		}
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Stop(context.Background())) })
	require.NoError(t, c.StartNode(ctx, 0))
	n1 := c.Node(0)
	require.True(t, n1.AutoclusterEnabled())
	require.NoError(t, c.Until(ctx, "two passes that found no seed up", func() string {
		st := n1.AutoclusterStatus()
		if st.Passes >= 2 && st.Running && !st.LastOK {
			return ""
		}
		return fmt.Sprintf("%+v", st)
	}))

	require.NoError(t, n1.SetAutocluster(ctx, false))
	st := n1.AutoclusterStatus()
	require.False(t, st.Enabled)
	require.False(t, st.Running, "the loop still runs after SetAutocluster(false) returned")
	require.True(t, st.Configured)
	require.False(t, n1.AutoclusterEnabled())
	require.NoError(t, n1.SetAutocluster(ctx, false), "turning off twice")

	// A pass on demand while the loop is off: n2 is up, n3 is not.
	require.NoError(t, c.StartNode(ctx, 1))
	res, err := n1.Autocluster(ctx)
	require.ErrorContains(t, err, "mesh: node n1@127.0.0.1: autocluster pass: discovered nodes did not answer: n3@127.0.0.1")
	require.Contains(t, res, "discovered nodes did not answer: n3@127.0.0.1")
	require.NoError(t, c.WaitRunning(ctx, 0, 1), "the pass linked n1 to n2")
	after := n1.AutoclusterStatus()
	require.Equal(t, st.Passes+1, after.Passes)
	require.False(t, after.Running, "Autocluster turned the loop on")

	require.NoError(t, c.StartNode(ctx, 2))
	require.NoError(t, n1.SetAutocluster(ctx, true))
	require.True(t, n1.AutoclusterEnabled())
	require.NoError(t, c.WaitRunning(ctx, 0, 1, 2))
	require.NoError(t, c.Until(ctx, "the loop ends once n1 is linked to all", func() string {
		st := n1.AutoclusterStatus()
		if !st.Running && st.LastOK {
			return ""
		}
		return fmt.Sprintf("%+v", st)
	}))
	require.True(t, n1.AutoclusterEnabled(), "a loop that is done stays enabled")
	res, err = n1.Autocluster(ctx)
	require.NoError(t, err)
	require.Equal(t, "linked to all 2 discovered nodes", res)
}

// TestAutoclusterControlWithoutALoop: a node with the manual strategy (no
// Discovery) or the singleton strategy has no loop: turning it on or
// running a pass fails and says why.
func TestAutoclusterControlWithoutALoop(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	c := meshtest.Started(t, 2, func(i int, cfg *mesh.Config) {
		if i == 1 {
			cfg.Discovery = singleton.New()
		}
	})
	manual, single := c.Node(0), c.Node(1)
	require.Equal(t, mesh.AutoclusterStatus{}, manual.AutoclusterStatus())
	require.False(t, manual.AutoclusterEnabled())
	err := manual.SetAutocluster(ctx, true)
	require.ErrorIs(t, err, mesh.ErrNoDiscovery)
	require.EqualError(t, err, "mesh: no discovery strategy configured on node n1@127.0.0.1: it joins only when told to (Config.Discovery is nil; the binary's cluster.discovery is manual): configure a strategy such as static, then restart it")
	_, err = manual.Autocluster(ctx)
	require.ErrorIs(t, err, mesh.ErrNoDiscovery)
	require.False(t, manual.AutoclusterEnabled())

	require.False(t, single.AutoclusterStatus().Configured)
	require.ErrorIs(t, single.SetAutocluster(ctx, true), mesh.ErrSingleton)
	_, err = single.Autocluster(ctx)
	require.ErrorIs(t, err, mesh.ErrSingleton)
	require.False(t, single.AutoclusterStatus().Running)
}

// TestAutoclusterBuiltin: the built-in method ctl autocluster calls turns
// the loop off and on, runs a pass and reports, and each action is logged
// with the client that asked; a bad action is refused, naming the choices.
func TestAutoclusterBuiltin(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	var log testnet.SyncBuffer
	all := []string{meshtest.Name(0), meshtest.Name(1)}
	c := meshtest.Started(t, 1, func(i int, cfg *mesh.Config) {
		withStatic(t, all, 20*time.Millisecond)(i, cfg)
		cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: c.Config(0).Cookie, Name: "ctl-ac@127.0.0.1", Addr: c.Node(0).Addr().String()}, c.Name(0))
	require.NoError(t, err)
	t.Cleanup(func() { cl.Close() })
	call := func(action string) (mesh.AutoclusterReply, error) {
		var rep mesh.AutoclusterReply
		p, err := json.Marshal(mesh.AutoclusterRequest{Action: action})
		require.NoError(t, err)
		raw, err := cl.Call(ctx, mesh.MethodAutocluster, p)
		if err == nil {
			require.NoError(t, json.Unmarshal(raw, &rep))
		}
		return rep, err
	}
	rep, err := call("off")
	require.NoError(t, err)
	require.False(t, rep.Enabled)
	require.False(t, rep.Running)
	rep, err = call("now")
	require.NoError(t, err)
	require.NotNil(t, rep.Pass, "now answers with the pass it ran")
	require.False(t, rep.Pass.OK)
	require.Contains(t, rep.Pass.Result, "discovered nodes did not answer: n2@127.0.0.1 (")
	require.False(t, rep.LastOK)
	rep, err = call("")
	require.NoError(t, err)
	require.True(t, rep.Configured)
	require.False(t, rep.Enabled)
	require.Nil(t, rep.Pass)
	rep, err = call("on")
	require.NoError(t, err)
	require.True(t, rep.Enabled)
	_, err = call("sideways")
	require.ErrorContains(t, err, `bad request: "action" "sideways", want on, off, now or status`)

	client := "client=ctl-ac@127.0.0.1 client_addr=127.0.0.1:"
	for _, want := range [][]string{
		{`msg="admin action" node=n1@127.0.0.1 action=autocluster op=off ` + client, "outcome=ok"},
		{`msg="admin action" node=n1@127.0.0.1 action=autocluster op=now result="discovered nodes did not answer: n2@127.0.0.1`, client, "outcome=failed"},
		{`msg="admin action" node=n1@127.0.0.1 action=autocluster op=on ` + client, "outcome=ok"},
	} {
		require.Len(t, log.Lines(want...), 1, "want one line with %q in\n%s", want, log.String())
	}
	require.Empty(t, log.Lines(`action=autocluster op= `), "status is not an admin action")
}

// TestAutoclusterControlHonoursContexts: while the loop's pass hangs in a
// discovery that ignores its context, Autocluster waits for its turn only
// as long as its own context allows, and SetAutocluster(false) says the
// pass did not end in time; once the pass returns, the loop is off and
// every Lock had its Unlock.
func TestAutoclusterControlHonoursContexts(t *testing.T) {
	ctx := testnet.Context(t, 30*time.Second)
	entered, release := make(chan struct{}), make(chan struct{})
	f := &fakeDiscovery{discover: func(call int) ([]string, error) {
		if call == 1 {
			close(entered)
			<-release
		}
		return nil, nil
	}}
	nd := startWithDiscovery(t, f)
	t.Cleanup(func() { require.NoError(t, nd.Stop(context.Background())) })
	<-entered

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := nd.Autocluster(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.EqualError(t, err, "mesh: node solo1@127.0.0.1: autocluster pass: context deadline exceeded")

	short2, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	err = nd.SetAutocluster(short2, false)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "autocluster off: the loop's pass did not end in time")
	require.False(t, nd.AutoclusterEnabled(), "off is recorded at once")

	close(release)
	testnet.EventuallyCtx(t, ctx, "the loop ends", func() string {
		if nd.AutoclusterStatus().Running {
			return "still running"
		}
		return ""
	})
	require.Equal(t, f.count(&f.locks), f.count(&f.unlocks))
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Empty(t, f.misuse)
}
