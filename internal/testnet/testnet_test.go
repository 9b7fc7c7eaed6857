package testnet

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fatalRecorder is a testing.TB whose Fatal records the message and stops
// the calling goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatal(args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprint(args...)
	f.mu.Unlock()
	panic(f)
}

func (f *fatalRecorder) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

// fatalOf runs fn with a recorder and returns what it failed with ("" when
// it did not fail).
func fatalOf(t *testing.T, fn func(tb testing.TB)) (msg string) {
	f := &fatalRecorder{TB: t}
	defer func() {
		if r := recover(); r != nil {
			require.Same(t, f, r, "fn panicked with something else")
			msg = f.msg
		}
	}()
	fn(f)
	return ""
}

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int32
	took, err := Poll(t.Context(), "three calls", func() string {
		if n := calls.Add(1); n < 3 {
			return "call " + strconv.Itoa(int(n))
		}
		return ""
	})
	require.NoError(t, err)
	assert.EqualValues(t, 3, calls.Load())
	assert.Less(t, took, 5*time.Second)
}

func TestPollErrorNamesWhatAndTheLastState(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	n := 0
	_, err := Poll(ctx, "the answer", func() string { n++; return "saw " + strconv.Itoa(n) })
	var we *WaitError
	require.ErrorAs(t, err, &we)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "the answer", we.What)
	assert.Equal(t, "saw "+strconv.Itoa(n), we.Last, "the last state, from the final look")
	assert.GreaterOrEqual(t, we.Elapsed, 50*time.Millisecond)
	assert.Regexp(t, `^after \d+ms, still not the answer: saw \d+$`, err.Error())
}

func TestPollSaysWhenItWasCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Poll(ctx, "x", func() string { return "no x" })
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "stopped waiting for x")
	assert.Contains(t, err.Error(), "no x")
}

func TestPollTakesALastLookWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	first := true
	_, err := Poll(ctx, "x", func() string {
		if first {
			first = false
			cancel()
			return "not yet"
		}
		return ""
	})
	assert.NoError(t, err)
}

func TestPollEveryKeepsItsInterval(t *testing.T) {
	var times []time.Time
	_, err := PollEvery(t.Context(), 20*time.Millisecond, "four looks", func() string {
		times = append(times, time.Now())
		if len(times) < 4 {
			return "not yet"
		}
		return ""
	})
	require.NoError(t, err)
	for i := 1; i < len(times); i++ {
		assert.GreaterOrEqual(t, times[i].Sub(times[i-1]), 20*time.Millisecond)
	}
	_, err = PollEvery(t.Context(), 0, "x", func() string { return "" })
	assert.ErrorContains(t, err, "want > 0")
}

func TestEventuallyFailsTheTestWithWhatItAwaited(t *testing.T) {
	msg := fatalOf(t, func(tb testing.TB) {
		Eventually(tb, 30*time.Millisecond, "n1 to run with n2", func() string { return "n1 runs [n1]" })
	})
	assert.Regexp(t, `^after \d+ms, still not n1 to run with n2: n1 runs \[n1\]$`, msg)

	msg = fatalOf(t, func(tb testing.TB) {
		Eventually(tb, time.Second, "ok", True(func() bool { return true }))
	})
	assert.Empty(t, msg)
}

func TestEventuallyCtxStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	msg := fatalOf(t, func(tb testing.TB) {
		EventuallyCtx(tb, ctx, "flag", True(func() bool { return false }))
	})
	assert.Contains(t, msg, "still not flag: condition false")
}

func TestContextEndsAfterItsTimeoutOrWithTheTest(t *testing.T) {
	ctx := Context(t, 20*time.Millisecond)
	dl, ok := ctx.Deadline()
	require.True(t, ok)
	assert.WithinDuration(t, time.Now().Add(20*time.Millisecond), dl, 20*time.Millisecond)
	<-ctx.Done()
	assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)

	var inner context.Context
	t.Run("sub", func(t *testing.T) { inner = Context(t, time.Hour) })
	assert.ErrorIs(t, inner.Err(), context.Canceled, "cancelled when its test ended")
}

func TestFreePortsAreDistinctListenableAndBelowTheEphemeralRange(t *testing.T) {
	ports := FreePorts(t, 20)
	require.Len(t, ports, 20)
	seen := map[int]bool{}
	for _, p := range ports {
		assert.False(t, seen[p], "port %d twice", p)
		seen[p] = true
		assert.GreaterOrEqual(t, p, lowestPort)
		assert.Less(t, p, EphemeralLow())
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		require.NoError(t, err, "port %d", p)
		ln.Close()
	}
	p := FreePort(t)
	assert.Less(t, p, EphemeralLow())

	msg := fatalOf(t, func(tb testing.TB) { FreePorts(tb, 0) })
	assert.Contains(t, msg, "0 free ports requested, want 1 to")
}

func TestFreeBaseFollowsThePortRule(t *testing.T) {
	names := []string{"a1@127.0.0.1", "b7@127.0.0.2", "c@127.0.0.3"}
	base := FreeBase(t, names...)
	assert.Less(t, base+7, EphemeralLow())
	for _, a := range []string{"127.0.0.1:" + strconv.Itoa(base+1), "127.0.0.2:" + strconv.Itoa(base+7), "127.0.0.3:" + strconv.Itoa(base)} {
		ln, err := net.Listen("tcp", a)
		require.NoError(t, err, a)
		ln.Close()
	}

	msg := fatalOf(t, func(tb testing.TB) { FreeBase(tb, "no-at-sign") })
	assert.Contains(t, msg, `no-at-sign`)
	msg = fatalOf(t, func(tb testing.TB) { FreeBase(tb) })
	assert.Contains(t, msg, "at least one node name")
}

func TestFreePortOnEveryHost(t *testing.T) {
	hosts := Loopbacks(3)
	port := FreePortOn(t, hosts...)
	assert.Less(t, port, EphemeralLow())
	for _, h := range hosts {
		ln, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		require.NoError(t, err, h)
		ln.Close()
	}
}

func TestFreeBaseAvoidsATakenPort(t *testing.T) {
	// Hold the port FreeBase would pick for n1 at every base but one: it
	// must find the one left.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	taken := ln.Addr().(*net.TCPAddr).Port
	for range 50 {
		base := FreeBase(t, "n1@127.0.0.1")
		assert.NotEqual(t, taken, base+1)
	}
}

func TestLoopbacks(t *testing.T) {
	assert.Equal(t, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}, Loopbacks(3))
	assert.Equal(t, "127.0.0.254", Loopback(253))
	assert.PanicsWithValue(t, "testnet: loopback address 254, want 0 to 253", func() { Loopback(254) })
	for _, ip := range Loopbacks(3) {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		require.NoError(t, err, ip)
		ln.Close()
	}
}

func TestSyncBufferUnderConcurrentWritersAndReaders(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 100 {
				_, err := fmt.Fprintf(&b, "w%d\n", w)
				assert.NoError(t, err)
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			_ = b.String()
			_ = b.Len()
		}
	})
	wg.Wait()
	assert.Equal(t, 4*100*3, b.Len())
	for w := range 4 {
		assert.Equal(t, 100, strings.Count(b.String(), fmt.Sprintf("w%d\n", w)))
	}
}

func TestSyncBufferLines(t *testing.T) {
	var b SyncBuffer
	fmt.Fprint(&b, "level=INFO msg=join node=a\nlevel=WARN msg=leave node=a\nlevel=INFO msg=join node=b")
	assert.Equal(t, []string{"level=INFO msg=join node=a", "level=INFO msg=join node=b"}, b.Lines("msg=join"))
	assert.Equal(t, []string{"level=WARN msg=leave node=a"}, b.Lines("node=a", "WARN"))
	assert.Len(t, b.Lines(), 3)
	assert.Empty(t, b.Lines("nothing"))
}

func TestSyncBufferLimitKeepsTheNewest(t *testing.T) {
	b := SyncBuffer{Limit: 10}
	b.Write([]byte("0123456789"))
	assert.Equal(t, "0123456789", b.String())
	b.Write([]byte("abc"))
	assert.Equal(t, "89abc", b.String(), "newest Limit/2 bytes")
}

// TestTheKitLinksNoTestingPackage: ekka-mesh demo runs meshtest clusters,
// and meshtest uses this kit, so neither may bring package testing (and
// its flags) into the binary.
func TestTheKitLinksNoTestingPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const module = "github.com/ekka-mesh/ekka-mesh"
	pkgs := []string{module + "/internal/testnet", module + "/mesh/meshtest", module + "/cmd/ekka-mesh"}
	out, err := exec.Command("go", append([]string{"list", "-f", `{{.ImportPath}} {{join .Deps " "}}`}, pkgs...)...).Output()
	require.NoError(t, err, "go list")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, len(pkgs))
	for _, line := range lines {
		f := strings.Fields(line)
		assert.NotContains(t, f[1:], "testing", "%s depends on package testing", f[0])
	}
}
