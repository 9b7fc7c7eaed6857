package load

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, after HdrHistogram: values below
// 2^subBucketBits nanoseconds have a bucket each; above, every power of two
// is cut into 2^subBucketBits equal buckets, so a bucket is never wider than
// 1/64 of its values (a quantile is off by at most 1.6 %). Values from
// 2^maxBits ns (about 18 minutes) up count in the last bucket.
const (
	subBucketBits  = 6
	subBucketCount = 1 << subBucketBits
	maxBits        = 40
	// Buckets: the linear ones, subBucketCount per shift from 0 to
	// maxBits-subBucketBits-1, and one for everything larger.
	bucketCount = (maxBits-subBucketBits+1)*subBucketCount + 1
)

// Histogram records durations in a fixed array of log-linear buckets:
// Record allocates nothing and takes a few nanoseconds, and histograms of
// several workers merge by adding their buckets. The zero value is empty
// and ready to use. A Histogram is not safe for concurrent use: give each
// goroutine its own and Merge them afterwards.
type Histogram struct {
	counts   [bucketCount]uint64
	total    uint64
	min, max uint64 // in nanoseconds; min is valid when total > 0
}

// bucketOf returns the bucket index of v nanoseconds.
func bucketOf(v uint64) int {
	if v < subBucketCount {
		return int(v)
	}
	if v >= 1<<maxBits {
		return bucketCount - 1
	}
	// shift puts v's top subBucketBits+1 bits in [64, 128).
	shift := bits.Len64(v) - subBucketBits - 1
	return (shift+1)*subBucketCount + int(v>>shift) - subBucketCount
}

// bucketRange returns the smallest value of bucket i and its width.
func bucketRange(i int) (lo, width uint64) {
	if i < subBucketCount {
		return uint64(i), 1
	}
	shift := i/subBucketCount - 1
	sub := uint64(i%subBucketCount + subBucketCount)
	return sub << shift, 1 << shift
}

// Record adds one duration; negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count returns how many values were recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Min returns the smallest value recorded (0 when empty).
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max returns the largest value recorded (0 when empty).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the value below which a fraction q (0 to 1) of the
// recorded values fall: the middle of the bucket holding the value of rank
// ceil(q*count), kept within the smallest and largest values recorded (the
// largest for values beyond the last bucket, 2^40 ns). It
// returns 0 when h is empty; q is clamped to [0, 1].
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	if math.IsNaN(q) {
		q = 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			if i == bucketCount-1 {
				return time.Duration(h.max) // the bucket has no upper bound
			}
			lo, width := bucketRange(i)
			v := lo + width/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
