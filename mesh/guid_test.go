package mesh

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewGUIDIsTimeOrderedAndStrictlyIncreasing(t *testing.T) {
	before := time.Now().Truncate(time.Microsecond)
	g := NewGUID()
	if g.IsZero() {
		t.Fatal("NewGUID returned the zero GUID")
	}
	if d := g.Time().Sub(before); d < 0 || d > time.Minute {
		t.Fatalf("GUID time %v is %v after the call started; want about now", g.Time(), d)
	}
	prev := g
	for range 10000 {
		next := NewGUID()
		if next.Compare(prev) <= 0 {
			t.Fatalf("NewGUID %s after %s: want strictly increasing", next, prev)
		}
		prev = next
	}
}

func TestNewGUIDSameMicrosecond(t *testing.T) {
	var src guidSource
	now := time.Now()
	a := src.next(now)
	b := src.next(now)
	c := src.next(now.Add(-time.Second)) // a clock that steps back
	if !(a.Compare(b) < 0 && b.Compare(c) < 0) {
		t.Fatalf("GUIDs made in one microsecond: %s, %s, %s; want strictly increasing", a, b, c)
	}
	if !a.Time().Equal(now.Truncate(time.Microsecond)) {
		t.Fatalf("first GUID time %v; want %v", a.Time(), now.Truncate(time.Microsecond))
	}
	if b.Time().Sub(a.Time()) != time.Microsecond {
		t.Fatalf("second GUID time %v; want one microsecond after %v", b.Time(), a.Time())
	}
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
				if n := len(local); n > 0 && g.Compare(local[n-1]) <= 0 {
					t.Errorf("GUID %s after %s in one goroutine", g, local[n-1])
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
		if all[i] == all[i-1] {
			t.Fatalf("duplicate GUID %s", all[i])
		}
	}
}

func TestGUIDTextRoundTrip(t *testing.T) {
	g := NewGUID()
	s := g.String()
	if len(s) != 33 || s[16] != '-' || strings.ToLower(s) != s {
		t.Fatalf("String = %q; want 16 hex, '-', 16 hex, lower case", s)
	}
	for _, text := range []string{s, strings.Replace(s, "-", "", 1), strings.ToUpper(s)} {
		p, err := ParseGUID(text)
		if err != nil || p != g {
			t.Fatalf("ParseGUID(%q) = %s, %v; want %s", text, p, err, g)
		}
	}
	if z := (GUID{}).String(); z != "0000000000000000-0000000000000000" {
		t.Fatalf("zero GUID String = %q", z)
	}
}

func TestParseGUIDRejectsBadText(t *testing.T) {
	for _, s := range []string{
		"", "0", "0000000000000000-000000000000000", "0000000000000000_0000000000000000",
		"000000000000000g-0000000000000000", "0000000000000000-00000000000000000",
		"00000000000000000000000000000000x", "zz000000000000000000000000000000",
	} {
		if _, err := ParseGUID(s); err == nil || !strings.Contains(err.Error(), "GUID") {
			t.Errorf("ParseGUID(%q) error = %v; want an error naming the GUID", s, err)
		}
	}
}

func TestGUIDJSON(t *testing.T) {
	g := NewGUID()
	b, err := json.Marshal(struct{ G GUID }{g})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"G":"` + g.String() + `"}`; string(b) != want {
		t.Fatalf("JSON = %s; want %s", b, want)
	}
	var back struct{ G GUID }
	if err := json.Unmarshal(b, &back); err != nil || back.G != g {
		t.Fatalf("round trip = %s, %v; want %s", back.G, err, g)
	}
	back.G = g
	if err := json.Unmarshal([]byte(`{"G":""}`), &back); err != nil || !back.G.IsZero() {
		t.Fatalf(`"" = %s, %v; want the zero GUID`, back.G, err)
	}
	if err := json.Unmarshal([]byte(`{"G":"nope"}`), &back); err == nil {
		t.Fatal("bad GUID text unmarshalled without error")
	}
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
		if got := OlderThan(tt.a, tt.b); got != tt.want {
			t.Errorf("OlderThan(%s, %s) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
	if old.Compare(young) != -1 || young.Compare(old) != 1 || old.Compare(old) != 0 {
		t.Error("Compare does not follow time order")
	}
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
		if err != nil || back != g {
			t.Fatalf("ParseGUID(%q) = %s does not round trip: %s, %v", s, g, back, err)
		}
	})
}
