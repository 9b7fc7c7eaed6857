package conn

import (
	"math/bits"
	"sync"
)

// Bodies of ownedThreshold bytes or more are read into buffers of their own
// (see Handler). A handler that is done with such a body can give it back
// with ReleaseBody, and the next large body of about that size is read into
// the same memory: no allocation, no zeroing, no page faults for fresh
// memory, and no garbage to collect. Receiving 64 KiB messages, those cost
// a Go process more than the copy from the socket.
//
// Buffers come in size classes of eight steps per power of two (at most
// 12.5 % unused), each class a sync.Pool, so what is pooled goes back to
// the heap after a garbage collection or two when nobody asks for it.

const (
	minBody    = ownedThreshold    // the smallest body read into a buffer of its own
	maxBody    = DefaultMaxMessage // the largest message
	baseShift  = 12                // classes start above 1<<baseShift
	classSteps = 8
)

var bodyPools [(28 - baseShift) * classSteps]sync.Pool // 28: maxBody is 1<<28

// bodyClass returns the pool index and the capacity of the class that
// holds n bytes; ok is false for sizes outside the pooled range.
func bodyClass(n int) (idx, size int, ok bool) {
	if n < minBody || n > maxBody {
		return 0, 0, false
	}
	k := bits.Len(uint(n - 1)) // 1<<(k-1) < n <= 1<<k
	base := 1 << (k - 1)
	step := base / classSteps
	j := (n - base + step - 1) / step // 1..classSteps
	return (k-1-baseShift)*classSteps + j - 1, base + j*step, true
}

// newBody returns an empty buffer with room for n bytes, from the pool
// when one was given back.
func newBody(n int) []byte {
	idx, size, ok := bodyClass(n)
	if !ok {
		return make([]byte, 0, n)
	}
	if p, _ := bodyPools[idx].Get().(*[]byte); p != nil {
		return (*p)[:0]
	}
	return make([]byte, 0, size)
}

// ReleaseBody gives back a body a Handler received with owned true, once
// nothing refers to it any more; the connection reads a later body into it.
// Calling it is optional (a body not given back is garbage collected), and
// it must be called at most once per body: the memory is reused.
func ReleaseBody(b []byte) {
	idx, size, ok := bodyClass(cap(b))
	if !ok || size != cap(b) {
		return // not one of ours
	}
	b = b[:0]
	bodyPools[idx].Put(&b)
}
