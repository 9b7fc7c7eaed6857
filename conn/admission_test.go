package conn

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// admStep is one event fed to admission in a table test.
type admStep struct {
	op   string // "open addr", "spoke n", "hello n", "pending n", "done n", "lane n peer link", "linkdone peer link"
	want []string
}

// evName renders an eviction as the test tables spell it: "hs3 addr-limit"
// or "link b/1 conn-limit".
func evName(e eviction) string {
	if e.hs != 0 {
		return fmt.Sprintf("hs%d %s", e.hs, e.reason)
	}
	return fmt.Sprintf("link %s/%d %s", e.link.name, e.link.linkID, e.reason)
}

func runAdmission(t *testing.T, lim admissionLimits, steps []admStep) *admission {
	t.Helper()
	a := newAdmission(lim)
	pend := map[uint64]bool{} // handshakes with unread bytes
	for i, s := range steps {
		var ev []eviction
		var op, arg string
		var n uint64
		fmt.Sscan(s.op, &op)
		switch op {
		case "open":
			fmt.Sscanf(s.op, "open %s", &arg)
			var id uint64
			id, ev = a.open(arg, func(id uint64) bool { return pend[id] })
			require.Equal(t, a.next, id, "step %d: ids count up", i)
		case "hello":
			fmt.Sscanf(s.op, "hello %d", &n)
			a.hello(n)
		case "spoke":
			fmt.Sscanf(s.op, "spoke %d", &n)
			a.spoke(n)
		case "pending":
			fmt.Sscanf(s.op, "pending %d", &n)
			pend[n] = true
		case "done":
			fmt.Sscanf(s.op, "done %d", &n)
			a.done(n)
		case "lane":
			var peer string
			var link uint64
			fmt.Sscanf(s.op, "lane %d %s %d", &n, &peer, &link)
			ok, e := a.lane(n, linkKey{peer, link})
			require.True(t, ok, "step %d: handshake %d is known", i, n)
			ev = e
		case "linkdone":
			var peer string
			var link uint64
			fmt.Sscanf(s.op, "linkdone %s %d", &peer, &link)
			a.linkDone(linkKey{peer, link})
		default:
			t.Fatalf("step %d: unknown op %q", i, s.op)
		}
		var got []string
		for _, e := range ev {
			got = append(got, evName(e))
		}
		assert.Equal(t, s.want, got, "step %d (%s)", i, s.op)
	}
	return a
}

func TestAdmissionEvictsOldestLowestStage(t *testing.T) {
	lim := admissionLimits{conns: 100, handshakes: 3, perAddr: 100, linksPerPeer: 4}
	cases := []struct {
		name  string
		steps []admStep
	}{
		{"under the cap nothing goes", []admStep{
			{"open 10.0.0.1", nil}, {"open 10.0.0.2", nil}, {"open 10.0.0.3", nil},
		}},
		{"the oldest idle goes, not the newcomer", []admStep{
			{"open 10.0.0.1", nil}, {"open 10.0.0.2", nil}, {"open 10.0.0.3", nil},
			{"open 10.0.0.4", []string{"hs1 handshake-limit"}},
			{"open 10.0.0.5", []string{"hs2 handshake-limit"}},
		}},
		{"a handshake past its Hello outlives idle ones", []admStep{
			{"open 10.0.0.1", nil}, {"hello 1", nil}, {"open 10.0.0.2", nil}, {"open 10.0.0.3", nil},
			{"open 10.0.0.4", []string{"hs2 handshake-limit"}},
			{"open 10.0.0.5", []string{"hs3 handshake-limit"}},
			{"open 10.0.0.6", []string{"hs4 handshake-limit"}},
		}},
		{"a slow sender outlives idle ones, not a handshake past Hello", []admStep{
			{"open a", nil}, {"hello 1", nil}, {"open b", nil}, {"spoke 2", nil}, {"open c", nil},
			{"open d", []string{"hs3 handshake-limit"}},
			{"open e", []string{"hs4 handshake-limit"}},
			{"spoke 5", nil},
			{"open f", []string{"hs2 handshake-limit"}},
			{"open g", []string{"hs6 handshake-limit"}},
		}},
		{"an idle handshake with unread bytes is promoted, not evicted", []admStep{
			{"open a", nil}, {"open b", nil}, {"open c", nil}, {"pending 1", nil},
			{"open d", []string{"hs2 handshake-limit"}},
			{"open e", []string{"hs3 handshake-limit"}},
			{"open f", []string{"hs4 handshake-limit"}},
			// hs1 was promoted: now only the newest idle ones compete.
			{"pending 5", nil}, {"pending 6", nil},
			{"open g", []string{"hs1 handshake-limit"}},
		}},
		{"when all are past Hello the oldest of them goes", []admStep{
			{"open a", nil}, {"hello 1", nil}, {"open b", nil}, {"hello 2", nil}, {"open c", nil}, {"hello 3", nil},
			{"open d", []string{"hs1 handshake-limit"}},
		}},
		{"a finished handshake frees its slot", []admStep{
			{"open a", nil}, {"open b", nil}, {"open c", nil}, {"done 1", nil},
			{"open d", nil},
			{"open e", []string{"hs2 handshake-limit"}},
		}},
		{"hello twice or for an unknown id changes nothing", []admStep{
			{"open a", nil}, {"hello 1", nil}, {"hello 1", nil}, {"hello 99", nil}, {"done 99", nil},
			{"open b", nil}, {"open c", nil},
			{"open d", []string{"hs2 handshake-limit"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runAdmission(t, lim, tc.steps) })
	}
}

func TestAdmissionPerAddress(t *testing.T) {
	lim := admissionLimits{conns: 100, handshakes: 100, perAddr: 2, linksPerPeer: 4}
	a := runAdmission(t, lim, []admStep{
		{"open 10.0.0.1", nil},
		{"open 10.0.0.9", nil},
		{"open 10.0.0.1", nil},
		// The flooding address evicts its own oldest, never 10.0.0.9's.
		{"open 10.0.0.1", []string{"hs1 addr-limit"}},
		{"open 10.0.0.1", []string{"hs3 addr-limit"}},
		{"open 10.0.0.9", nil},
		{"open 10.0.0.9", []string{"hs2 addr-limit"}},
	})
	hs, _, conns := a.counts()
	assert.Equal(t, 4, hs)
	assert.Equal(t, 4, conns)
}

func TestAdmissionLinks(t *testing.T) {
	t.Run("a lane keeps its connection; a complete link frees them", func(t *testing.T) {
		lim := admissionLimits{conns: 4, handshakes: 100, perAddr: 100, linksPerPeer: 4}
		a := runAdmission(t, lim, []admStep{
			{"open a", nil}, {"hello 1", nil}, {"lane 1 p 7", nil},
			{"open a", nil}, {"hello 2", nil}, {"lane 2 p 7", nil},
			{"open a", nil}, {"open a", nil},
			// Four held: the new one pushes out the oldest handshake, not the link.
			{"open a", []string{"hs3 conn-limit"}},
			{"linkdone p 7", nil},
			{"open a", nil},
		})
		hs, links, conns := a.counts()
		assert.Equal(t, []int{3, 0, 3}, []int{hs, links, conns})
	})
	t.Run("with only links held the oldest link goes", func(t *testing.T) {
		lim := admissionLimits{conns: 3, handshakes: 100, perAddr: 100, linksPerPeer: 4}
		runAdmission(t, lim, []admStep{
			{"open a", nil}, {"lane 1 p 1", nil},
			{"open a", nil}, {"lane 2 p 1", nil},
			{"open a", nil}, {"lane 3 q 2", nil},
			{"open a", []string{"link p/1 conn-limit"}},
		})
	})
	t.Run("a peer name's incomplete links are capped", func(t *testing.T) {
		lim := admissionLimits{conns: 100, handshakes: 100, perAddr: 100, linksPerPeer: 2}
		a := runAdmission(t, lim, []admStep{
			{"open a", nil}, {"lane 1 p 1", nil},
			{"open a", nil}, {"lane 2 q 1", nil},
			{"open a", nil}, {"lane 3 p 2", nil},
			{"open a", nil}, {"lane 4 p 2", nil}, // a second lane of a known link adds no link
			{"open a", nil}, {"lane 5 p 3", []string{"link p/1 peer-link-limit"}},
		})
		hs, links, conns := a.counts()
		assert.Equal(t, []int{0, 3, 4}, []int{hs, links, conns})
	})
	t.Run("an evicted handshake cannot become a lane", func(t *testing.T) {
		a := newAdmission(admissionLimits{conns: 100, handshakes: 1, perAddr: 100, linksPerPeer: 4})
		id, _ := a.open("a", nil)
		_, ev := a.open("a", nil)
		require.Len(t, ev, 1)
		ok, _ := a.lane(id, linkKey{"p", 1})
		assert.False(t, ok)
		assert.False(t, a.done(id), "done reports an evicted handshake as unknown")
		assert.False(t, a.linkDone(linkKey{"p", 1}))
	})
}

// An idle flood far above every limit never evicts a handshake past its
// Hello, and the counts stay within the limits.
func TestAdmissionIdleFlood(t *testing.T) {
	lim := admissionLimits{conns: 300, handshakes: 256, perAddr: 64, linksPerPeer: 4}
	a := newAdmission(lim)
	good, _ := a.open("127.0.0.1", nil)
	a.hello(good)
	for range 10000 {
		_, ev := a.open("127.0.0.1", nil)
		for _, e := range ev {
			require.NotEqual(t, good, e.hs, "the handshake past its Hello was evicted")
		}
		hs, _, conns := a.counts()
		require.LessOrEqual(t, hs, lim.perAddr)
		require.LessOrEqual(t, conns, lim.conns)
	}
	ok, _ := a.lane(good, linkKey{"n@h", 1})
	assert.True(t, ok)
}

func TestDefaultListenerConns(t *testing.T) {
	for _, tc := range []struct {
		nofile uint64
		want   int
	}{
		{0, 1024}, {100, 64}, {1024, 256}, {20000, 5000}, {1 << 20, 16384},
	} {
		assert.Equal(t, tc.want, defaultListenerConns(tc.nofile), "RLIMIT_NOFILE %d", tc.nofile)
	}
}

func TestCookieWeakness(t *testing.T) {
	assert.Contains(t, cookieWeakness("secret"), "6 bytes long")
	assert.Contains(t, cookieWeakness("aaaaaaaaaaaaaaaaaaaaaaaa"), "only 1 distinct")
	assert.Empty(t, cookieWeakness("9f86d081884c7d659a2feaa0c55ad015"))
}
