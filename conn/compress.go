package conn

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/s2"
)

// Compression says when a link compresses what it sends (S2). It is offered
// in the handshake unless it is CompressOff, and used only on a link where
// both sides offer it.
type Compression uint8

const (
	// CompressAuto compresses a message only where it pays: the link, not the
	// CPU, is what limits the lane (its writes drain slower than the
	// compressor runs), and messages of that kind shrink enough. On loopback
	// and a fast LAN it sends everything as it is. The zero value.
	CompressAuto Compression = iota
	// CompressOff never compresses, and does not offer compression.
	CompressOff
	// CompressOn compresses every message of CompressThreshold bytes or
	// more that shrinks, whatever the link.
	CompressOn
)

func (c Compression) String() string {
	switch c {
	case CompressAuto:
		return "auto"
	case CompressOff:
		return "off"
	case CompressOn:
		return "on"
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// ParseCompression parses off, on or auto.
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "auto":
		return CompressAuto, nil
	case "off":
		return CompressOff, nil
	case "on":
		return CompressOn, nil
	}
	return 0, fmt.Errorf("compression %q: want off, on or auto", s)
}

// The auto policy. A lane measures how fast its socket drains while it is
// being written (drainMeter); the compressor measures, per kind of message
// (the method, for calls and casts), how much a message shrinks and how fast
// it compresses (classStats). Compressing pays when the time it saves on the
// link exceeds what it costs in CPU on both ends:
//
//	size/link > size/speed*costFactor + ratio*size/link
//	<=> link < speed*(1-ratio)/costFactor
//
// costFactor counts the compressor twice over, for the receiver's decoding
// and for the core the compressor takes from the rest of the process.
const (
	costFactor = 2.0
	// worthRatio: a kind of message that shrinks less than this is sent as it is.
	worthRatio = 0.9
	// sampleEvery is how often a kind of message is compressed to refresh its
	// figures, even while the policy sends it as it is.
	sampleEvery = time.Second
	// meterMinWrite is the smallest write the drain meter times: smaller
	// writes say little about the link and would cost a clock read each.
	meterMinWrite = 16 << 10
	// meterWindow is how much write time the meter sums before it updates
	// its rate.
	meterWindow = 20 * time.Millisecond
	// defaultSpeed is the compressor speed assumed before any measure (bytes/s).
	defaultSpeed = 1e9
	// maxWorthDrain: a lane that drains this fast (4 Gbit/s) is never
	// compressed, whatever the figures say. Between two processes on one
	// machine the socket drains at 2-3 GB/s and the receiver's CPU is what
	// limits it; a compressor that looks fast enough on the sender's side
	// would still cost the receiver its decoding (S2 decodes long runs of one
	// byte at well under 1 GB/s). Real links of 1 Gbit/s and less stay far
	// below it.
	maxWorthDrain = 500e6
	// maxClasses bounds the per-kind figures a link keeps.
	maxClasses = 256
)

// compressWorth is the pure decision: whether a message of a kind that
// shrinks to ratio of its size, at speed bytes/s of compressor, should be
// compressed on a link draining drain bytes/s (0: not measured yet).
func compressWorth(drain, speed, ratio float64) bool {
	if !slowEnough(drain) || ratio >= worthRatio {
		return false
	}
	return drain < speed*(1-ratio)/costFactor
}

// slowEnough reports whether compressing could ever pay on a lane that
// drains drain bytes/s: it was measured, and is under maxWorthDrain.
func slowEnough(drain float64) bool { return drain > 0 && drain < maxWorthDrain }

// drainMeter estimates a lane's drain rate: bytes written per second of time
// spent in write calls, over windows of meterWindow. A write that finds room
// in the socket buffer returns at memory speed; once the buffer is full,
// writes take as long as the link needs to drain it. Only the lane's owner
// writes, so only rate is shared.
type drainMeter struct {
	bytes int64
	nanos int64
	rate  atomic.Uint64 // bytes per second; 0 until the first window closes
}

func (m *drainMeter) observe(n int, d time.Duration) {
	m.bytes += int64(n)
	m.nanos += int64(d)
	if m.nanos < int64(meterWindow) {
		return
	}
	r := float64(m.bytes) / (float64(m.nanos) / 1e9)
	if old := m.rate.Load(); old != 0 {
		r = (r + float64(old)) / 2
	}
	m.rate.Store(uint64(r))
	m.bytes, m.nanos = 0, 0
}

func (m *drainMeter) drain() float64 { return float64(m.rate.Load()) }

// classStats is what the compressor learned about one kind of message.
type classStats struct {
	ratio   float64 // compressed size / size, moving average
	speed   float64 // bytes/s of input, moving average
	sampled time.Time
}

// compressor holds a link's per-kind figures and its encode buffers.
type compressor struct {
	mode      Compression
	threshold int

	mu      sync.Mutex
	classes map[string]*classStats
	speed   float64 // over every kind, for kinds not sampled yet
}

func newCompressor(mode Compression, threshold int) *compressor {
	return &compressor{mode: mode, threshold: max(threshold, 64), classes: make(map[string]*classStats), speed: defaultSpeed}
}

// plan says whether to compress a message of size bytes of kind class on a
// lane draining drain bytes/s. sample is true when the message should be
// compressed to learn its kind's figures even though it may go as it is.
func (z *compressor) plan(class string, size int, drain float64, now time.Time) (compress, sample bool) {
	if size < z.threshold {
		return false, false
	}
	switch z.mode {
	case CompressOn:
		return true, false
	case CompressOff:
		return false, false
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	st := z.classes[class]
	if st == nil {
		// Worth learning about only where even a perfect ratio could pay.
		if !compressWorth(drain, z.speed, 0) {
			return false, false
		}
		return false, true
	}
	// Sampled again every sampleEvery even when its figures say compressing
	// cannot pay: a compression the scheduler paused looks slow, and one such
	// sample must not shut the kind out for good. On a lane slow enough to
	// get here, one message a second costs well under a millisecond.
	if now.Sub(st.sampled) >= sampleEvery && slowEnough(drain) {
		return false, true
	}
	return compressWorth(drain, st.speed, st.ratio), false
}

// worth says whether, by what is known of class now, compressing pays.
func (z *compressor) worth(class string, drain float64) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	st := z.classes[class]
	return st != nil && compressWorth(drain, st.speed, st.ratio)
}

// learn records that size bytes of class compressed to enc bytes in d.
func (z *compressor) learn(class string, size, enc int, d time.Duration, now time.Time) {
	if z.mode != CompressAuto {
		return
	}
	ratio := float64(enc) / float64(size)
	speed := float64(size) / max(d.Seconds(), 1e-9)
	z.mu.Lock()
	defer z.mu.Unlock()
	st := z.classes[class]
	if st == nil {
		if len(z.classes) >= maxClasses {
			clear(z.classes) // a bounded table; kinds in use are learned again
		}
		st = &classStats{ratio: ratio, speed: speed}
		z.classes[class] = st
	} else {
		st.ratio = (st.ratio + ratio) / 2
		st.speed = (st.speed + speed) / 2
	}
	st.sampled = now
	z.speed = (z.speed + speed) / 2
}

// encBuf pools compression buffers: a compressed body lives only until the
// lane has taken it.
var encBuf sync.Pool

// encode compresses head+payload into a pooled buffer and returns it; the
// caller gives it back with putBuf once the lane has taken the frame.
func encode(head, payload []byte) *[]byte {
	src := payload
	var joined *[]byte
	if len(head) > 0 {
		joined = getBuf(len(head) + len(payload))
		src = append(append((*joined)[:0], head...), payload...)
	}
	dst := getBuf(s2.MaxEncodedLen(len(src)))
	*dst = s2.Encode((*dst)[:cap(*dst)], src)
	if joined != nil {
		*joined = src
		putBuf(joined)
	}
	return dst
}

func getBuf(n int) *[]byte {
	if p, ok := encBuf.Get().(*[]byte); ok && cap(*p) >= n {
		return p
	}
	b := make([]byte, n)
	return &b
}

func putBuf(p *[]byte) {
	if cap(*p) > maxRetainedBuffer*4 {
		return
	}
	encBuf.Put(p)
}
