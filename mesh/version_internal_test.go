package mesh

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersionInTable: a member's version is taken only from its current,
// linked incarnation and dropped when it restarts, like its services.
func TestVersionInTable(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.merge([]MemberInfo{{Node: "a@h", GUID: testGUID(5), Status: StatusUp}}, at(0))
	require.False(t, tb.setVersion("a@h", testGUID(5), "v1"), "version taken for a member never linked")
	tb.observeUp("a@h", testGUID(5), at(1))
	require.False(t, tb.setVersion("a@h", testGUID(6), "v1"), "version taken for another incarnation")
	require.True(t, tb.setVersion("a@h", testGUID(5), "v1"), "the linked member's version not taken once")
	require.False(t, tb.setVersion("a@h", testGUID(5), "v1"), "the linked member's version not taken once")
	m, _ := tb.get("a@h")
	require.Equal(t, "v1", m.Version)
	tb.observeDown("a@h", at(2))
	tb.observeUp("a@h", testGUID(7), at(3))
	m, _ = tb.get("a@h")
	require.Empty(t, m.Version, "version after a restart = %q; want none until it tells", m.Version)
	require.True(t, tb.setVersion(selfName, testGUID(1), "v2"), "self's version not taken")
}

func TestCheckVersion(t *testing.T) {
	for _, ok := range []string{"", "v1.2.3", "devel-0123456789ab-dirty", "(devel)", strings.Repeat("x", MaxVersionLen)} {
		assert.NoError(t, checkVersion(ok), "checkVersion(%q)", ok)
	}
	for bad, want := range map[string]string{
		strings.Repeat("x", MaxVersionLen+1): "65 bytes long, want at most 64",
		"v1 beta":                            `byte 3 (' ') is not allowed`,
		"v1\n":                               `byte 3 ('\n') is not allowed`,
		"v1\x1b[31m":                         `byte 3 ('\x1b')`,
		"vé":                                 "byte 2",
	} {
		assert.ErrorContains(t, checkVersion(bad), want, "checkVersion(%q)", bad)
	}
	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.Version = "v@127.0.0.1", "cookie", "two words"
	assert.ErrorContains(t, cfg.Validate(), "mesh config: Version: version \"two words\"", "Validate with a bad Version")
}
