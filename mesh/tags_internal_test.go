package mesh

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// TestTagsInTable: a member's tags are taken only from its current, linked
// incarnation, dropped when it restarts, and every snapshot holds its own
// copy.
func TestTagsInTable(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.merge([]MemberInfo{{Node: "a@h", GUID: testGUID(5), Status: StatusUp}}, at(0))
	db := map[string]string{"role": "db"}
	require.False(t, tb.setTags("a@h", testGUID(5), db), "tags taken for a member never linked")
	tb.observeUp("a@h", testGUID(5), at(1))
	require.False(t, tb.setTags("a@h", testGUID(6), db), "tags taken for another incarnation")
	require.True(t, tb.setTags("a@h", testGUID(5), db), "the linked member's tags not taken")
	require.False(t, tb.setTags("a@h", testGUID(5), map[string]string{"role": "db"}), "the same tags reported as a change")
	snap := tb.snapshot()
	snap[0].Tags["role"] = "changed by a caller"
	m, _ := tb.get("a@h")
	require.Equal(t, db, m.Tags, "a caller's change to a snapshot reached the table")
	tb.observeDown("a@h", at(2))
	tb.observeUp("a@h", testGUID(7), at(3))
	m, _ = tb.get("a@h")
	require.Nil(t, m.Tags, "tags after a restart; want none until it tells")
	require.True(t, tb.setTags(selfName, testGUID(1), db), "self's tags not taken")
	require.True(t, tb.setTags(selfName, testGUID(1), map[string]string{}), "clearing self's tags is not a change")
	m, _ = tb.get(selfName)
	require.Nil(t, m.Tags)
}

// TestParseTagsFromAPeer: a peer's tag set is refused whole when it repeats
// a key, carries too many tags or a bad key or value.
func TestParseTagsFromAPeer(t *testing.T) {
	tag := func(k, v string) wire.Tag { return wire.Tag{Key: []byte(k), Value: []byte(v)} }
	got, err := parseTags([]wire.Tag{tag("zone", "eu-1"), tag("role", "db")})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"role": "db", "zone": "eu-1"}, got)
	_, err = parseTags([]wire.Tag{tag("role", "db"), tag("role", "web")})
	require.ErrorContains(t, err, `tag key "role" appears twice`)
	_, err = parseTags(make([]wire.Tag, MaxTags+1))
	require.ErrorContains(t, err, "33 tags, want at most 32")
	_, err = parseTags([]wire.Tag{tag("role", "\x1b[31m")})
	require.ErrorContains(t, err, `byte 1 ('\x1b') is not allowed`)
}

func TestConfigTagsAreValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.Tags = "v@127.0.0.1", "cookie", map[string]string{"zone": "eu 1"}
	require.ErrorContains(t, cfg.Validate(), `mesh config: Tags: tag zone: value "eu 1": byte 3 (' ') is not allowed`)
	cfg.Tags = map[string]string{"zone": "eu-1"}
	require.NoError(t, cfg.Validate())
}
