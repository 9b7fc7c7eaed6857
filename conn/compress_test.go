package conn

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/faultnet"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Link speeds in bytes per second, as the drain meter reports them.
const (
	loopbackDrain = 4e9       // a 64 KiB write into an empty loopback socket
	gbitDrain     = 1e9 / 8   // 1 Gbit/s
	mbit100Drain  = 100e6 / 8 // 100 Mbit/s
)

func TestCompressWorth(t *testing.T) {
	for _, tc := range []struct {
		name         string
		drain, speed float64
		ratio        float64
		want         bool
	}{
		{"loopback, text", loopbackDrain, 1e9, 0.1, false},
		{"loopback, a compressor twice as fast", loopbackDrain, 8e9, 0.1, false},
		{"1 Gbit/s, text", gbitDrain, 1e9, 0.1, true},
		{"100 Mbit/s, text", mbit100Drain, 1e9, 0.1, true},
		{"100 Mbit/s, halves", mbit100Drain, 1e9, 0.5, true},
		{"100 Mbit/s, random bytes (grow)", mbit100Drain, 1e9, 1.01, false},
		{"100 Mbit/s, random bytes (as they are)", mbit100Drain, 1e9, 1, false},
		{"100 Mbit/s, shrinks too little", mbit100Drain, 1e9, worthRatio, false},
		{"100 Mbit/s, a compressor slower than the link", mbit100Drain, 10e6, 0.1, false},
		{"link just slower than the compressor pays back", 0.44e9, 1e9, 0.1, true},
		{"link just faster than the compressor pays back", 0.46e9, 1e9, 0.1, false},
		{"two processes on one machine, zeros, a very fast compressor", 1.5e9, 20e9, 0.001, false},
		{"just under the drain cap, a very fast compressor", maxWorthDrain - 1, 20e9, 0.1, true},
		{"at the drain cap, a very fast compressor", maxWorthDrain, 20e9, 0.1, false},
		{"drain not measured yet", 0, 1e9, 0.1, false},
		{"drain not measured yet, perfect ratio", 0, 1e9, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, compressWorth(tc.drain, tc.speed, tc.ratio))
		})
	}
}

func TestDrainMeter(t *testing.T) {
	type write struct {
		n int
		d time.Duration
	}
	// Window: 20 ms of write time. 2e6 bytes in 20 ms is 1e8 B/s.
	for _, tc := range []struct {
		name   string
		writes []write
		want   float64
	}{
		{"nothing measured", nil, 0},
		{"a window not yet full", []write{{1 << 20, 10 * time.Millisecond}, {1 << 20, 9 * time.Millisecond}}, 0},
		{"one window in one write", []write{{2e6, meterWindow}}, 1e8},
		{"one window summed over writes", []write{{5e5, 5 * time.Millisecond}, {5e5, 5 * time.Millisecond}, {5e5, 5 * time.Millisecond}, {5e5, 5 * time.Millisecond}}, 1e8},
		{"fast writes count their bytes in the window they close", []write{{2e6, time.Millisecond}, {0, 19 * time.Millisecond}}, 1e8},
		{"a second window averages with the first", []write{{2e6, meterWindow}, {8e6, meterWindow}}, 2.5e8},
		{"a third window halves what the first two weigh", []write{{2e6, meterWindow}, {2e6, meterWindow}, {8e6, meterWindow}}, 2.5e8},
		{"the link slows down: the rate follows within windows", []write{{80e6, meterWindow}, {2e6, meterWindow}, {2e6, meterWindow}, {2e6, meterWindow}, {2e6, meterWindow}}, 1e8 + (4e9-1e8)/16},
		{"a window that is not full does not move the rate", []write{{2e6, meterWindow}, {8e6, 19 * time.Millisecond}}, 1e8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m drainMeter
			for _, w := range tc.writes {
				m.observe(w.n, w.d)
			}
			require.InDelta(t, tc.want, m.drain(), 1, "drain")
		})
	}
}

func TestCompressorOffNeverCompresses(t *testing.T) {
	z := newCompressor(CompressOff, 4096)
	now := time.Unix(1000, 0)
	for _, drain := range []float64{0, mbit100Drain, gbitDrain, loopbackDrain} {
		for _, size := range []int{0, 100, 4096, 64 << 10, 1 << 20} {
			use, sample := z.plan("m", size, drain, now)
			require.False(t, use, "drain %v size %d", drain, size)
			require.False(t, sample, "drain %v size %d", drain, size)
		}
	}
	z.learn("m", 64<<10, 1000, time.Microsecond, now)
	require.Empty(t, z.classes, "off learns nothing")
	require.False(t, z.worth("m", mbit100Drain))
}

func TestCompressorOnCompressesAboveTheThreshold(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int
		size      int
		want      bool
	}{
		{"below", 4096, 4095, false},
		{"at", 4096, 4096, true},
		{"above", 4096, 64 << 10, true},
		{"a threshold under 64 is 64", 0, 63, false},
		{"at the smallest threshold", 0, 64, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := newCompressor(CompressOn, tc.threshold)
			now := time.Unix(1000, 0)
			for _, drain := range []float64{0, mbit100Drain, loopbackDrain} {
				use, sample := z.plan("m", tc.size, drain, now)
				require.Equal(t, tc.want, use, "drain %v", drain)
				require.False(t, sample, "on never samples")
			}
		})
	}
	z := newCompressor(CompressOn, 4096)
	z.learn("m", 64<<10, 60<<10, time.Millisecond, time.Unix(1000, 0))
	require.Empty(t, z.classes, "on learns nothing: it compresses whatever it learns")
}

// samples runs the auto policy on one kind for span, one message every
// step, learning from every sample (as Conn.compress does) that the kind
// shrinks to ratio at speed bytes/s; it returns how many messages were
// sampled and how many sent compressed.
func samples(z *compressor, class string, drain, ratio, speed float64, start time.Time, span, step time.Duration) (sampled, compressed int) {
	const size = 64 << 10
	for at := time.Duration(0); at < span; at += step {
		now := start.Add(at)
		use, sample := z.plan(class, size, drain, now)
		if sample {
			sampled++
			z.learn(class, size, int(ratio*size), time.Duration(float64(size)/speed*1e9), now)
			use = z.worth(class, drain)
		}
		if use {
			compressed++
		}
	}
	return sampled, compressed
}

func TestCompressorAuto(t *testing.T) {
	start := time.Unix(1000, 0)
	const step = 10 * time.Millisecond
	for _, tc := range []struct {
		name           string
		drain          float64
		ratio, speed   float64
		span           time.Duration
		wantSampled    int
		wantCompressed int
	}{
		// 500 messages over 5 s each time.
		{"loopback: never sampled, never compressed", loopbackDrain, 0.1, 2e9, 5 * time.Second, 0, 0},
		{"drain unknown: never sampled, never compressed", 0, 0.1, 2e9, 5 * time.Second, 0, 0},
		{"100 Mbit/s, text: sampled once a second, every message compressed", mbit100Drain, 0.1, 2e9, 5 * time.Second, 5, 500},
		{"1 Gbit/s, text: sampled once a second, every message compressed", gbitDrain, 0.1, 2e9, 5 * time.Second, 5, 500},
		{"100 Mbit/s, random bytes: sampled once a second, none compressed", mbit100Drain, 1.0001, 2e9, 5 * time.Second, 5, 0},
		{"1 Gbit/s, a compressor slower than it pays: sampled once a second, none compressed", gbitDrain, 0.1, 100e6, 5 * time.Second, 5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := newCompressor(CompressAuto, 4096)
			sampled, compressed := samples(z, "m", tc.drain, tc.ratio, tc.speed, start, tc.span, step)
			require.Equal(t, tc.wantSampled, sampled, "messages sampled")
			require.Equal(t, tc.wantCompressed, compressed, "messages compressed")
		})
	}
}

func TestCompressorAutoSmallMessagesAreLeftAlone(t *testing.T) {
	z := newCompressor(CompressAuto, 4096)
	use, sample := z.plan("m", 4095, mbit100Drain, time.Unix(1000, 0))
	require.False(t, use)
	require.False(t, sample)
}

func TestCompressorAutoSamplesEachKind(t *testing.T) {
	z := newCompressor(CompressAuto, 4096)
	start := time.Unix(1000, 0)
	// Two kinds on one slow link: each is sampled on its own clock and
	// decided by its own ratio.
	textSampled, textCompressed := samples(z, "text", mbit100Drain, 0.1, 2e9, start, 3*time.Second, 100*time.Millisecond)
	randSampled, randCompressed := samples(z, "random", mbit100Drain, 1.0001, 2e9, start, 3*time.Second, 100*time.Millisecond)
	require.Equal(t, 3, textSampled)
	require.Equal(t, 30, textCompressed)
	require.Equal(t, 3, randSampled)
	require.Equal(t, 0, randCompressed)
	require.True(t, z.worth("text", mbit100Drain))
	require.False(t, z.worth("random", mbit100Drain))
	require.False(t, z.worth("text", loopbackDrain), "the same kind on a fast lane")
	require.False(t, z.worth("never seen", mbit100Drain))
}

func TestCompressorAutoFollowsTheLearnedRatio(t *testing.T) {
	z := newCompressor(CompressAuto, 4096)
	now := time.Unix(1000, 0)
	const size = 64 << 10
	// The kind shrank to a tenth: compressed.
	z.learn("m", size, size/10, 30*time.Microsecond, now)
	use, sample := z.plan("m", size, mbit100Drain, now.Add(time.Millisecond))
	require.True(t, use)
	require.False(t, sample)
	// Then its messages stop shrinking: each sample moves the average half
	// way, and once it passes worthRatio the kind goes as it is.
	var turned int
	for i := 1; i <= 10; i++ {
		now = now.Add(sampleEvery)
		_, sample = z.plan("m", size, mbit100Drain, now)
		require.True(t, sample, "a second later the kind is sampled again")
		z.learn("m", size, size, 30*time.Microsecond, now)
		if use, _ = z.plan("m", size, mbit100Drain, now.Add(time.Millisecond)); !use && turned == 0 {
			turned = i
		}
	}
	require.Equal(t, 4, turned, "samples until the average ratio (0.1, 0.55, 0.775, 0.8875, 0.94) passes %v", worthRatio)
	// And the compressor's speed: a kind that compresses slower than the
	// link drains is sent as it is.
	z.learn("slow", size, size/10, time.Duration(float64(size)/5e6*1e9), now)
	use, _ = z.plan("slow", size, mbit100Drain, now.Add(time.Millisecond))
	require.False(t, use)
}

// A compression the scheduler paused makes its kind look slower than it
// is. When that is the kind's first sample, the next samples, a second
// apart, must still come and put it right (CI once saw a kind sampled at
// 19 MB/s, against 200 MB/s for every other sample, and never compressed).
func TestCompressorAutoRecoversFromASlowSample(t *testing.T) {
	z := newCompressor(CompressAuto, 4096)
	start := time.Unix(1000, 0)
	const size = 64 << 10
	z.learn("m", size, size/10, time.Duration(float64(size)/5e6*1e9), start)
	use, _ := z.plan("m", size, mbit100Drain, start.Add(time.Millisecond))
	require.False(t, use, "at 5 MB/s of compressor, compressing a 100 Mbit/s link does not pay")
	sampled, compressed := samples(z, "m", mbit100Drain, 0.1, 2e9, start.Add(time.Millisecond), 3*time.Second, 10*time.Millisecond)
	// Messages every 10 ms from 1 ms to 2.991 s: samples at 1.001 s and
	// 2.001 s, and the first one puts the kind right.
	require.Equal(t, 2, sampled, "sampled once a second")
	require.Equal(t, 200, compressed, "compressed from the second sample on")
}

func TestCompressorClassTableStaysBounded(t *testing.T) {
	z := newCompressor(CompressAuto, 4096)
	now := time.Unix(1000, 0)
	for i := range 10 * maxClasses {
		z.learn(fmt.Sprintf("method-%d", i), 64<<10, 1<<10, 30*time.Microsecond, now)
		require.LessOrEqual(t, len(z.classes), maxClasses)
	}
	last := fmt.Sprintf("method-%d", 10*maxClasses-1)
	require.True(t, z.worth(last, mbit100Drain), "the kind learned last is still known")
}

func TestParseCompression(t *testing.T) {
	for _, c := range []Compression{CompressAuto, CompressOff, CompressOn} {
		got, err := ParseCompression(c.String())
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
	require.Equal(t, "auto", Compression(0).String(), "the zero value is auto")
	require.Equal(t, "Compression(7)", Compression(7).String())
	for _, bad := range []string{"", "Auto", "ON", "gzip", "true", "1"} {
		_, err := ParseCompression(bad)
		require.Error(t, err, "%q", bad)
	}
}

// textPayload is size bytes of JSON-like records: what S2 shrinks to a
// small fraction of its size.
func textPayload(size int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `{"id":%d,"topic":"sensors/room-%d/temperature","qos":1,"payload":"21.5"},`, i, i%40)
	}
	return b.Bytes()[:size]
}

// castAndCheck sends n casts of p from a and checks, on another goroutine,
// that b receives each one intact. Before each cast, stop is asked whether
// to send no more; castAndCheck returns how many casts went, once b has
// received them all.
func castAndCheck(t *testing.T, a, b *side, p []byte, n int, stop func() bool) int {
	t.Helper()
	sent := make(chan int, 1)
	checked := make(chan error, 1)
	go func() {
		want, got := -1, 0
		for want < 0 || got < want {
			select {
			case m := <-b.in:
				if !bytes.Equal(m.body, p) {
					checked <- fmt.Errorf("cast %d: got %d bytes, not the %d sent", got, len(m.body), len(p))
					return
				}
				got++
			case want = <-sent:
			case <-time.After(10 * time.Second):
				checked <- fmt.Errorf("received %d casts, then nothing for 10s", got)
				return
			}
		}
		checked <- nil
	}()
	ctx := context.Background()
	i := 0
	for ; i < n && !stop(); i++ {
		require.NoError(t, a.c.SendAs(ctx, "bench.text", wire.TypeCast, 0, nil, p))
	}
	sent <- i
	require.NoError(t, <-checked)
	return i
}

func TestLinkAutoCompressesOnlyWhereTheLinkIsSlow(t *testing.T) {
	p := textPayload(64 << 10)

	t.Run("loopback", func(t *testing.T) {
		a, b := linkPair(t, testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1"))
		// One cast at a time: the lane's writes find an empty socket.
		for range 20 {
			castAndCheck(t, a, b, p, 1, func() bool { return false })
		}
		require.Zero(t, a.c.Stats().Compressed, "auto compressed on loopback")
	})

	t.Run("paced", func(t *testing.T) {
		fn := faultnet.New()
		t.Cleanup(func() { fn.Close() })
		ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
		// Every lane of the link crosses faultnet, a -> b at 20 MB/s.
		ca.Dial = func(ctx context.Context, _, addr string) (net.Conn, error) {
			fn.Register(cb.Name, addr)
			return fn.Dial(ctx, ca.Name, cb.Name)
		}
		fn.Rate(ca.Name, cb.Name, 20e6)
		a, b := linkPair(t, ca, cb)
		// The lane has to back up before its meter sees the link: a few MB
		// of socket buffers fill first. Then auto compresses.
		sent := castAndCheck(t, a, b, p, 2000, func() bool { return a.c.Stats().Compressed > 0 })
		require.NotZero(t, a.c.Stats().Compressed, "auto sent %d compressible casts over a 20 MB/s link and compressed none", sent)
	})

	t.Run("paced, random bytes", func(t *testing.T) {
		fn := faultnet.New()
		t.Cleanup(func() { fn.Close() })
		ca, cb := testConfig("a@127.0.0.1"), testConfig("b@127.0.0.1")
		ca.Dial = func(ctx context.Context, _, addr string) (net.Conn, error) {
			fn.Register(cb.Name, addr)
			return fn.Dial(ctx, ca.Name, cb.Name)
		}
		fn.Rate(ca.Name, cb.Name, 20e6)
		a, b := linkPair(t, ca, cb)
		r := make([]byte, 64<<10)
		rand.Read(r)
		castAndCheck(t, a, b, r, 200, func() bool { return false })
		require.Zero(t, a.c.Stats().Compressed, "random bytes never go compressed")
	})
}
