package etcd

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// FuzzNodeNames gives the code that reads a listing of the nodes' keys any
// keys etcd could return: one per line of the input, under the nodes prefix
// unless the line starts with '!' (a key a misbehaving server returns from
// elsewhere). What comes out must be sorted, unique node names that
// portmap accepts, each the tail of a listed key under the prefix, and
// every such tail that is a node name must come out.
func FuzzNodeNames(f *testing.F) {
	f.Add("n1@127.0.0.1\nn2@127.0.0.2\nn1@127.0.0.1")
	f.Add("emqx@10.0.0.1\ngarbage\n!n9@h\n/x@y\nx@y/z\na@b@c\n@h\nn@\n")
	f.Add("n 1@h\nn\x001@h\nné@h\nn1@h:4370\nn1@[::1]\nN1@HOST")
	f.Fuzz(func(t *testing.T, listing string) {
		e, err := New(Config{Name: "self@127.0.0.1", Cluster: "c1", Servers: []string{"http://127.0.0.1:2379"}})
		require.NoError(t, err)
		var kvs []*mvccpb.KeyValue
		tails := map[string]bool{}
		for line := range strings.SplitSeq(listing, "\n") {
			key := e.nodesPrefix + line
			if rest, ok := strings.CutPrefix(line, "!"); ok {
				key = rest
			}
			kvs = append(kvs, &mvccpb.KeyValue{Key: []byte(key), Value: []byte(line)})
			if tail, ok := strings.CutPrefix(key, e.nodesPrefix); ok {
				tails[tail] = true
			}
		}
		names := e.nodeNames(kvs)
		require.True(t, slices.IsSorted(names), "names %q: want them sorted", names)
		require.Len(t, slices.Compact(slices.Clone(names)), len(names), "names %q: want no duplicates", names)
		for _, n := range names {
			_, err := portmap.Parse(n)
			require.NoError(t, err, "%q came out as a node name, but it is not one", n)
			require.True(t, tails[n], "%q came out, but no key is %s%s", n, e.nodesPrefix, n)
		}
		for tail := range tails {
			if _, err := portmap.Parse(tail); err == nil {
				require.Contains(t, names, tail, "the key %s%s names a node, but it did not come out", e.nodesPrefix, tail)
			}
		}
	})
}
