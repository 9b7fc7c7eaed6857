package load

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHistogramEmpty(t *testing.T) {
	var h Histogram
	assert.Zero(t, h.Count())
	assert.Zero(t, h.Quantile(0.5))
	assert.Zero(t, h.Quantile(0.99))
	assert.Zero(t, h.Max())
}

func TestHistogramSmallValuesAreExact(t *testing.T) {
	// Below 64 ns every value has a bucket of its own.
	var h Histogram
	for v := 1; v <= 50; v++ {
		h.Record(time.Duration(v))
	}
	assert.Equal(t, time.Duration(25), h.Quantile(0.50))
	assert.Equal(t, time.Duration(50), h.Quantile(0.99)) // rank ceil(49.5) = 50
	assert.Equal(t, time.Duration(1), h.Quantile(0))
	assert.Equal(t, time.Duration(50), h.Quantile(1))
}

func TestHistogramOneValueIsExact(t *testing.T) {
	var h Histogram
	for range 1000 {
		h.Record(123456 * time.Nanosecond)
	}
	assert.Equal(t, 123456*time.Nanosecond, h.Quantile(0.5))
	assert.Equal(t, 123456*time.Nanosecond, h.Quantile(0.99))
	assert.Equal(t, uint64(1000), h.Count())
}

func TestHistogramUniformQuantiles(t *testing.T) {
	// 1 us to 10 ms in 1 us steps, shuffled: the p-th quantile is p × 10 ms,
	// within the 1/64 width of a bucket.
	var h Histogram
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for _, v := range vals {
		h.Record(v)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5 * time.Millisecond},
		{0.9, 9 * time.Millisecond},
		{0.99, 9900 * time.Microsecond},
		{0.999, 9990 * time.Microsecond},
	} {
		got := h.Quantile(c.q)
		assert.InEpsilon(t, float64(c.want), float64(got), 1.0/64, "quantile %v: got %v, want %v", c.q, got, c.want)
	}
	assert.Equal(t, 10*time.Millisecond, h.Max())
	assert.Equal(t, time.Microsecond, h.Min())
}

func TestHistogramSkewed(t *testing.T) {
	// 98 fast operations and 2 slow ones: p50 is fast, p99 slow.
	var h Histogram
	for range 98 {
		h.Record(100 * time.Microsecond)
	}
	h.Record(50 * time.Millisecond)
	h.Record(50 * time.Millisecond)
	assert.Equal(t, 100*time.Microsecond, h.Quantile(0.5).Round(time.Microsecond))
	assert.InEpsilon(t, float64(50*time.Millisecond), float64(h.Quantile(0.99)), 1.0/64)
	assert.Equal(t, 100*time.Microsecond, h.Quantile(0.98).Round(time.Microsecond))
}

func TestHistogramBuckets(t *testing.T) {
	// Every value falls in a bucket that holds it, no wider than 1/64 of
	// it, and buckets are in order.
	rng := rand.New(rand.NewPCG(3, 4))
	prev := -1
	for v := uint64(0); v < 1<<13; v++ {
		i := bucketOf(v)
		require.GreaterOrEqual(t, i, prev, "bucket of %d", v)
		prev = i
	}
	for range 20000 {
		v := rng.Uint64N(1 << maxBits)
		i := bucketOf(v)
		lo, width := bucketRange(i)
		require.True(t, lo <= v && v < lo+width, "value %d in bucket %d [%d, %d)", v, i, lo, lo+width)
		require.LessOrEqual(t, width, max(1, v/subBucketCount), "value %d: bucket width %d", v, width)
	}
	assert.Equal(t, bucketCount-2, bucketOf(1<<maxBits-1))
	assert.Equal(t, bucketCount-1, bucketOf(1<<maxBits))
	assert.Equal(t, bucketCount-1, bucketOf(1<<63))
}

func TestHistogramHugeAndNegative(t *testing.T) {
	var h Histogram
	h.Record(-time.Second)
	h.Record(100 * time.Hour)
	assert.Equal(t, time.Duration(0), h.Quantile(0.5))
	assert.Equal(t, 100*time.Hour, h.Quantile(1))
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all Histogram
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 5000 {
		v := time.Duration(rng.Int64N(int64(time.Second)))
		all.Record(v)
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var merged Histogram
	merged.Merge(&a)
	merged.Merge(&b)
	merged.Merge(&Histogram{})
	assert.Equal(t, all, merged)
	merged.Reset()
	assert.Zero(t, merged.Count())
}

func TestHistogramRecordAllocatesNothing(t *testing.T) {
	h := new(Histogram)
	d := time.Duration(1)
	allocs := testing.AllocsPerRun(1000, func() {
		h.Record(d)
		d = d*3 + 7
	})
	assert.Zero(t, allocs)
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	d := time.Duration(1)
	for b.Loop() {
		h.Record(d)
		d = (d*3 + 7) & (1<<30 - 1)
	}
}
