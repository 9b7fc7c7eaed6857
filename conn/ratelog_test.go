package conn

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

func TestRefusalLog(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := newRefusalLog(10 * time.Second)

	line, ok := r.note(t0, "bad-cookie", "127.0.0.1:5555", "cookie mismatch")
	require.True(t, ok, "the first refusal is logged at once")
	assert.Equal(t, "refused connection from 127.0.0.1:5555: bad-cookie: cookie mismatch", line)

	// A flood within the interval writes nothing ...
	for i := range 8700 {
		_, ok := r.note(t0.Add(time.Duration(i)*time.Millisecond), "bad-cookie", "127.0.0.1:5555", "cookie mismatch")
		require.False(t, ok)
	}
	for range 12 {
		_, ok := r.note(t0.Add(9*time.Second), "silent", "127.0.0.1:6000", "")
		require.False(t, ok)
	}
	at, pending := r.due()
	assert.True(t, pending)
	assert.Equal(t, t0.Add(10*time.Second), at)
	_, ok = r.flush(t0.Add(9*time.Second), false)
	assert.False(t, ok, "not due before the interval has passed")

	// ... until the interval has passed: then one line sums it up.
	line, ok = r.flush(t0.Add(10*time.Second), false)
	require.True(t, ok)
	assert.Equal(t, "refused 8712 connections in the last 10s: bad-cookie 8700 (last from 127.0.0.1:5555: cookie mismatch), silent 12 (last from 127.0.0.1:6000)", line)
	_, pending = r.due()
	assert.False(t, pending)

	// Within the next interval refusals are counted again; one arriving
	// after it has passed brings the summary with it.
	_, ok = r.note(t0.Add(12*time.Second), "tls", "10.0.0.1:1", "bad certificate")
	assert.False(t, ok)
	line, ok = r.note(t0.Add(21*time.Second), "tls", "10.0.0.2:1", "bad certificate")
	require.True(t, ok)
	assert.Equal(t, "refused 2 connections in the last 11s: tls 2 (last from 10.0.0.2:1: bad certificate)", line)

	// After a quiet interval the next refusal is logged at once again.
	line, ok = r.note(t0.Add(40*time.Second), "version", "10.0.0.3:1", "")
	require.True(t, ok)
	assert.Equal(t, "refused connection from 10.0.0.3:1: version", line)

	assert.Equal(t, map[string]uint64{"bad-cookie": 8701, "silent": 12, "tls": 2, "version": 1}, r.snapshot())
}

func TestRefusalLogForcedFlush(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := newRefusalLog(time.Minute)
	_, ok := r.flush(t0, true)
	assert.False(t, ok, "nothing counted, nothing to write")
	r.note(t0, "silent", "a", "")
	r.note(t0.Add(time.Second), "silent", "b", "")
	line, ok := r.flush(t0.Add(2*time.Second), true)
	require.True(t, ok)
	assert.Equal(t, "refused 1 connections in the last 2s: silent 1 (last from b)", line)
}

func TestRateLogTimerSumsUpABurst(t *testing.T) {
	hsLeakCheck(t)
	buf := &testnet.SyncBuffer{}
	l := newRateLog(slog.New(slog.NewTextHandler(buf, nil)), 100*time.Millisecond)
	for range 50 {
		l.refuse("bad-cookie", "127.0.0.1:1", "cookie\nmismatch")
	}
	assert.Equal(t, 1, strings.Count(buf.String(), "\n"), "one line at once")
	assert.Contains(t, buf.String(), "cookie mismatch", "the detail is cleaned of control characters")
	require.Eventually(t, func() bool { return strings.Count(buf.String(), "\n") == 2 }, 2*time.Second, 10*time.Millisecond,
		"the timer writes the summary although no refusal follows")
	assert.Contains(t, buf.String(), "refused 49 connections in the last")
	l.refuse("silent", "127.0.0.1:2", "")
	l.refuse("silent", "127.0.0.1:3", "")
	l.close()
	out := buf.String()
	// Both came within the interval after the summary: close sums them up.
	assert.Equal(t, 3, strings.Count(out, "\n"), "close writes what is still counted:\n%s", out)
	assert.Contains(t, out, "refused 2 connections in the last")
	assert.Contains(t, out, "silent 2 (last from 127.0.0.1:3)")
	assert.Equal(t, map[string]uint64{"bad-cookie": 50, "silent": 2}, l.stats())
}
