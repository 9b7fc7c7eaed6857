package mesh_test

import (
	"context"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStoppingAndDone(t *testing.T) {
	cfg := mesh.DefaultConfig()
	cfg.Name = "stop1@127.0.0.1"
	cfg.Cookie = "stopping-test-cookie"
	cfg.ListenAddr = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := mesh.Start(ctx, cfg)
	require.NoError(t, err)
	assert.False(t, n.Stopping(), "a running node says it is stopping")
	select {
	case <-n.Done():
		t.Fatal("Done is closed while the node runs")
	default:
	}
	require.NoError(t, n.Stop(ctx))
	assert.True(t, n.Stopping(), "a stopped node says it is not stopping")
	select {
	case <-n.Done():
	default:
		t.Fatal("Done is open after Stop")
	}
}
