package lockcheck

import (
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestCheckAcceptsExclusiveHistories(t *testing.T) {
	for name, ok := range map[string][]Hold{
		"empty":            nil,
		"one hold":         {{"a", 7, at(0), at(10)}},
		"back to back":     {{"a", 1, at(0), at(10)}, {"b", 2, at(10), at(20)}, {"a", 5, at(30), at(31)}},
		"recorded unorder": {{"a", 5, at(30), at(31)}, {"a", 1, at(0), at(10)}, {"b", 2, at(10), at(20)}},
		"gaps in tokens":   {{"a", 10, at(0), at(1)}, {"b", 1000, at(2), at(3)}},
	} {
		if err := Check(ok); err != nil {
			t.Errorf("%s: a good history was refused: %v", name, err)
		}
	}
}

func TestCheckFindsViolations(t *testing.T) {
	for name, c := range map[string]struct {
		holds []Hold
		says  string
	}{
		"overlap":        {[]Hold{{"a", 1, at(0), at(10)}, {"b", 2, at(5), at(20)}}, "mutual exclusion broken: a held token 1 until"},
		"token reversed": {[]Hold{{"a", 2, at(0), at(10)}, {"b", 1, at(20), at(30)}}, "mutual exclusion broken: b held token 1"},
		"same token":     {[]Hold{{"a", 1, at(0), at(10)}, {"b", 1, at(20), at(30)}}, "share the token 1"},
		"one inside":     {[]Hold{{"a", 1, at(0), at(100)}, {"b", 2, at(20), at(30)}, {"c", 3, at(200), at(300)}}, "b held token 2 from"},
	} {
		err := Check(c.holds)
		if err == nil {
			t.Errorf("%s: the checker accepted %+v", name, c.holds)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %q, want it to say %q", name, err, c.says)
		}
	}
}

func TestHistoryAddSkipsEmptyHolds(t *testing.T) {
	var h History
	h.Add(Hold{"never", 1, at(10), at(10)}) // lease ended as the acquire returned
	h.Add(Hold{"late", 2, at(10), at(5)})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { h.Add(Hold{"w", uint64(10 + i), at(i * 10), at(i*10 + 5)}) })
	}
	wg.Wait()
	if h.Len() != 50 {
		t.Fatalf("%d holds recorded, want the 50 that were held", h.Len())
	}
	hs := h.Holds()
	hs[0].Owner = "changed"
	if h.Holds()[0].Owner == "changed" {
		t.Fatal("Holds returned the history's own slice, want a copy")
	}
	if err := Check(h.Holds()); err != nil {
		t.Fatal(err)
	}
}
