package mesh_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

// tagsOf returns the entry node on has for member.
func tagsOf(c *meshtest.Cluster, on int, member string) mesh.MemberInfo {
	for _, m := range c.Node(on).Info().Members {
		if m.Node == member {
			return m
		}
	}
	return mesh.MemberInfo{}
}

// waitTags waits until every running node of c sees want as member's tags.
func waitTags(t *testing.T, ctx context.Context, c *meshtest.Cluster, member string, want map[string]string) {
	t.Helper()
	for i := range c.Len() {
		require.NoError(t, c.Until(ctx, c.Name(i)+" to see the tags of "+member, func() string {
			if m := tagsOf(c, i, member); !maps.Equal(m.Tags, want) {
				return fmt.Sprintf("%s with tags %q", m.Status, mesh.TagFilter(m.Tags))
			}
			return ""
		}))
	}
}

// TestTagsSpreadChangeAndSelect: tags set in Config reach every member,
// a change at run time reaches them with a tags-changed event, and a filter
// selects the running members that carry it, for Select and MulticallTagged.
func TestTagsSpreadChangeAndSelect(t *testing.T) {
	tags := []map[string]string{{"role": "db", "zone": "eu-1"}, {"role": "web", "zone": "eu-1"}, nil}
	c := meshtest.Formed(t, 3, func(i int, cfg *mesh.Config) { cfg.Tags = tags[i] })
	ctx := testnet.Context(t, 20*time.Second)
	for i := range 3 {
		waitTags(t, ctx, c, c.Name(i), tags[i])
		require.Equal(t, tags[i], c.Node(i).Tags(), "Tags() of %s", c.Name(i))
		require.NoError(t, c.Node(i).Handle("who", func(context.Context, string, []byte) ([]byte, error) {
			return []byte(c.Name(i)), nil
		}))
	}

	eu1, err := mesh.ParseTagFilter("zone=eu-1")
	require.NoError(t, err)
	require.Equal(t, c.Names(0, 1), c.Node(2).Select(eu1))
	db, err := mesh.ParseTagFilter("role=db,zone=eu-1")
	require.NoError(t, err)
	require.Equal(t, c.Names(0), c.Node(2).Select(db))
	require.Equal(t, c.Names(), c.Node(2).Select(mesh.TagFilter{}), "the empty filter selects every running member")

	res := c.Node(2).MulticallTagged(ctx, eu1, "who", nil)
	require.Empty(t, res.Failed)
	require.Equal(t, map[string][]byte{c.Name(0): []byte(c.Name(0)), c.Name(1): []byte(c.Name(1))}, res.Replies)
	none := c.Node(2).MulticallTagged(ctx, mesh.TagFilter{"zone": "us-1"}, "who", nil)
	require.Empty(t, none.Replies, "a filter nobody matches calls nobody (not every member)")
	require.Empty(t, none.Failed)

	// A change at run time: every member hears it, with an event.
	sub := c.Node(1).Subscribe()
	defer sub.Close()
	self := c.Node(0).Subscribe()
	defer self.Close()
	moved := map[string]string{"role": "db", "zone": "eu-2"}
	require.NoError(t, c.Node(0).SetTags(ctx, moved))
	ev := nextEvent(t, sub, mesh.EventTagsChanged, c.Name(0), 10*time.Second)
	require.Equal(t, "tags role=db,zone=eu-2", ev.Reason)
	ev = nextEvent(t, self, mesh.EventTagsChanged, c.Name(0), 10*time.Second)
	require.Equal(t, "tags role=db,zone=eu-2", ev.Reason, "the node's own change is an event too")
	waitTags(t, ctx, c, c.Name(0), moved)
	require.Equal(t, c.Names(1), c.Node(2).Select(eu1))

	// Clearing them is a change too.
	require.NoError(t, c.Node(0).SetTags(ctx, nil))
	ev = nextEvent(t, sub, mesh.EventTagsChanged, c.Name(0), 10*time.Second)
	require.Equal(t, "tags cleared", ev.Reason)
	waitTags(t, ctx, c, c.Name(0), nil)
	require.Empty(t, c.Node(2).Select(db))
	require.NotNil(t, c.Node(2).Select(db), "Select is never nil: Multicall(nil) would mean every member")
}

// TestSetTagsRefusesBadTags: a bad key, value or count is refused with
// what was wrong and what is wanted, and changes nothing.
func TestSetTagsRefusesBadTags(t *testing.T) {
	c := meshtest.Started(t, 1, func(_ int, cfg *mesh.Config) { cfg.Tags = map[string]string{"role": "db"} })
	ctx := testnet.Context(t, 10*time.Second)
	many := map[string]string{}
	for i := range mesh.MaxTags + 1 {
		many[string(rune('a'+i%26))+string(rune('a'+i/26))] = "x"
	}
	for tags, want := range map[*map[string]string]string{
		{"": "x"}:         `mesh: SetTags: tag key "" is 0 bytes long, want 1..64`,
		{"ro le": "x"}:    `tag key "ro le": byte 3 (' ') is not allowed, want only A-Z a-z 0-9 _ . -`,
		{"zone": "eu,us"}: `tag zone: value "eu,us": byte 3 (',') is not allowed, want printable ASCII without spaces or commas`,
		{"zone": "eu 1"}:  `byte 3 (' ') is not allowed`,
		&many:             "33 tags, want at most 32",
	} {
		require.ErrorContains(t, c.Node(0).SetTags(ctx, *tags), want)
	}
	require.Equal(t, map[string]string{"role": "db"}, c.Node(0).Tags())
}

// TestRestartDropsOldTags: a member that restarts loses the tags its
// earlier incarnation set at run time; it carries its configured ones
// (here none) once it is back.
func TestRestartDropsOldTags(t *testing.T) {
	c := meshtest.Formed(t, 2, nil)
	ctx := testnet.Context(t, 30*time.Second)
	require.NoError(t, c.Node(1).SetTags(ctx, map[string]string{"role": "cache"}))
	waitTags(t, ctx, c, c.Name(1), map[string]string{"role": "cache"})
	old := c.Node(1).GUID()
	require.NoError(t, c.Restart(ctx, 1))
	require.NoError(t, c.Until(ctx, c.Name(0)+" to see the restarted "+c.Name(1)+" up without tags", func() string {
		for _, m := range c.Node(0).Members() {
			if m.Node == c.Name(1) && (m.GUID == old || m.Status != mesh.StatusUp || m.Tags != nil) {
				return m.Status.String() + " " + mesh.TagFilter(m.Tags).String()
			}
		}
		return ""
	}))
	require.Empty(t, c.Node(0).Select(mesh.TagFilter{"role": "cache"}))
}

func TestParseTagFilter(t *testing.T) {
	f, err := mesh.ParseTagFilter("zone=eu-1,role=db,empty=")
	require.NoError(t, err)
	require.Equal(t, mesh.TagFilter{"role": "db", "zone": "eu-1", "empty": ""}, f)
	require.Equal(t, "empty=,role=db,zone=eu-1", f.String())
	require.True(t, f.Match(map[string]string{"role": "db", "zone": "eu-1", "empty": "", "other": "x"}))
	require.False(t, f.Match(map[string]string{"role": "db", "zone": "eu-1"}), "a missing key does not match an empty value")
	require.False(t, f.Match(map[string]string{"role": "db", "zone": "eu-2", "empty": ""}))
	all, err := mesh.ParseTagFilter("")
	require.NoError(t, err)
	require.True(t, all.Match(nil))
	for s, want := range map[string]string{
		"role":           `mesh: tag filter "role": "role" has no '=', want key=value pairs separated by commas, such as role=db,zone=eu-1`,
		"role=db,role=x": `key "role" appears twice`,
		"role=db,":       `"" has no '='`,
		"=db":            `tag key "" is 0 bytes long`,
		"role=d b":       `byte 2 (' ') is not allowed`,
	} {
		_, err := mesh.ParseTagFilter(s)
		require.ErrorContains(t, err, want, "ParseTagFilter(%q)", s)
	}
}

// TestTagsBuiltin: $ekka.tags reads a node's tags and, with "set",
// replaces them; the members hear the change; bad tags are refused with
// the reason.
func TestTagsBuiltin(t *testing.T) {
	c := meshtest.Formed(t, 2, func(i int, cfg *mesh.Config) {
		if i == 1 {
			cfg.Tags = map[string]string{"role": "db"}
		}
	})
	ctx := testnet.Context(t, 20*time.Second)
	call := func(req string) (mesh.TagsReply, error) {
		var rep mesh.TagsReply
		b, err := c.Node(0).Call(ctx, c.Name(1), mesh.MethodTags, []byte(req))
		if err == nil {
			require.NoError(t, json.Unmarshal(b, &rep), "reply %s", b)
		}
		return rep, err
	}
	rep, err := call("")
	require.NoError(t, err)
	require.Equal(t, mesh.TagsReply{Node: c.Name(1), Tags: map[string]string{"role": "db"}}, rep)
	rep, err = call(`{"action":"set","tags":{"role":"cache","zone":"eu-1"}}`)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"role": "cache", "zone": "eu-1"}, rep.Tags)
	waitTags(t, ctx, c, c.Name(1), map[string]string{"role": "cache", "zone": "eu-1"})
	rep, err = call(`{"action":"set"}`)
	require.NoError(t, err)
	require.Equal(t, map[string]string{}, rep.Tags, "set without tags clears them")
	_, err = call(`{"action":"set","tags":{"zone":"eu 1"}}`)
	require.ErrorContains(t, err, `tag zone: value "eu 1": byte 3 (' ') is not allowed`)
	_, err = call(`{"action":"drop"}`)
	require.ErrorContains(t, err, `bad request: "action" "drop", want get or set`)
	_, err = call(`[1]`)
	require.ErrorContains(t, err, "bad request: ")
}

// TestTagsChangedDuringAPartition: a member that was cut off while a node
// cleared its tags learns the empty set when the link comes back.
func TestTagsChangedDuringAPartition(t *testing.T) {
	c := meshtest.Formed(t, 2, func(i int, cfg *mesh.Config) {
		if i == 1 {
			cfg.Tags = map[string]string{"role": "db"}
		}
	})
	ctx := testnet.Context(t, 30*time.Second)
	waitTags(t, ctx, c, c.Name(1), map[string]string{"role": "db"})
	sub := c.Node(0).Subscribe()
	defer sub.Close()
	c.Cut(0, 1)
	nextEvent(t, sub, mesh.EventNodeDown, c.Name(1), 20*time.Second)
	require.NoError(t, c.Node(1).SetTags(ctx, nil))
	c.HealAll()
	require.NoError(t, c.WaitRunning(ctx), "the link back after the cut")
	waitTags(t, ctx, c, c.Name(1), nil)
	ev := nextEvent(t, sub, mesh.EventTagsChanged, c.Name(1), 10*time.Second)
	require.Equal(t, "tags cleared", ev.Reason)
	require.Empty(t, c.Node(0).Select(mesh.TagFilter{"role": "db"}))
}
