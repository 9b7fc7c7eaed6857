package mesh

import (
	"strings"
	"testing"
)

// TestVersionInTable: a member's version is taken only from its current,
// linked incarnation and dropped when it restarts, like its services.
func TestVersionInTable(t *testing.T) {
	tb := newMemberTable(selfName, testGUID(1), t0)
	tb.merge([]MemberInfo{{Node: "a@h", GUID: testGUID(5), Status: StatusUp}}, at(0))
	if tb.setVersion("a@h", testGUID(5), "v1") {
		t.Fatal("version taken for a member never linked")
	}
	tb.observeUp("a@h", testGUID(5), at(1))
	if tb.setVersion("a@h", testGUID(6), "v1") {
		t.Fatal("version taken for another incarnation")
	}
	if !tb.setVersion("a@h", testGUID(5), "v1") || tb.setVersion("a@h", testGUID(5), "v1") {
		t.Fatal("the linked member's version not taken once")
	}
	if m, _ := tb.get("a@h"); m.Version != "v1" {
		t.Fatalf("Version = %q, want v1", m.Version)
	}
	tb.observeDown("a@h", at(2))
	tb.observeUp("a@h", testGUID(7), at(3))
	if m, _ := tb.get("a@h"); m.Version != "" {
		t.Fatalf("version after a restart = %q; want none until it tells", m.Version)
	}
	if !tb.setVersion(selfName, testGUID(1), "v2") {
		t.Fatal("self's version not taken")
	}
}

func TestCheckVersion(t *testing.T) {
	for _, ok := range []string{"", "v1.2.3", "devel-0123456789ab-dirty", "(devel)", strings.Repeat("x", MaxVersionLen)} {
		if err := checkVersion(ok); err != nil {
			t.Errorf("checkVersion(%q) = %v, want nil", ok, err)
		}
	}
	for bad, want := range map[string]string{
		strings.Repeat("x", MaxVersionLen+1): "65 bytes long, want at most 64",
		"v1 beta":                            `byte 3 (' ') is not allowed`,
		"v1\n":                               `byte 3 ('\n') is not allowed`,
		"v1\x1b[31m":                         `byte 3 ('\x1b')`,
		"vé":                                 "byte 2",
	} {
		if err := checkVersion(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkVersion(%q) = %v, want an error containing %q", bad, err, want)
		}
	}
	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.Version = "v@127.0.0.1", "cookie", "two words"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "mesh config: Version: version \"two words\"") {
		t.Errorf("Validate with a bad Version = %v", err)
	}
}
