package mesh

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

func TestRemoteErrorIs(t *testing.T) {
	all := []error{ErrRemote, ErrPanic, ErrNoHandler, ErrNotMember, ErrRefused, context.DeadlineExceeded, ErrNodeDown, ErrStopped, ErrUnknownNode}
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
			if got := errors.Is(err, target); got != want {
				t.Errorf("code %s: errors.Is(%v) = %v; want %v", tt.code, target, got, want)
			}
		}
		msg := err.Error()
		if !strings.Contains(msg, `"kv.get"`) || !strings.Contains(msg, "b@h") || !strings.HasSuffix(msg, tt.wantText) {
			t.Errorf("code %s: text %q; want the method, the node and %q", tt.code, msg, tt.wantText)
		}
		var re *RemoteError
		if !errors.As(err, &re) || re.Node != "b@h" || re.Code != uint16(tt.code) {
			t.Errorf("code %s: errors.As = %+v", tt.code, re)
		}
	}
	// Panic set by hand counts as a panic whatever the code.
	if err := (&RemoteError{Node: "b@h", Method: "m", Panic: true}); !errors.Is(err, ErrPanic) || strings.HasSuffix(err.Error(), ": ") {
		t.Errorf("Panic flag: %v", err)
	}
}

func TestNodeError(t *testing.T) {
	err := error(&NodeError{Node: "b@h", Err: ErrNodeDown})
	if !errors.Is(err, ErrNodeDown) || errors.Is(err, ErrStopped) {
		t.Fatalf("errors.Is through NodeError is wrong: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "b@h") || !strings.Contains(msg, "down") {
		t.Fatalf("text %q; want the node and the cause", msg)
	}
	var ne *NodeError
	if !errors.As(fmt.Errorf("x: %w", err), &ne) || ne.Node != "b@h" {
		t.Fatal("errors.As does not find the NodeError")
	}
}

func TestSentinelsAreDistinct(t *testing.T) {
	all := []error{ErrNodeDown, ErrNoHandler, ErrUnknownNode, ErrStopped, ErrRemote, ErrPanic, ErrNotMember, ErrRefused, discovery.ErrNotSupported}
	seen := map[string]bool{}
	for i, a := range all {
		if seen[a.Error()] {
			t.Errorf("duplicate text %q", a.Error())
		}
		seen[a.Error()] = true
		for j, b := range all {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v is %v", a, b)
			}
		}
	}
}
