package mesh_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// payloadSizes cross every receive path: small bodies (copied out of the
// lane's buffer), bodies read in place, chunked casts on the data lane and
// single-frame calls on the large lane.
var payloadSizes = []int{0, 100, 8 << 10, 64<<10 - 10, 64 << 10, 300 << 10, 1<<20 + 7}

func pattern(size, seed int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(i*7 + seed)
	}
	return p
}

// TestKeptPayloadsStayIntact: a handler registered with Handle owns its
// payload, so what it kept must still hold what was sent after many later
// messages have arrived, whether they came as calls or casts.
func TestKeptPayloadsStayIntact(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 30*time.Second)
	a, b := c.Node(0), c.Node(1)
	var mu sync.Mutex
	var kept [][]byte
	keepIt := func(_ context.Context, _ string, p []byte) ([]byte, error) {
		mu.Lock()
		kept = append(kept, p)
		mu.Unlock()
		return nil, nil
	}
	require.NoError(t, b.Handle("keep", keepIt))
	require.NoError(t, b.Handle("keepcast", keepIt))

	var sent [][]byte
	for round := range 3 {
		for i, size := range payloadSizes {
			p := pattern(size, round*len(payloadSizes)+i)
			sent = append(sent, p)
			_, err := a.Call(ctx, b.Name(), "keep", p)
			require.NoError(t, err)
			p = pattern(size, 100+round*len(payloadSizes)+i)
			sent = append(sent, p)
			require.NoError(t, a.Cast(b.Name(), "keepcast", p))
		}
	}
	require.NoError(t, c.Wait(ctx, "every cast handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(kept) == len(sent)
	}))
	mu.Lock()
	defer mu.Unlock()
	// Calls and casts travel on different lanes: match by content.
	for _, want := range sent {
		found := false
		for _, got := range kept {
			if bytes.Equal(got, want) {
				found = true
				break
			}
		}
		require.True(t, found, "a kept payload of %d bytes was changed after its handler returned", len(want))
	}
}

// TestBorrowedPayloads: a handler registered with HandleBorrowed sees every
// payload as sent, and may return it as its reply.
func TestBorrowedPayloads(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 30*time.Second)
	a, b := c.Node(0), c.Node(1)
	require.NoError(t, b.HandleBorrowed("echo", func(_ context.Context, _ string, p []byte) ([]byte, error) {
		return p, nil
	}))
	var mu sync.Mutex
	var bad, seen int
	require.NoError(t, b.HandleBorrowed("check", func(_ context.Context, _ string, p []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		seen++
		if len(p) > 0 && !bytes.Equal(p, pattern(len(p), int(p[0]))) {
			bad++
		}
		return nil, nil
	}))
	n := 0
	for round := range 4 {
		for _, size := range payloadSizes {
			p := pattern(size, round)
			got, err := a.Call(ctx, b.Name(), "echo", p)
			require.NoError(t, err)
			require.True(t, bytes.Equal(got, p), "echo of %d bytes came back different", size)
			require.NoError(t, a.Cast(b.Name(), "check", p))
			n++
		}
	}
	require.NoError(t, c.Wait(ctx, "every cast handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen == n
	}))
	require.Zero(t, bad, "borrowed cast payloads that differed from what was sent")
}

// TestHandleBorrowedRejectsWhatHandleRejects: the same method rules apply.
func TestHandleBorrowedRejectsWhatHandleRejects(t *testing.T) {
	c := meshtest.Formed(t, 1, nil)
	n := c.Node(0)
	require.Error(t, n.HandleBorrowed("", echo))
	require.Error(t, n.HandleBorrowed("$ekka.x", echo))
	require.NoError(t, n.HandleBorrowed("x", echo))
	require.NoError(t, n.HandleBorrowed("x", nil))
	_, err := n.Call(testnet.Context(t, 5*time.Second), n.Name(), "x", nil)
	require.ErrorIs(t, err, mesh.ErrNoHandler)
}
