package mesh

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewGUIDIsTimeOrderedAndStrictlyIncreasing(t *testing.T) {
	before := time.Now().Truncate(time.Microsecond)
	g := NewGUID()
	require.False(t, g.IsZero(), "NewGUID returned the zero GUID")
	d := g.Time().Sub(before)
	require.False(t, d < 0 || d > time.Minute, "GUID time %v is %v after the call started; want about now", g.Time(), d)
	prev := g
	for range 10000 {
		next := NewGUID()
		require.Positive(t, next.Compare(prev), "NewGUID %s after %s: want strictly increasing", next, prev)
		prev = next
	}
}

func TestNewGUIDSameMicrosecond(t *testing.T) {
	var src guidSource
	now := time.Now()
	a := src.next(now)
	b := src.next(now)
	c := src.next(now.Add(-time.Second)) // a clock that steps back
	require.True(t, a.Compare(b) < 0 && b.Compare(c) < 0, "GUIDs made in one microsecond: %s, %s, %s; want strictly increasing", a, b, c)
	require.True(t, a.Time().Equal(now.Truncate(time.Microsecond)), "first GUID time %v; want %v", a.Time(), now.Truncate(time.Microsecond))
	require.Equal(t, time.Microsecond, b.Time().Sub(a.Time()), "second GUID time %v; want one microsecond after %v", b.Time(), a.Time())
}

func TestNewGUIDConcurrentUnique(t *testing.T) {
	const workers, each = 4, 2000
	var mu sync.Mutex
	var all []GUID
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			local := make([]GUID, 0, each)
			for range each {
				g := NewGUID()
				if n := len(local); n > 0 {
					assert.Positive(t, g.Compare(local[n-1]), "GUID %s after %s in one goroutine", g, local[n-1])
				}
				local = append(local, g)
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(all, GUID.Compare)
	for i := 1; i < len(all); i++ {
		require.NotEqual(t, all[i-1], all[i], "duplicate GUID %s", all[i])
	}
}

func TestGUIDTextRoundTrip(t *testing.T) {
	g := NewGUID()
	s := g.String()
	require.Len(t, s, 33, "String = %q; want 16 hex, '-', 16 hex, lower case", s)
	require.Equal(t, byte('-'), s[16], "String = %q; want 16 hex, '-', 16 hex, lower case", s)
	require.Equal(t, strings.ToLower(s), s, "String = %q; want 16 hex, '-', 16 hex, lower case", s)
	for _, text := range []string{s, strings.Replace(s, "-", "", 1), strings.ToUpper(s)} {
		p, err := ParseGUID(text)
		require.NoError(t, err, "ParseGUID(%q)", text)
		require.Equal(t, g, p, "ParseGUID(%q)", text)
	}
	require.Equal(t, "0000000000000000-0000000000000000", (GUID{}).String(), "zero GUID String")
}

func TestParseGUIDRejectsBadText(t *testing.T) {
	for _, s := range []string{
		"", "0", "0000000000000000-000000000000000", "0000000000000000_0000000000000000",
		"000000000000000g-0000000000000000", "0000000000000000-00000000000000000",
		"00000000000000000000000000000000x", "zz000000000000000000000000000000",
	} {
		_, err := ParseGUID(s)
		assert.ErrorContains(t, err, "GUID", "ParseGUID(%q) error = %v; want an error naming the GUID", s, err)
	}
}

func TestGUIDJSON(t *testing.T) {
	g := NewGUID()
	b, err := json.Marshal(struct{ G GUID }{g})
	require.NoError(t, err)
	require.Equal(t, `{"G":"`+g.String()+`"}`, string(b), "JSON")
	var back struct{ G GUID }
	require.NoError(t, json.Unmarshal(b, &back), "round trip")
	require.Equal(t, g, back.G, "round trip")
	back.G = g
	require.NoError(t, json.Unmarshal([]byte(`{"G":""}`), &back), `""`)
	require.True(t, back.G.IsZero(), `"" = %s; want the zero GUID`, back.G)
	require.Error(t, json.Unmarshal([]byte(`{"G":"nope"}`), &back), "bad GUID text unmarshalled without error")
}

func TestOlderThan(t *testing.T) {
	var zero GUID
	var src guidSource
	old := src.next(time.Unix(1000, 0))
	young := src.next(time.Unix(2000, 0))
	tests := []struct {
		a, b GUID
		want bool
	}{
		{old, young, true},
		{young, old, false},
		{old, old, false},
		{old, zero, true},
		{young, zero, true},
		{zero, old, false},
		{zero, zero, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, OlderThan(tt.a, tt.b), "OlderThan(%s, %s)", tt.a, tt.b)
	}
	assert.Equal(t, -1, old.Compare(young), "Compare does not follow time order")
	assert.Equal(t, 1, young.Compare(old), "Compare does not follow time order")
	assert.Equal(t, 0, old.Compare(old), "Compare does not follow time order")
}

func FuzzParseGUID(f *testing.F) {
	f.Add("0000000000000000-0000000000000000")
	f.Add(NewGUID().String())
	f.Add("x")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseGUID(s)
		if err != nil {
			return
		}
		back, err := ParseGUID(g.String())
		require.NoError(t, err, "ParseGUID(%q) = %s does not round trip", s, g)
		require.Equal(t, g, back, "ParseGUID(%q) = %s does not round trip", s, g)
	})
}
