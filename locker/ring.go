package locker

import (
	"hash/fnv"
	"slices"
	"sort"
)

// ringPoints is how many points each member has on the ring, so that
// resources spread evenly over few members.
const ringPoints = 16

// Ring is a consistent-hash ring of member names. It is a pure value:
// every node that builds it from the same names assigns every resource to
// the same members, and adding or removing one member moves only the
// resources next to its points.
type Ring struct {
	points []ringPoint
	names  []string
}

type ringPoint struct {
	hash uint64
	name string
}

// NewRing builds the ring of the given member names (duplicates ignored).
func NewRing(names []string) *Ring {
	r := &Ring{names: slices.Compact(slices.Sorted(slices.Values(names)))}
	for _, n := range r.names {
		for i := range ringPoints {
			r.points = append(r.points, ringPoint{hash: hash64(n, uint64(i)), name: n})
		}
	}
	slices.SortFunc(r.points, func(a, b ringPoint) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	return r
}

// Len is the number of members on the ring.
func (r *Ring) Len() int { return len(r.names) }

// QuorumSize is how many members a quorum lock asks, ekka's rule:
// min(3, n/2+1) of n members.
func QuorumSize(n int) int {
	if n <= 0 {
		return 0
	}
	return min(3, n/2+1)
}

// Nodes returns the k distinct members that follow resource's hash on the
// ring, in ring order (all members when k >= Len).
func (r *Ring) Nodes(resource string, k int) []string {
	k = min(k, len(r.names))
	if k <= 0 {
		return nil
	}
	h := hash64(resource, 0)
	start := sort.Search(len(r.points), func(i int) bool { return r.points[i].hash >= h })
	out := make([]string, 0, k)
	for i := 0; len(out) < k; i++ {
		p := r.points[(start+i)%len(r.points)]
		if !slices.Contains(out, p.name) {
			out = append(out, p.name)
		}
	}
	return out
}

// hash64 hashes s with a salt: FNV-1a, then a 64-bit finaliser
// (splitmix64) so that similar names land far apart.
func hash64(s string, salt uint64) uint64 {
	f := fnv.New64a()
	f.Write([]byte(s))
	x := f.Sum64() ^ (salt * 0x9e3779b97f4a7c15)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
