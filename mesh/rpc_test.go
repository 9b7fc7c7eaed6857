package mesh_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

func echo(ctx context.Context, from string, p []byte) ([]byte, error) { return p, nil }

func TestCallDownNodeVersusUnknownNode(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 10*time.Second)
	a := c.Node(0)
	require.NoError(t, c.Kill(ctx, 2))
	require.NoError(t, c.Wait(ctx, "n3 stopped on n1", func() bool { return slices.Contains(a.Info().StoppedNodes, c.Name(2)) }))

	// A member without a link is down.
	_, err := a.Call(ctx, c.Name(2), "echo", nil)
	require.ErrorIs(t, err, mesh.ErrNodeDown)
	require.NotErrorIs(t, err, mesh.ErrUnknownNode)
	var ne *mesh.NodeError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, c.Name(2), ne.Node)

	// A node that never was a member is unknown, whatever its name looks like.
	for _, node := range []string{"ghost@127.0.0.1", "not a node name", ""} {
		_, err = a.Call(ctx, node, "echo", nil)
		require.ErrorIs(t, err, mesh.ErrUnknownNode, "%q", node)
		require.NotErrorIs(t, err, mesh.ErrNodeDown, "%q", node)
		require.ErrorAs(t, err, &ne)
		require.Equal(t, node, ne.Node)
	}

	// A stopped node calls nobody.
	require.NoError(t, a.Stop(ctx))
	_, err = a.Call(ctx, c.Name(1), "echo", nil)
	require.ErrorIs(t, err, mesh.ErrStopped)
}

func TestCallSelf(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 10*time.Second)
	a := c.Node(0)
	require.NoError(t, a.Handle("who", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		p[0] = 'X' // the handler owns its payload
		return []byte(from + " " + string(p)), nil
	}))
	require.NoError(t, a.Handle("fail", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		return nil, errors.New("no luck")
	}))
	require.NoError(t, a.Handle("panic", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		panic("self-inflicted")
	}))
	require.NoError(t, a.Handle("hang", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))

	payload := []byte("abc")
	reply, err := a.Call(ctx, a.Name(), "who", payload)
	require.NoError(t, err)
	require.Equal(t, "n1@127.0.0.1 Xbc", string(reply), "the caller is the node itself")
	require.Equal(t, "abc", string(payload), "the caller's payload is not shared with the handler")

	_, err = a.Call(ctx, a.Name(), "nope", nil)
	require.ErrorIs(t, err, mesh.ErrNoHandler)
	_, err = a.Call(ctx, a.Name(), "fail", nil)
	require.ErrorIs(t, err, mesh.ErrRemote)
	require.ErrorContains(t, err, "no luck")
	_, err = a.Call(ctx, a.Name(), "panic", nil)
	require.ErrorIs(t, err, mesh.ErrPanic)
	require.ErrorContains(t, err, "self-inflicted")

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err = a.Call(short, a.Name(), "hang", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(t0), time.Second)

	// A cast to self runs the handler too.
	got := make(chan string, 1)
	require.NoError(t, a.Handle("note", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		got <- from + ":" + string(p)
		return nil, nil
	}))
	require.NoError(t, a.Cast(a.Name(), "note", []byte("hi")))
	select {
	case s := <-got:
		require.Equal(t, "n1@127.0.0.1:hi", s)
	case <-time.After(5 * time.Second):
		t.Fatal("a cast to self was not handled")
	}
}

func TestHandlerSeesCallerAndDeadline(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 10*time.Second)
	type seen struct {
		from     string
		deadline time.Time
		has      bool
	}
	seenc := make(chan seen, 1)
	require.NoError(t, c.Node(1).Handle("look", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		dl, ok := ctx.Deadline()
		seenc <- seen{from, dl, ok}
		return nil, nil
	}))

	callCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	want, _ := callCtx.Deadline()
	_, err := c.Node(0).Call(callCtx, c.Name(1), "look", nil)
	require.NoError(t, err)
	s := <-seenc
	require.Equal(t, c.Name(0), s.from)
	require.True(t, s.has, "the handler's ctx has the caller's deadline")
	require.WithinDuration(t, want, s.deadline, 250*time.Millisecond)
	require.False(t, s.deadline.After(want.Add(250*time.Millisecond)))

	// No deadline on the caller: none on the handler.
	noDeadline, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	_, err = c.Node(0).Call(noDeadline, c.Name(1), "look", nil)
	require.NoError(t, err)
	s = <-seenc
	require.False(t, s.has)

	// The deadline passing on the callee cancels the handler's ctx.
	done := make(chan error, 1)
	require.NoError(t, c.Node(1).Handle("wait", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		<-ctx.Done()
		done <- ctx.Err()
		return nil, ctx.Err()
	}))
	short, cancel3 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel3()
	_, err = c.Node(0).Call(short, c.Name(1), "wait", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's ctx outlived the caller's deadline")
	}
}

// The handler's ctx ends when the calling node goes away: cleanly (Stop) or
// because the network between them breaks.
func TestHandlerCtxCancelledWhenCallerDies(t *testing.T) {
	for _, how := range []string{"stop", "cut"} {
		t.Run(how, func(t *testing.T) {
			c := meshtest.Formed(t, 2, nil)
			ctx := testnet.Context(t, 10*time.Second)
			call, err := c.CallInFlight(context.Background(), 0, 1)
			require.NoError(t, err)
			ended, callErr := call.HandlerDone, call.Err
			if how == "stop" {
				require.NoError(t, c.Kill(ctx, 0))
			} else {
				c.Cut(0, 1)
			}
			select {
			case err := <-ended:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(5 * time.Second):
				t.Fatal("the handler's ctx was not cancelled when its caller went away")
			}
			select {
			case err := <-callErr:
				require.ErrorIs(t, err, mesh.ErrNodeDown)
			case <-time.After(5 * time.Second):
				t.Fatal("the caller's call did not end")
			}
		})
	}
}

func TestCastErrors(t *testing.T) {
	c := meshtest.Formed(t, 3, nil)
	ctx := testnet.Context(t, 10*time.Second)
	a := c.Node(0)
	require.NoError(t, c.Kill(ctx, 2))
	require.NoError(t, c.Wait(ctx, "n3 stopped on n1", func() bool { return slices.Contains(a.Info().StoppedNodes, c.Name(2)) }))

	err := a.Cast(c.Name(2), "note", []byte("x"))
	require.ErrorIs(t, err, mesh.ErrNodeDown)
	var ne *mesh.NodeError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, c.Name(2), ne.Node)

	require.ErrorIs(t, a.Cast("ghost@127.0.0.1", "note", nil), mesh.ErrUnknownNode)
	// A cast without a handler is sent all the same: fire and forget.
	require.NoError(t, a.Cast(c.Name(1), "nobody-handles-this", nil))

	require.NoError(t, a.Stop(ctx))
	require.ErrorIs(t, a.Cast(c.Name(1), "note", nil), mesh.ErrStopped)
}

func TestMulticallNilMeansEveryRunningNode(t *testing.T) {
	c := meshtest.Formed(t, 4, nil)
	ctx := testnet.Context(t, 10*time.Second)
	for i := range 4 {
		nd := c.Node(i)
		require.NoError(t, nd.Handle("name", func(ctx context.Context, from string, p []byte) ([]byte, error) {
			return []byte(nd.Name()), nil
		}))
	}
	a := c.Node(0)
	res := a.Multicall(ctx, nil, "name", nil)
	require.Empty(t, res.Failed)
	require.Empty(t, res.Errors)
	require.Len(t, res.Replies, 4, "every running node, this one included")
	for node, reply := range res.Replies {
		require.Equal(t, node, string(reply))
	}

	require.NoError(t, c.Kill(ctx, 3))
	require.NoError(t, c.Wait(ctx, "n4 stopped on n1", func() bool { return slices.Contains(a.Info().StoppedNodes, c.Name(3)) }))
	res = a.Multicall(ctx, nil, "name", nil)
	require.Empty(t, res.Failed, "a stopped node is not running, so nil does not include it")
	require.Equal(t, c.Names(0, 1, 2), slices.Sorted(maps.Keys(res.Replies)))

	// Named nodes: the stopped one and an unknown one fail with why; duplicates count once.
	res = a.Multicall(ctx, []string{c.Name(1), c.Name(3), "ghost@127.0.0.1", c.Name(1)}, "name", nil)
	require.Len(t, res.Replies, 1)
	require.Equal(t, []string{"ghost@127.0.0.1", c.Name(3)}, res.Failed)
	require.ErrorIs(t, res.Errors[c.Name(3)], mesh.ErrNodeDown)
	require.ErrorIs(t, res.Errors["ghost@127.0.0.1"], mesh.ErrUnknownNode)

	// An empty, non-nil list calls nobody.
	res = a.Multicall(ctx, []string{}, "name", nil)
	require.Empty(t, res.Replies)
	require.Empty(t, res.Failed)
}

func TestLargePayloadsBothWays(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 60*time.Second)
	const size = 8 << 20
	random := make([]byte, size)
	_, err := rand.Read(random)
	require.NoError(t, err)
	compressible := bytes.Repeat([]byte("ekka-mesh "), size/10+1)[:size]

	// The handler answers with the payload's bytes inverted: a different
	// 8 MiB body goes back.
	require.NoError(t, c.Node(1).Handle("invert", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		for i := range p {
			p[i] ^= 0xff
		}
		return p, nil
	}))
	for name, payload := range map[string][]byte{"random": random, "compressible": compressible} {
		t.Run(name, func(t *testing.T) {
			want := slices.Clone(payload)
			for i := range want {
				want[i] ^= 0xff
			}
			reply, err := c.Node(0).Call(ctx, c.Name(1), "invert", payload)
			require.NoError(t, err)
			require.Len(t, reply, size)
			require.True(t, bytes.Equal(want, reply), "reply differs from the inverted payload")
		})
	}
	// Small calls still go through alongside.
	require.NoError(t, c.Node(1).Handle("echo", echo))
	reply, err := c.Node(0).Call(ctx, c.Name(1), "echo", []byte("small"))
	require.NoError(t, err)
	require.Equal(t, "small", string(reply))
}

func TestConcurrentCallsEachGetTheirOwnReply(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 60*time.Second)
	var served atomic.Int64
	require.NoError(t, c.Node(1).Handle("tag", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		served.Add(1)
		return append([]byte("re:"), p...), nil
	}))
	const calls, inflight = 1000, 64
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			body := fmt.Appendf(nil, "call-%04d-%s", i, bytes.Repeat([]byte{byte(i)}, i%200))
			reply, err := c.Node(0).Call(ctx, c.Name(1), "tag", body)
			if err != nil {
				errs <- fmt.Errorf("call %d: %w", i, err)
				return
			}
			if !bytes.Equal(reply, append([]byte("re:"), body...)) {
				errs <- fmt.Errorf("call %d got another call's reply: %.20q", i, reply)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	require.Equal(t, int64(calls), served.Load(), "each call served exactly once")
}

func TestRemoteErrorFields(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 10*time.Second)
	b := c.Node(1)
	require.NoError(t, b.Handle("fail", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		return nil, errors.New("disk full")
	}))
	require.NoError(t, b.Handle("panic", func(ctx context.Context, from string, p []byte) ([]byte, error) {
		panic(fmt.Sprintf("index %d out of range", 7))
	}))
	a := c.Node(0)
	for _, tc := range []struct {
		method  string
		code    wire.Code
		is      []error
		isNot   []error
		message string
		panic   bool
	}{
		{"missing", wire.CodeNoHandler, []error{mesh.ErrRemote, mesh.ErrNoHandler}, []error{mesh.ErrPanic, mesh.ErrNodeDown}, "missing", false},
		{"fail", wire.CodeHandlerError, []error{mesh.ErrRemote}, []error{mesh.ErrNoHandler, mesh.ErrPanic}, "disk full", false},
		{"panic", wire.CodeHandlerPanic, []error{mesh.ErrRemote, mesh.ErrPanic}, []error{mesh.ErrNoHandler}, "index 7 out of range", true},
	} {
		t.Run(tc.method, func(t *testing.T) {
			_, err := a.Call(ctx, b.Name(), tc.method, nil)
			var re *mesh.RemoteError
			require.ErrorAs(t, err, &re)
			require.Equal(t, b.Name(), re.Node)
			require.Equal(t, tc.method, re.Method)
			require.Equal(t, uint16(tc.code), re.Code)
			require.Equal(t, tc.panic, re.Panic)
			require.Contains(t, re.Message, tc.message)
			for _, target := range tc.is {
				require.ErrorIs(t, err, target)
			}
			for _, target := range tc.isNot {
				require.NotErrorIs(t, err, target)
			}
			require.Contains(t, err.Error(), b.Name())
			require.Contains(t, err.Error(), tc.method)

			// Wrapped by the caller, the fields are still there.
			wrapped := fmt.Errorf("sync step: %w", err)
			var again *mesh.RemoteError
			require.ErrorAs(t, wrapped, &again)
			require.Equal(t, tc.method, again.Method)
			require.ErrorIs(t, wrapped, mesh.ErrRemote)
		})
	}
}
