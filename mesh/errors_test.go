package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRemoteErrorIs(t *testing.T) {
	all := []error{ErrRemote, ErrPanic, ErrNoHandler, ErrNotMember, ErrRefused, ErrAlreadyInCluster, ErrNotInCluster, context.DeadlineExceeded, ErrNodeDown, ErrStopped, ErrUnknownNode}
	tests := []struct {
		code     wire.Code
		matches  []error
		wantText string
	}{
		{wire.CodeHandlerError, []error{ErrRemote}, "handler returned an error: boom"},
		{wire.CodeHandlerPanic, []error{ErrRemote, ErrPanic}, "handler panicked: boom"},
		{wire.CodeNoHandler, []error{ErrRemote, ErrNoHandler}, "no handler for the method: boom"},
		{wire.CodeNotMember, []error{ErrRemote, ErrNotMember}, "not a member: boom"},
		{wire.CodeRefused, []error{ErrRemote, ErrRefused}, "refused: boom"},
		{wire.CodeAlreadyInCluster, []error{ErrRemote, ErrAlreadyInCluster}, "already in cluster: boom"},
		{wire.CodeNotInCluster, []error{ErrRemote, ErrNotInCluster}, "not in a cluster: boom"},
		{wire.CodeDeadline, []error{ErrRemote, context.DeadlineExceeded}, "deadline exceeded: boom"},
		{wire.Code(999), []error{ErrRemote}, "code(999): boom"},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", newRemoteError("b@h", "kv.get", tt.code, "boom"))
		for _, target := range all {
			want := false
			for _, m := range tt.matches {
				want = want || m == target
			}
			got := errors.Is(err, target)
			assert.Equal(t, want, got, "code %s: errors.Is(%v) = %v; want %v", tt.code, target, got, want)
		}
		msg := err.Error()
		assert.True(t, strings.Contains(msg, `"kv.get"`) && strings.Contains(msg, "b@h") && strings.HasSuffix(msg, tt.wantText),
			"code %s: text %q; want the method, the node and %q", tt.code, msg, tt.wantText)
		var re *RemoteError
		if assert.ErrorAs(t, err, &re, "code %s", tt.code) {
			assert.Equal(t, "b@h", re.Node, "code %s: errors.As = %+v", tt.code, re)
			assert.Equal(t, uint16(tt.code), re.Code, "code %s: errors.As = %+v", tt.code, re)
		}
	}
	// Panic set by hand counts as a panic whatever the code.
	err := &RemoteError{Node: "b@h", Method: "m", Panic: true}
	assert.ErrorIs(t, err, ErrPanic, "Panic flag: %v", err)
	assert.False(t, strings.HasSuffix(err.Error(), ": "), "Panic flag: %v", err)
}

func TestNodeError(t *testing.T) {
	err := error(&NodeError{Node: "b@h", Err: ErrNodeDown})
	require.ErrorIs(t, err, ErrNodeDown, "errors.Is through NodeError is wrong: %v", err)
	require.NotErrorIs(t, err, ErrStopped, "errors.Is through NodeError is wrong: %v", err)
	msg := err.Error()
	require.Contains(t, msg, "b@h", "text %q; want the node and the cause", msg)
	require.Contains(t, msg, "down", "text %q; want the node and the cause", msg)
	var ne *NodeError
	require.ErrorAs(t, fmt.Errorf("x: %w", err), &ne, "errors.As does not find the NodeError")
	require.Equal(t, "b@h", ne.Node, "errors.As does not find the NodeError")
}

func TestSentinelsAreDistinct(t *testing.T) {
	all := []error{ErrNodeDown, ErrNoHandler, ErrUnknownNode, ErrStopped, ErrRemote, ErrPanic, ErrNotMember, ErrRefused, discovery.ErrNotSupported}
	seen := map[string]bool{}
	for i, a := range all {
		assert.False(t, seen[a.Error()], "duplicate text %q", a.Error())
		seen[a.Error()] = true
		for j, b := range all {
			if i != j {
				assert.NotErrorIs(t, a, b, "%v is %v", a, b)
			}
		}
	}
}
