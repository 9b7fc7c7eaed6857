package baseline

import (
	"slices"
	"time"
)

// Percentile returns the q-th percentile (0 <= q < 100) of lat, which it
// sorts: the element at index len*q/100, as package conn's benchmarks and
// ekka_bench.erl pick it. It returns 0 for no samples.
func Percentile(lat []time.Duration, q int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	if !slices.IsSorted(lat) {
		slices.Sort(lat)
	}
	return lat[min(len(lat)-1, len(lat)*q/100)]
}

// Micros returns d in microseconds, with fractions.
func Micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
