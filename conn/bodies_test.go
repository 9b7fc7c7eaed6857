package conn

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBodyClass: every size in the pooled range maps to a class that holds
// it, wastes at most an eighth, and whose size maps back to itself; the
// classes of neighbouring sizes never share an index with a different size.
func TestBodyClass(t *testing.T) {
	seen := map[int]int{} // index -> size
	check := func(n int) {
		idx, size, ok := bodyClass(n)
		require.True(t, ok, "bodyClass(%d) not pooled", n)
		require.False(t, size < n || float64(size-n) > float64(n)/8, "bodyClass(%d) = size %d: too small or wastes more than 1/8", n, size)
		if s, dup := seen[idx]; dup {
			require.Equal(t, s, size, "index %d holds sizes %d and %d", idx, s, size)
		}
		seen[idx] = size
		idx2, size2, _ := bodyClass(size)
		require.Equal(t, idx, idx2, "class size %d of %d maps to (%d, %d), want (%d, %d)", size, n, idx2, size2, idx, size)
		require.Equal(t, size, size2, "class size %d of %d maps to (%d, %d), want (%d, %d)", size, n, idx2, size2, idx, size)
		require.False(t, idx < 0 || idx >= len(bodyPools), "bodyClass(%d) index %d out of the %d pools", n, idx, len(bodyPools))
	}
	for n := minBody; n <= maxBody; n += 1 + n/37 {
		check(n)
	}
	for shift := 13; shift <= 28; shift++ {
		check(1 << shift)
		if shift < 28 {
			check(1<<shift + 1)
		}
		if shift > 13 {
			check(1<<shift - 1)
		}
	}
	for _, n := range []int{0, minBody - 1, maxBody + 1} {
		_, _, ok := bodyClass(n)
		assert.False(t, ok, "bodyClass(%d) pooled, want not", n)
	}
}

// TestReleaseBodyReuses: a body given back is what the next body of its
// class is read into; a slice that is not one of ours is ignored.
func TestReleaseBodyReuses(t *testing.T) {
	// sync.Pool may drop what it is given (it does so at random under the
	// race detector), so try a few times.
	reused := false
	for i := 0; i < 50 && !reused; i++ {
		b := append(newBody(100<<10), 1)
		ReleaseBody(b)
		got := newBody(100<<10 - 1)
		require.Empty(t, got, "newBody: len %d cap %d, want 0 and the class size %d", len(got), cap(got), cap(b))
		require.Equal(t, cap(b), cap(got), "newBody: len %d cap %d, want 0 and the class size %d", len(got), cap(got), cap(b))
		reused = &got[:1][0] == &b[0]
	}
	require.True(t, reused, "a body given back with ReleaseBody was never read into again")
	ReleaseBody(make([]byte, 12345)) // not a class size: dropped, no panic
	ReleaseBody(nil)
}
