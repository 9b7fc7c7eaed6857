package mesh

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

func TestHistogramBuckets(t *testing.T) {
	var h histogram
	h.observe(50 * time.Microsecond)  // first bucket
	h.observe(100 * time.Microsecond) // on the bound: still the first (le)
	h.observe(101 * time.Microsecond) // second
	h.observe(3 * time.Second)        // 5 s bucket
	h.observe(11 * time.Second)       // above every bound
	s := h.snapshot()
	require.Equal(t, uint64(5), s.Count)
	require.InDelta(t, 14.000251, s.Sum, 1e-9)
	require.Equal(t, uint64(2), s.Buckets[0], "le 0.0001")
	require.Equal(t, uint64(3), s.Buckets[1], "le 0.00025")
	require.Equal(t, uint64(3), s.Buckets[len(s.Buckets)-3], "le 2.5")
	require.Equal(t, uint64(4), s.Buckets[len(s.Buckets)-2], "le 5")
	require.Equal(t, uint64(4), s.Buckets[len(s.Buckets)-1], "le 10: the 11 s call is only in the count")
	for i := 1; i < len(s.Buckets); i++ {
		require.GreaterOrEqual(t, s.Buckets[i], s.Buckets[i-1], "cumulative")
		require.Greater(t, LatencyBounds[i], LatencyBounds[i-1], "bounds ascend")
	}
}

func TestCallErrorKind(t *testing.T) {
	kind := func(err error) string { return CallErrorKinds[callErrorKind(err)] }
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("mesh: call x on n2: %w", context.DeadlineExceeded), "timeout"},
		{&RemoteError{Node: "n2", Code: uint16(wire.CodeDeadline)}, "timeout"},
		{fmt.Errorf("mesh: call x on n2: %w", context.Canceled), "canceled"},
		{&NodeError{Node: "n2", Err: ErrNodeDown}, "node_down"},
		{&NodeError{Node: "n2", Err: fmt.Errorf("%w: %v", ErrNodeDown, conn.ErrClosed)}, "node_down"},
		{&NodeError{Node: "n9", Err: ErrUnknownNode}, "unknown_node"},
		{ErrStopped, "stopped"},
		{fmt.Errorf("mesh: call x on n2: %w", &conn.MessageTooLargeError{Size: 10, Limit: 5}), "too_large"},
		{&RemoteError{Node: "n2", Code: uint16(wire.CodeNoHandler)}, "no_handler"},
		{&RemoteError{Node: "n2", Code: uint16(wire.CodeHandlerPanic), Panic: true}, "panic"},
		{&RemoteError{Node: "n2", Code: uint16(wire.CodeNotMember)}, "not_member"},
		{&RemoteError{Node: "n2", Code: uint16(wire.CodeRefused)}, "refused"},
		{&RemoteError{Node: "n2", Code: uint16(wire.CodeHandlerError), Message: "no"}, "remote"},
		{errors.New("mesh: call n2: method name is 70000 bytes"), "other"},
	} {
		require.Equal(t, tc.want, kind(tc.err), "%v", tc.err)
	}
}

// The reasons autoclusterPass gives, sorted into DiscoveryResults.
func TestDiscoveryResult(t *testing.T) {
	res := func(done bool, why string) string { return DiscoveryResults[discoveryResult(done, why)] }
	require.Equal(t, "ok", res(true, "linked to all 2 discovered nodes"))
	require.Equal(t, "error", res(false, "discovery lock failed: etcd down"))
	require.Equal(t, "error", res(false, "register failed: etcd down"))
	require.Equal(t, "error", res(false, "discover failed: no such host"))
	require.Equal(t, "alone", res(false, "discovered no nodes"))
	require.Equal(t, "alone", res(false, "only this node was discovered"))
	require.Equal(t, "unreachable", res(false, "discovered nodes did not answer: n2@h (refused)"))
}

// Counting a call costs no allocation.
func TestCallCountingAllocatesNothing(t *testing.T) {
	var s nodeStats
	var err error
	require.Zero(t, testing.AllocsPerRun(100, func() { s.callDone(time.Now(), &err) }))
	err = &NodeError{Node: "n2", Err: ErrNodeDown}
	require.Zero(t, testing.AllocsPerRun(100, func() { s.callDone(time.Now(), &err) }))
	require.Equal(t, uint64(100+1), s.calls.errors[2].Load()) // AllocsPerRun runs once more to warm up
}
