package mesh

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAdmitCall(t *testing.T) {
	for _, tc := range []struct {
		calls       int
		bytes, n    int64
		maxC        int
		maxB        int64
		want        bool
		description string
	}{
		{0, 0, 1 << 30, 4, 100, true, "none served: even a call above the byte bound gets in"},
		{3, 50, 50, 4, 100, true, "within both bounds"},
		{4, 0, 1, 4, 100, false, "at the call bound"},
		{1, 60, 41, 4, 100, false, "over the byte bound"},
		{1, 60, 40, 4, 100, true, "exactly at the byte bound"},
	} {
		require.Equal(t, tc.want, admitCall(tc.calls, tc.bytes, tc.n, tc.maxC, tc.maxB), tc.description)
	}
}

func TestServingGateWaitsForRoom(t *testing.T) {
	g := servingGate{maxCalls: 2, maxBytes: 100}
	ctx := context.Background()
	require.True(t, g.acquire(ctx, 60))
	require.True(t, g.acquire(ctx, 40))
	got := make(chan bool, 1)
	go func() { got <- g.acquire(ctx, 10) }()
	select {
	case <-got:
		t.Fatal("a third call was admitted past MaxServingCalls 2")
	case <-time.After(50 * time.Millisecond):
	}
	g.release(60)
	require.True(t, <-got)
	calls, bytes := g.load()
	require.Equal(t, 2, calls)
	require.EqualValues(t, 50, bytes)

	g.grow(60) // a reply: 110 bytes held
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	g.release(10)
	require.False(t, g.acquire(short, 1), "over the byte bound: waits until the context ends")
}

func TestCastRoom(t *testing.T) {
	require.True(t, castRoom(0, 0, 1<<30, 4, 100), "an empty queue takes any cast")
	require.False(t, castRoom(4, 10, 1, 4, 100), "count bound")
	require.False(t, castRoom(1, 90, 11, 4, 100), "byte bound")
	require.False(t, castRoom(0, 90, 11, 4, 100), "the batch being handled counts")
	require.True(t, castRoom(1, 90, 10, 4, 100))
}

func TestCastQueueBoundedByBytes(t *testing.T) {
	cq := newCastQueue(100, 1000)
	ctx := context.Background()
	require.True(t, cq.push(ctx, castMsg{payload: make([]byte, 600)}))
	require.True(t, cq.push(ctx, castMsg{payload: make([]byte, 400)}))
	pushed := make(chan bool, 1)
	go func() { pushed <- cq.push(ctx, castMsg{payload: make([]byte, 1)}) }()
	select {
	case <-pushed:
		t.Fatal("a cast was queued past MaxCastQueueBytes")
	case <-time.After(50 * time.Millisecond):
	}
	require.Len(t, cq.take(ctx), 2)
	select {
	case <-pushed:
		t.Fatal("room was made while the batch's handlers still hold its payloads")
	case <-time.After(50 * time.Millisecond):
	}
	require.Len(t, cq.take(ctx), 1, "the next take ends the batch, makes room, and gets the waiting cast")
	require.True(t, <-pushed)
}

func TestLimitConfig(t *testing.T) {
	base := DefaultConfig()
	base.Name, base.Cookie = "n1@127.0.0.1", "c"
	d := base.withDefaults()
	require.Equal(t, 256<<20, d.MaxMessage)
	require.EqualValues(t, 256<<20, d.MaxReassemblyPerLink)
	require.EqualValues(t, 512<<20, d.MaxReassemblyPerNode)
	require.Equal(t, 30*time.Second, d.StallTimeout)
	require.Equal(t, 1024, d.MaxServingCalls)
	require.NoError(t, base.Validate())
	for _, tc := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.MaxMessage = 257 << 20 }, "MaxMessage 269484032 out of range"},
		{func(c *Config) { c.MaxMessage = -1 }, "MaxMessage -1"},
		{func(c *Config) { c.LaneBudget = -1 }, "LaneBudget -1"},
		{func(c *Config) { c.StallTimeout = -time.Second }, "StallTimeout -1s"},
		{func(c *Config) { c.MinDrainRate = -5 }, "MinDrainRate -5"},
		{func(c *Config) { c.MaxMessage, c.MaxReassemblyPerLink = 1<<20, 1<<19 }, "MaxReassemblyPerLink 524288 is below MaxMessage 1048576"},
		{func(c *Config) { c.MaxReassemblyPerNode = 1 << 20 }, "MaxReassemblyPerNode 1048576 is below MaxReassemblyPerLink"},
		{func(c *Config) { c.ChunkTimeout = -1 }, "ChunkTimeout"},
		{func(c *Config) { c.MaxServingCalls = -1 }, "MaxServingCalls -1"},
		{func(c *Config) { c.MaxServingBytes = -1 }, "MaxServingBytes -1"},
		{func(c *Config) { c.MaxCastQueue = -1 }, "MaxCastQueue -1"},
		{func(c *Config) { c.MaxCastQueueBytes = -1 }, "MaxCastQueueBytes -1"},
	} {
		c := base
		tc.set(&c)
		require.ErrorContains(t, c.Validate(), tc.want)
	}
}
