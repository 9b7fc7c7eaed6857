package mesh_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminActionsLogged: join, force-leave and leave asked by a hidden
// client (as ekka-mesh ctl does) are logged at info on the node that
// carries them out, with the client's name and address and the outcome.
func TestAdminActionsLogged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := []*testnet.SyncBuffer{{}, {}, {}}
	c, err := meshtest.Start(ctx, 3, func(i int, cfg *mesh.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(logs[i], nil))
	})
	require.NoError(t, err)
	defer c.Stop(context.Background())
	connect := func(i int) *mesh.Client {
		cfg := c.Config(i)
		cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: cfg.Cookie, Name: "ctl-admin@127.0.0.1", Addr: c.Node(i).Addr().String()}, c.Name(i))
		require.NoError(t, err)
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	client := "client=ctl-admin@127.0.0.1 client_addr=127.0.0.1:"

	cl1 := connect(1)
	_, err = cl1.Admin(ctx, mesh.MethodJoin, mesh.AdminRequest{Node: c.Name(0)})
	require.NoError(t, err)
	// A failed action is logged too, with its error.
	_, err = cl1.Admin(ctx, mesh.MethodJoin, mesh.AdminRequest{})
	require.Error(t, err, "join without a node succeeded")
	cl2 := connect(2)
	_, err = cl2.Admin(ctx, mesh.MethodJoin, mesh.AdminRequest{Node: c.Name(0)})
	require.NoError(t, err)
	require.NoError(t, c.WaitRunning(ctx))
	_, err = connect(0).Admin(ctx, mesh.MethodForceLeave, mesh.AdminRequest{Node: c.Name(2)})
	require.NoError(t, err)
	_, err = cl1.Admin(ctx, mesh.MethodLeave, mesh.AdminRequest{})
	require.NoError(t, err)
	for _, tc := range []struct {
		node int
		want []string
	}{
		{1, []string{`level=INFO msg="admin action" node=` + c.Name(1) + " action=join target=" + c.Name(0) + " " + client, "outcome=ok"}},
		{1, []string{`level=INFO msg="admin action"`, "action=join " + client, `outcome=failed err="bad request: \"node\" is empty`}},
		{2, []string{`level=INFO msg="admin action" node=` + c.Name(2) + " action=join target=" + c.Name(0) + " " + client, "outcome=ok"}},
		{0, []string{`level=INFO msg="admin action" node=` + c.Name(0) + " action=force-leave target=" + c.Name(2) + " " + client, "outcome=ok"}},
		{1, []string{`level=INFO msg="admin action" node=` + c.Name(1) + " action=leave " + client, "outcome=ok"}},
	} {
		got := logs[tc.node].Lines(tc.want...)
		assert.Len(t, got, 1, "node %d: want one line with %q, got %q", tc.node, tc.want, got)
	}
}
