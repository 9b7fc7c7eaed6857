package mesh

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackoffGrowsAndCaps(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 2 * time.Second, Factor: 2}
	want := []time.Duration{100, 200, 400, 800, 1600, 2000, 2000}
	for i, w := range want {
		assert.Equal(t, w*time.Millisecond, b.Delay(i, nil), "attempt %d", i)
	}
	for _, attempt := range []int{64, 1000, math.MaxInt} {
		assert.Equal(t, b.Max, b.Delay(attempt, nil), "attempt %d; want Max", attempt)
	}
	assert.Equal(t, b.Min, b.Delay(-5, nil), "negative attempt; want Min")
}

func TestBackoffJitterBounds(t *testing.T) {
	rnds := []float64{0, 0.25, 0.5, 0.999999, 1, -1, 2, math.NaN()}
	for _, jitter := range []float64{0, 0.1, 0.5, 1, -3, 7, math.NaN()} {
		b := Backoff{Min: 50 * time.Millisecond, Max: 3 * time.Second, Factor: 1.5, Jitter: jitter}
		j := jitter
		switch {
		case math.IsNaN(j) || j < 0:
			j = 0
		case j > 1:
			j = 1
		}
		for attempt := range 30 {
			base := math.Min(float64(b.Min)*math.Pow(1.5, float64(attempt)), float64(b.Max))
			lo := time.Duration(base * (1 - j))
			for _, r := range rnds {
				got := b.Delay(attempt, func() float64 { return r })
				require.False(t, got < 0 || got > b.Max || got < lo-1 || float64(got) > base+1,
					"jitter %v attempt %d rnd %v: %v; want within [%v, %v]", jitter, attempt, r, got, lo, time.Duration(base))
			}
			lowest := b.Delay(attempt, func() float64 { return 0 })
			require.False(t, lowest > lo+1 || lowest < lo-1, "jitter %v attempt %d: rnd 0 gives %v; want %v", jitter, attempt, lowest, lo)
		}
	}
}

func TestBackoffOddConfigs(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
		at   int
		want time.Duration
	}{
		{"zero value", Backoff{}, 3, 0},
		{"negative min", Backoff{Min: -time.Second, Max: time.Second}, 0, 0},
		{"max below min", Backoff{Min: time.Second, Max: time.Millisecond}, 5, time.Second},
		{"factor zero means 2", Backoff{Min: time.Millisecond, Max: time.Hour}, 3, 8 * time.Millisecond},
		{"factor below 1 means 2", Backoff{Min: time.Millisecond, Max: time.Hour, Factor: 0.5}, 1, 2 * time.Millisecond},
		{"factor NaN means 2", Backoff{Min: time.Millisecond, Max: time.Hour, Factor: math.NaN()}, 1, 2 * time.Millisecond},
		{"factor inf means 2", Backoff{Min: time.Millisecond, Max: time.Hour, Factor: math.Inf(1)}, 1, 2 * time.Millisecond},
		{"factor 1 is constant", Backoff{Min: time.Millisecond, Max: time.Hour, Factor: 1}, 50, time.Millisecond},
		{"huge max", Backoff{Min: time.Second, Max: math.MaxInt64, Factor: 10}, 100, math.MaxInt64},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.b.Delay(tt.at, nil), tt.name)
	}
}

func TestDefaultBackoff(t *testing.T) {
	b := DefaultBackoff()
	first := b.Delay(0, func() float64 { return 0 })
	assert.False(t, first < 50*time.Millisecond || first > 100*time.Millisecond, "first delay %v; want 50..100 ms", first)
	last := b.Delay(100, func() float64 { return 0.99 })
	assert.False(t, last > b.Max || last < b.Max/2, "late delay %v; want near Max %v", last, b.Max)
}
