package faultnet_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/faultnet"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

func TestDialRelaysBothWaysAndClosesWithEitherEnd(t *testing.T) {
	n := newNetwork(t)
	echo := startServer(t, true)
	n.Register("b", echo.addr())

	c := dial(t, n, "a", "b")
	assert.Equal(t, "hello", roundTrip(t, c, "hello"))
	assert.Equal(t, 1, n.Conns("a", "b"))
	assert.Equal(t, 1, n.Conns("b", "a"), "Conns counts both dialling directions")

	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { return n.Conns("a", "b") == 0 }, 5*time.Second, 5*time.Millisecond)

	// The server closing its end is seen by the dialler.
	plain := startServer(t, false)
	n.Register("p", plain.addr())
	c = dial(t, n, "a", "p")
	require.NoError(t, plain.nextConn(t).Close())
	assert.ErrorIs(t, readErr(t, c), io.EOF)
	assert.Equal(t, 1, n.Conns("a", "p"), "half-closed until the dialler closes too, as in TCP")
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { return n.Conns("a", "p") == 0 }, 5*time.Second, 5*time.Millisecond)
}

func TestHalfClosePropagates(t *testing.T) {
	n := newNetwork(t)
	srv := startServer(t, false)
	n.Register("b", srv.addr())
	c := dial(t, n, "a", "b")
	sc := srv.nextConn(t)

	_, err := c.Write([]byte("request"))
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())

	require.NoError(t, sc.SetReadDeadline(time.Now().Add(5*time.Second)))
	got, err := io.ReadAll(sc) // ends at the propagated FIN
	require.NoError(t, err)
	assert.Equal(t, "request", string(got))

	// The other direction still flows after the half-close.
	_, err = sc.Write([]byte("reply"))
	require.NoError(t, err)
	require.NoError(t, sc.Close())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	got, err = io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "reply", string(got))
	require.Eventually(t, func() bool { return n.Conns("a", "b") == 0 }, 5*time.Second, 5*time.Millisecond)
}

func TestCutClosesExistingAndRefusesNewUntilHeal(t *testing.T) {
	n := newNetwork(t)
	echoA, echoB := startServer(t, true), startServer(t, true)
	n.Register("a", echoA.addr())
	n.Register("b", echoB.addr())
	ab, ba := dial(t, n, "a", "b"), dial(t, n, "b", "a")
	roundTrip(t, ab, "x")
	roundTrip(t, ba, "y")

	n.Cut("a", "b")
	assert.Equal(t, 0, n.Conns("a", "b"), "Cut closes connections before it returns")
	assert.ErrorIs(t, readErr(t, ab), io.EOF)
	assert.ErrorIs(t, readErr(t, ba), io.EOF)

	_, err := n.Dial(testnet.Context(t, 5*time.Second), "a", "b")
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	var opErr *net.OpError
	require.ErrorAs(t, err, &opErr)
	assert.Equal(t, "dial", opErr.Op)
	assert.Contains(t, err.Error(), "a -> b")
	requireRefused(t, n, "b", "a")

	n.Heal("b", "a")
	assert.Equal(t, "again", roundTrip(t, dial(t, n, "a", "b"), "again"))
	assert.Equal(t, "back", roundTrip(t, dial(t, n, "b", "a"), "back"))
}

func TestResetAbortsBothEndsOnce(t *testing.T) {
	n := newNetwork(t)
	srv := startServer(t, false)
	n.Register("b", srv.addr())
	c := dial(t, n, "a", "b")
	sc := srv.nextConn(t)
	_, err := c.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(sc, buf)
	require.NoError(t, err)

	n.Reset("b", "a")
	assert.Equal(t, 0, n.Conns("a", "b"))
	err = readErr(t, c)
	require.ErrorIs(t, err, syscall.ECONNRESET)
	assert.Contains(t, err.Error(), "connection reset by peer")
	require.ErrorIs(t, readErr(t, sc), syscall.ECONNRESET)

	// A one-time event: the link itself is fine.
	c2 := dial(t, n, "a", "b")
	sc2 := srv.nextConn(t)
	_, err = c2.Write([]byte("pong"))
	require.NoError(t, err)
	require.NoError(t, sc2.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(sc2, buf)
	require.NoError(t, err)
	assert.Equal(t, "pong", string(buf))
}

func TestBlackholeDropsOneDirectionAndHealResumes(t *testing.T) {
	n := newNetwork(t)
	srv := startServer(t, false)
	n.Register("a", "127.0.0.1:1") // a never listens here; it only dials
	n.Register("b", srv.addr())
	c := dial(t, n, "a", "b")
	sc := srv.nextConn(t)

	n.Blackhole("a", "b") // set after the connection opened
	_, err := c.Write([]byte("lost"))
	require.NoError(t, err)
	requireSilent(t, sc, 200*time.Millisecond)

	// b -> a still flows.
	_, err = sc.Write([]byte("pong"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	assert.Equal(t, "pong", string(buf))
	assert.Equal(t, 1, n.Conns("a", "b"), "a blackhole keeps the connection open")

	n.Heal("a", "b")
	_, err = c.Write([]byte("kept"))
	require.NoError(t, err)
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(sc, buf)
	require.NoError(t, err)
	assert.Equal(t, "kept", string(buf), "bytes dropped during the blackhole stay dropped")
}

func TestBlackholeHoldsFINUntilHeal(t *testing.T) {
	n := newNetwork(t)
	srv := startServer(t, false)
	n.Register("b", srv.addr())
	c := dial(t, n, "a", "b")
	sc := srv.nextConn(t)

	n.Blackhole("a", "b")
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	requireSilent(t, sc, 100*time.Millisecond)
	n.HealAll()
	assert.ErrorIs(t, readErr(t, sc), io.EOF)
}

func TestDialIntoBlackholeHangsUntilDeadline(t *testing.T) {
	n := newNetwork(t)
	echoA, echoB := startServer(t, true), startServer(t, true)
	n.Register("a", echoA.addr())
	n.Register("b", echoB.addr())
	n.Blackhole("a", "b")

	const wait = 150 * time.Millisecond
	start := time.Now()
	c, err := n.Dial(testnet.Context(t, wait), "a", "b")
	elapsed := time.Since(start)
	require.Nil(t, c)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var opErr *net.OpError
	require.ErrorAs(t, err, &opErr)
	assert.True(t, opErr.Timeout(), "a blackholed dial is a timeout: %v", err)
	assert.GreaterOrEqual(t, elapsed, wait)
	assert.Contains(t, err.Error(), "blackholed")

	// The reverse dial connects; its b -> a bytes flow, a's bytes are dropped.
	ba := dial(t, n, "b", "a")
	_, err = ba.Write([]byte("hi"))
	require.NoError(t, err)
	requireSilent(t, ba, 200*time.Millisecond) // the echo's reply is a -> b

	// A dial waiting on the blackhole connects as soon as it is lifted.
	result := make(chan error, 1)
	go func() {
		c, err := n.Dial(testnet.Context(t, 5*time.Second), "a", "b")
		if err == nil {
			_ = c.Close()
		}
		result <- err
	}()
	testnet.Eventually(t, 5*time.Second, "the dial held by the blackhole", func() string {
		if held := n.Held(); held != 1 {
			return fmt.Sprintf("%d dials held", held)
		}
		return ""
	})
	n.Heal("a", "b")
	select {
	case err := <-result:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("dial did not connect after the blackhole was healed")
	}
	assert.Zero(t, n.Held(), "no dial held once the blackhole is lifted")
}

func TestDelayAddsLatencyAndKeepsOrder(t *testing.T) {
	n := newNetwork(t)
	echo := startServer(t, true)
	n.Register("b", echo.addr())
	c := dial(t, n, "a", "b")
	roundTrip(t, c, "warm")

	const d = 100 * time.Millisecond
	n.Delay("a", "b", d) // on an open connection
	start := time.Now()
	roundTrip(t, c, "slow")
	rtt := time.Since(start)
	assert.GreaterOrEqual(t, rtt, d)
	assert.Less(t, rtt, d+400*time.Millisecond)

	// Many small writes arrive complete and in order.
	n.Delay("a", "b", 2*time.Millisecond)
	const count = 2000
	go func() {
		for i := range count {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(i))
			if _, err := c.Write(b[:]); err != nil {
				return
			}
		}
	}()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	for i := range count {
		var b [4]byte
		_, err := io.ReadFull(c, b[:])
		require.NoError(t, err)
		require.Equal(t, uint32(i), binary.BigEndian.Uint32(b[:]))
	}

	n.Delay("a", "b", 0)
	start = time.Now()
	roundTrip(t, c, "fast")
	assert.Less(t, time.Since(start), d)
}

func TestDelayKeepsThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 128 MiB")
	}
	const size = 64 << 20
	n := newNetwork(t)
	srv := startServer(t, false)
	n.Register("sink", srv.addr())

	transfer := func() time.Duration {
		c := dial(t, n, "src", "sink")
		sc := srv.nextConn(t)
		defer sc.Close()
		start := time.Now()
		errc := make(chan error, 1)
		go func() {
			_, err := io.Copy(c, io.LimitReader(zeros{}, size))
			_ = c.Close()
			errc <- err
		}()
		require.NoError(t, sc.SetReadDeadline(time.Now().Add(60*time.Second)))
		got, err := io.Copy(io.Discard, sc)
		require.NoError(t, err)
		require.Equal(t, int64(size), got)
		require.NoError(t, <-errc)
		return time.Since(start)
	}
	unloaded := transfer()
	const d = time.Millisecond
	n.Delay("src", "sink", d)
	delayed := transfer()
	t.Logf("64 MiB: unloaded %v, with %v delay %v", unloaded, d, delayed)
	assert.Less(t, delayed, 2*unloaded+250*time.Millisecond, "a delay must not throttle throughput")
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestIsolateCutsOneEndpointFromAllOthers(t *testing.T) {
	n := newNetwork(t)
	for _, name := range []string{"a", "b", "c"} {
		n.Register(name, startServer(t, true).addr())
	}
	ab, ca, bc := dial(t, n, "a", "b"), dial(t, n, "c", "a"), dial(t, n, "b", "c")

	n.Isolate("a")
	assert.ErrorIs(t, readErr(t, ab), io.EOF)
	assert.ErrorIs(t, readErr(t, ca), io.EOF)
	assert.Equal(t, "still", roundTrip(t, bc, "still"))
	for _, other := range []string{"b", "c"} {
		requireRefused(t, n, "a", other)
		requireRefused(t, n, other, "a")
	}

	n.HealAll()
	roundTrip(t, dial(t, n, "a", "b"), "ok")
	roundTrip(t, dial(t, n, "c", "a"), "ok")
}

func TestPartitionIntoThreeGroups(t *testing.T) {
	n := newNetwork(t)
	names := []string{"n1", "n2", "n3", "n4", "n5", "loner"}
	for _, name := range names {
		n.Register(name, startServer(t, true).addr())
	}
	groups := [][]string{{"n1", "n2"}, {"n3"}, {"n4", "n5"}}
	group := map[string]int{"n1": 0, "n2": 0, "n3": 1, "n4": 2, "n5": 2}
	n.Partition(groups...)

	for _, from := range names {
		for _, to := range names {
			if from == to {
				continue
			}
			gf, inF := group[from]
			gt, inT := group[to]
			if inF && inT && gf == gt {
				roundTrip(t, dial(t, n, from, to), from+"->"+to)
			} else {
				requireRefused(t, n, from, to) // across groups, and the loner is isolated
			}
		}
	}

	n.HealAll()
	roundTrip(t, dial(t, n, "n1", "n5"), "healed")
	roundTrip(t, dial(t, n, "loner", "n3"), "healed")
}

func TestDialerResolvesRegisteredAddresses(t *testing.T) {
	n := newNetwork(t)
	echo, unrelated := startServer(t, true), startServer(t, true)
	n.Register("b", echo.addr())
	dialA := n.Dialer("a")
	ctx := testnet.Context(t, 5*time.Second)

	c, err := dialA(ctx, "tcp", echo.addr())
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, 1, n.Conns("a", "b"), "a registered address goes through the proxy")
	assert.Equal(t, "via", roundTrip(t, c, "via"))

	// Unknown addresses are dialled directly, without faults.
	n.Isolate("a")
	n.Cut("a", "b")
	u, err := dialA(ctx, "tcp", unrelated.addr())
	require.NoError(t, err)
	defer u.Close()
	assert.Equal(t, "direct", roundTrip(t, u, "direct"))

	_, err = dialA(ctx, "tcp", echo.addr())
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
}

func TestUnknownEndpointIsNamed(t *testing.T) {
	n := newNetwork(t)
	_, err := n.Dial(testnet.Context(t, time.Second), "a", "ghost@127.0.0.1")
	require.ErrorIs(t, err, faultnet.ErrUnknownEndpoint)
	assert.Contains(t, err.Error(), `"ghost@127.0.0.1"`)

	echo := startServer(t, true)
	n.Register("b", echo.addr())
	roundTrip(t, dial(t, n, "a", "b"), "x")
	n.Unregister("b")
	_, err = n.Dial(testnet.Context(t, time.Second), "a", "b")
	require.ErrorIs(t, err, faultnet.ErrUnknownEndpoint)
}

func TestDialHonoursCancelledContext(t *testing.T) {
	n := newNetwork(t)
	n.Register("b", startServer(t, true).addr())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := n.Dial(ctx, "a", "b")
	require.ErrorIs(t, err, context.Canceled)
}

func TestCloseStopsEverything(t *testing.T) {
	n := faultnet.New()
	echo := startServer(t, true)
	n.Register("a", echo.addr())
	n.Register("b", echo.addr())
	c := dial(t, n, "a", "b")
	n.Delay("a", "b", time.Hour)
	_, err := c.Write([]byte("queued for an hour"))
	require.NoError(t, err)

	n.Blackhole("b", "a")
	blocked := make(chan error, 1)
	go func() {
		_, err := n.Dial(context.Background(), "b", "a") // no deadline: only Close ends it
		blocked <- err
	}()
	testnet.Eventually(t, 5*time.Second, "the dial held by the blackhole", func() string {
		if held := n.Held(); held != 1 {
			return fmt.Sprintf("%d dials held", held)
		}
		return ""
	})

	require.NoError(t, n.Close())
	assert.ErrorIs(t, readErr(t, c), io.EOF)
	select {
	case err := <-blocked:
		require.ErrorIs(t, err, faultnet.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release a dial blocked on a blackhole")
	}
	assert.Equal(t, 0, n.Conns("a", "b"))
	_, err = n.Dial(context.Background(), "a", "b")
	require.ErrorIs(t, err, faultnet.ErrClosed)
	_, err = n.Dialer("a")(context.Background(), "tcp", echo.addr())
	require.ErrorIs(t, err, faultnet.ErrClosed)
	require.NoError(t, n.Close(), "Close is idempotent")
}

func TestConcurrentRuleChangesUnderTraffic(t *testing.T) {
	n := newNetwork(t)
	names := []string{"a", "b", "c"}
	for _, name := range names {
		n.Register(name, startServer(t, true).addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()

	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() { // traffic: dial, exchange, close, under whatever rules hold
			defer wg.Done()
			from, to := names[w%3], names[(w+1)%3]
			for ctx.Err() == nil {
				dctx, dcancel := context.WithTimeout(ctx, 50*time.Millisecond)
				c, err := n.Dial(dctx, from, to)
				dcancel()
				if err != nil {
					continue
				}
				_ = c.SetDeadline(time.Now().Add(50 * time.Millisecond))
				_, _ = c.Write([]byte("payload"))
				_, _ = c.Read(make([]byte, 16))
				_ = c.Close()
			}
		}()
	}
	for w := range 2 {
		wg.Add(1)
		go func() { // chaos
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for ctx.Err() == nil {
				a, b := names[rng.IntN(3)], names[rng.IntN(3)]
				switch rng.IntN(10) {
				case 0:
					n.Cut(a, b)
				case 1:
					n.Reset(a, b)
				case 2:
					n.Blackhole(a, b)
				case 3:
					n.Delay(a, b, time.Duration(rng.IntN(3))*time.Millisecond)
				case 4:
					n.Isolate(a)
				case 5:
					n.Partition([]string{a}, []string{b})
				case 6:
					n.Heal(a, b)
				case 7:
					n.HealAll()
				case 8:
					_ = n.Conns(a, b)
				case 9:
					n.Rate(a, b, int64(rng.IntN(3))<<10) // 0 (lifted), 1 or 2 KiB/s
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()

	n.HealAll()
	for _, from := range names {
		for _, to := range names {
			msg := fmt.Sprintf("%s->%s", from, to)
			assert.Equal(t, msg, roundTrip(t, dial(t, n, from, to), msg))
		}
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	assert.False(t, errors.Is(faultnet.ErrClosed, faultnet.ErrUnknownEndpoint))
}
