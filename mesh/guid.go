package mesh

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"
)

// GUID identifies one incarnation (one start) of a node. The first 8 bytes
// are the start time in Unix microseconds, big-endian; the last 8 are random.
// Byte order is therefore time order: the oldest node has the smallest GUID
// and a restarted node is the youngest. The zero GUID means "unknown".
type GUID [16]byte

// guidTextLen is the length of the text form: 16 hex digits of time, a dash,
// 16 hex digits of randomness.
const guidTextLen = 33

// guidSource makes strictly increasing GUIDs; it remembers the time part of
// the last one.
type guidSource struct {
	lastMicros atomic.Uint64
}

// processGUIDs serves NewGUID.
var processGUIDs guidSource

// NewGUID returns a fresh GUID for the current time. GUIDs made by one
// process are strictly increasing, even when two are made within the same
// microsecond: the time part then moves one microsecond past the last one.
func NewGUID() GUID {
	return processGUIDs.next(time.Now())
}

func (src *guidSource) next(now time.Time) GUID {
	micros := uint64(max(now.UnixMicro(), 0))
	for {
		last := src.lastMicros.Load()
		next := max(micros, last+1)
		if src.lastMicros.CompareAndSwap(last, next) {
			micros = next
			break
		}
	}
	var g GUID
	binary.BigEndian.PutUint64(g[:8], micros)
	_, _ = rand.Read(g[8:]) // crypto/rand.Read never returns an error
	return g
}

// String returns the text form: the time part and the random part as 16 lower
// case hex digits each, joined by a dash, e.g. 00062f1a2b3c4d5e-9f8e7d6c5b4a3928.
// The time part first keeps the text sortable like the GUID itself.
func (g GUID) String() string {
	var b [guidTextLen]byte
	hex.Encode(b[:16], g[:8])
	b[16] = '-'
	hex.Encode(b[17:], g[8:])
	return string(b[:])
}

// ParseGUID parses the text form written by String. It also accepts the 32
// hex digits without the dash.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	var digits string
	switch {
	case len(s) == guidTextLen && s[16] == '-':
		digits = s[:16] + s[17:]
	case len(s) == 2*len(g):
		digits = s
	default:
		return GUID{}, fmt.Errorf("mesh: GUID %q: want 16 hex digits, a dash and 16 hex digits (or 32 hex digits)", s)
	}
	if _, err := hex.Decode(g[:], []byte(digits)); err != nil {
		return GUID{}, fmt.Errorf("mesh: GUID %q: want hex digits: %w", s, err)
	}
	return g, nil
}

// Compare returns -1, 0 or +1 as g sorts before, equal to or after o in byte
// (and therefore time) order. The zero GUID sorts first here; use OlderThan
// for the "unknown sorts last" rule.
func (g GUID) Compare(o GUID) int { return bytes.Compare(g[:], o[:]) }

// IsZero reports whether g is the zero (unknown) GUID.
func (g GUID) IsZero() bool { return g == GUID{} }

// Time returns the start time recorded in g.
func (g GUID) Time() time.Time {
	return time.UnixMicro(int64(binary.BigEndian.Uint64(g[:8])))
}

// MarshalText implements encoding.TextMarshaler with the String form, so JSON
// shows the GUID as a string.
func (g GUID) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. Empty text is the zero
// GUID.
func (g *GUID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*g = GUID{}
		return nil
	}
	p, err := ParseGUID(string(b))
	if err != nil {
		return err
	}
	*g = p
	return nil
}

// OlderThan reports whether a is older than b: a sorts before b, where the
// zero (unknown) GUID sorts after every known one. Two zero GUIDs are equal,
// so neither is older.
func OlderThan(a, b GUID) bool {
	switch {
	case a.IsZero():
		return false
	case b.IsZero():
		return true
	}
	return a.Compare(b) < 0
}
