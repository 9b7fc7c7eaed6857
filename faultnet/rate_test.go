package faultnet_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/faultnet"
)

// sendAndTime writes size bytes on c from a goroutine and returns how long
// the receiving end sc took to get them all, from the first write.
func sendAndTime(t testing.TB, c, sc net.Conn, size int64) time.Duration {
	t.Helper()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := io.Copy(c, io.LimitReader(zeros{}, size))
		errc <- err
	}()
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(60*time.Second)))
	got, err := io.CopyN(io.Discard, sc, size)
	elapsed := time.Since(start)
	require.NoError(t, err)
	require.Equal(t, size, got)
	require.NoError(t, <-errc)
	return elapsed
}

func TestRatePacesALargeTransfer(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate int64 // bytes per second
		size int64
	}{
		{"100Mbit", 100e6 / 8, 4 << 20},
		{"1Gbit", 1e9 / 8, 32 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNetwork(t)
			srv := startServer(t, false)
			n.Register("sink", srv.addr())
			n.Rate("src", "sink", tc.rate)
			c := dial(t, n, "src", "sink")
			sc := srv.nextConn(t)

			elapsed := sendAndTime(t, c, sc, tc.size)
			floor := time.Duration(float64(tc.size-faultnet.RateBurst(tc.rate)) / float64(tc.rate) * float64(time.Second))
			t.Logf("%d bytes at %d B/s: %v (the rate allows no less than %v), achieved %.1f%% of the rate",
				tc.size, tc.rate, elapsed.Round(time.Millisecond), floor.Round(time.Millisecond),
				float64(tc.size)/elapsed.Seconds()/float64(tc.rate)*100)
			assert.GreaterOrEqual(t, elapsed, floor, "a paced transfer may not beat its rate by more than the burst")
		})
	}
}

func TestRateAppliesToALiveConnectionUntilHeal(t *testing.T) {
	n := newNetwork(t)
	srv := startServer(t, false)
	n.Register("b", srv.addr())
	c := dial(t, n, "a", "b")
	sc := srv.nextConn(t)
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := c.Write([]byte("before"))
	require.NoError(t, err)
	got := make([]byte, len("before"))
	_, err = io.ReadFull(sc, got)
	require.NoError(t, err)

	// 1 KiB/s: the 256 KiB below would take four minutes.
	const rate = 1 << 10
	n.Rate("a", "b", rate)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 16<<10)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		errc <- err
	}()
	// The first burst arrives; the rest waits for the rate.
	first := make([]byte, faultnet.RateBurst(rate))
	_, err = io.ReadFull(sc, first)
	require.NoError(t, err)
	assert.Equal(t, msg[:len(first)], first)

	n.Heal("a", "b") // lifts the rate: the chunk waiting on its timer goes at once
	rest := make([]byte, len(msg)-len(first))
	_, err = io.ReadFull(sc, rest)
	require.NoError(t, err, "after Heal the rest must arrive well within the read deadline")
	assert.Equal(t, msg[len(first):], rest)
	require.NoError(t, <-errc)

	// Rate 0 removes a limit too.
	n.Rate("a", "b", rate)
	n.Rate("a", "b", 0)
	assert.Equal(t, "ok", roundTripOn(t, c, sc, "ok"))
}

// roundTripOn writes msg on c and reads it on sc.
func roundTripOn(t *testing.T, c, sc net.Conn, msg string) string {
	t.Helper()
	_, err := c.Write([]byte(msg))
	require.NoError(t, err)
	buf := make([]byte, len(msg))
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(sc, buf)
	require.NoError(t, err)
	return string(buf)
}

func TestRateStopsWaitingWhenTheConnectionCloses(t *testing.T) {
	n := newNetwork(t)
	srv := startServer(t, false)
	n.Register("b", srv.addr())
	c := dial(t, n, "a", "b")
	sc := srv.nextConn(t)
	n.Rate("a", "b", 1) // one byte a second: the proxy's reader waits on its timer
	_, err := c.Write(bytes.Repeat([]byte("x"), 64<<10))
	require.NoError(t, err)
	n.Cut("a", "b")
	assert.ErrorIs(t, readErr(t, sc), io.EOF)
	require.Eventually(t, func() bool { return n.Conns("a", "b") == 0 }, 5*time.Second, 5*time.Millisecond)
	// goleak in TestMain checks that the waiting reader is gone.
}

func TestRateBurst(t *testing.T) {
	assert.Equal(t, int64(0), faultnet.RateBurst(0))
	assert.Equal(t, int64(0), faultnet.RateBurst(-5))
	assert.Equal(t, int64(1024), faultnet.RateBurst(1), "at least 1 KiB")
	assert.Equal(t, int64(125_000), faultnet.RateBurst(100e6/8), "10 ms of 100 Mbit/s")
}

// BenchmarkRate shows the rate a paced link achieves for a bulk transfer on
// one connection. Each op moves 1 MiB; MB/s is the achieved rate and
// %-of-rate its ratio to the set one (slightly above 100 over short runs:
// the first burst is free).
//
//	go test -run '^$' -bench Rate -benchtime 2s ./faultnet/
func BenchmarkRate(b *testing.B) {
	for _, tc := range []struct {
		name string
		rate int64
	}{
		{"100Mbit", 100e6 / 8},
		{"1Gbit", 1e9 / 8},
		{"unlimited", 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := faultnet.New()
			defer n.Close()
			srv := startServer(b, false)
			n.Register("sink", srv.addr())
			n.Rate("src", "sink", tc.rate)
			c, err := n.Dial(b.Context(), "src", "sink")
			require.NoError(b, err)
			defer c.Close()
			sc := srv.nextConn(b)
			const op = 1 << 20
			b.SetBytes(op)
			b.ResetTimer()
			elapsed := sendAndTime(b, c, sc, int64(b.N)*op)
			b.StopTimer()
			if tc.rate > 0 {
				achieved := float64(b.N) * op / elapsed.Seconds()
				b.ReportMetric(achieved/float64(tc.rate)*100, "%-of-rate")
			}
		})
	}
}

func ExampleNetwork_Rate() {
	addr, stop := echoListener()
	defer stop()
	fn := faultnet.New()
	defer fn.Close()
	fn.Register("n2@127.0.0.1", addr)

	const rate = 1 << 20 // 1 MiB/s from n1 to n2; the echo back is not paced
	fn.Rate("n1@127.0.0.1", "n2@127.0.0.1", rate)
	c, err := fn.Dial(context.Background(), "n1@127.0.0.1", "n2@127.0.0.1")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	const size = 256 << 10
	start := time.Now()
	go c.Write(make([]byte, size))
	_, err = io.ReadFull(c, make([]byte, size))
	elapsed := time.Since(start)
	floor := time.Duration(size-faultnet.RateBurst(rate)) * time.Second / rate
	fmt.Printf("256 KiB echoed, err=%v; no faster than the rate allows: %v\n", err, elapsed >= floor)
	// Output:
	// 256 KiB echoed, err=<nil>; no faster than the rate allows: true
}
