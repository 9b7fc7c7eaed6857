package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSyntax(t *testing.T) {
	src := "\uFEFF## a comment\n" +
		"# another comment\n" +
		"\n" +
		"   \t\n" +
		"node.name = n1@127.0.0.1   \n" +
		"  cluster.name=plain\r\n" +
		"node.cookie = \"  spaced # not a comment  \"  \n" +
		"node.tls.certfile = \"C:\\certs\\a.pem\"\n" +
		"node.tls.keyfile = \"say \\\"hi\\\" \\\\ there\"\n" +
		"cluster.dns.name = a#b\n" +
		"node.bind =\n" +
		"## a comment line\n" +
		"cluster.k8s.suffix = \"\"\n" +
		"node.tls.cacertfile = x = y"
	entries, err := Parse(strings.NewReader(src), "test.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Entry{
		"node.name":           {"node.name", "n1@127.0.0.1", "test.conf", 5},
		"cluster.name":        {"cluster.name", "plain", "test.conf", 6},
		"node.cookie":         {"node.cookie", "  spaced # not a comment  ", "test.conf", 7},
		"node.tls.certfile":   {"node.tls.certfile", `C:\certs\a.pem`, "test.conf", 8},
		"node.tls.keyfile":    {"node.tls.keyfile", `say "hi" \ there`, "test.conf", 9},
		"cluster.dns.name":    {"cluster.dns.name", "a#b", "test.conf", 10},
		"node.bind":           {"node.bind", "", "test.conf", 11},
		"cluster.k8s.suffix":  {"cluster.k8s.suffix", "", "test.conf", 13},
		"node.tls.cacertfile": {"node.tls.cacertfile", "x = y", "test.conf", 14},
	}
	if len(entries) != len(want) {
		t.Errorf("got %d entries, want %d: %+v", len(entries), len(want), entries)
	}
	for k, w := range want {
		if got := entries[k]; got != w {
			t.Errorf("entry %s = %+v, want %+v", k, got, w)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"node.name n1@h\n", `test.conf:1: malformed line "node.name n1@h": want key = value`},
		{"## ok\n\njust words\n", `test.conf:3: malformed line "just words": want key = value`},
		{"= value\n", `test.conf:1: malformed line "= value": no key before '='`},
		{"node name = x\n", `test.conf:1: malformed line "node name = x": key "node name" contains a blank or a quote; want key = value`},
		{"node.tls.certfile = \"open\n", `test.conf:1: node.tls.certfile = "\"open": missing closing double quote`},
		{"node.tls.certfile = \"a\" b\n", `test.conf:1: node.tls.certfile = "\"a\" b": text "b" after the closing quote; want nothing after it`},
		{"node.cookie = \"secret\n", `test.conf:1: node.cookie = (hidden): missing closing double quote`},
		{"a = b\n" + strings.Repeat("x", MaxLineBytes+10) + "\n", "test.conf:2: line longer than 16384 bytes (MaxLineBytes); want lines of at most 16384 bytes and values of at most 4096 bytes (MaxValueBytes)"},
		{"a = b\n" + "node.name = " + strings.Repeat("x", MaxLineBytes) + "\n", "test.conf:2: the line of node.name is longer than 16384 bytes (MaxLineBytes); want a value of at most 4096 bytes (MaxValueBytes)"},
		{"## " + strings.Repeat("x", MaxLineBytes) + "\n", "test.conf:1: comment line longer than 16384 bytes (MaxLineBytes); want lines of at most 16384 bytes and values of at most 4096 bytes (MaxValueBytes)"},
		{strings.Repeat("k", MaxKeyBytes+1) + " = v\n", "test.conf:1: key \"" + strings.Repeat("k", 129) + "\" is 129 bytes; want a key of at most 128 bytes, such as node.name"},
		{strings.Repeat("w", 600) + "\n", "test.conf:1: malformed line \"" + strings.Repeat("w", 64) + "\"... (600 bytes): want key = value"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.src), "test.conf")
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%.40q) error = %v\nwant %s", tt.src, err, tt.want)
			continue
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%.40q) error %v is not ErrSyntax", tt.src, err)
		}
	}
}

func TestParseFile(t *testing.T) {
	if _, err := ParseFile(filepath.Join(t.TempDir(), "missing.conf")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("ParseFile(missing) = %v; want a not-exist error naming the file", err)
	}
	entries, err := ParseFile("testdata/ekka-mesh.conf")
	if err != nil {
		t.Fatal(err)
	}
	if e := entries["node.name"]; e.File != "testdata/ekka-mesh.conf" || e.Line == 0 || e.Value != "emqx1@127.0.0.1" {
		t.Errorf("node.name entry = %+v", e)
	}
}

// TestExampleFileCoversEveryKey keeps testdata/ekka-mesh.conf and the package
// documentation complete: every key is set in the example, preceded by a ##
// comment, and listed in doc.go.
func TestExampleFileCoversEveryKey(t *testing.T) {
	data, err := os.ReadFile("testdata/ekka-mesh.conf")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	entries, err := ParseFile("testdata/ekka-mesh.conf")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		e, ok := entries[k.Key]
		if k.Family {
			s, err := Load("testdata/ekka-mesh.conf", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			keys := s.FamilyKeys(k.Key)
			if len(keys) == 0 {
				t.Errorf("testdata/ekka-mesh.conf sets no key of %s", k.Key)
				continue
			}
			e, ok = entries[keys[0]]
		}
		if !ok {
			t.Errorf("testdata/ekka-mesh.conf does not set %s", k.Key)
			continue
		}
		commented := false
		for i := e.Line - 2; i >= 0 && strings.TrimSpace(lines[i]) != ""; i-- {
			if strings.HasPrefix(lines[i], "##") {
				commented = true
				break
			}
		}
		if !commented {
			t.Errorf("testdata/ekka-mesh.conf:%d: %s has no ## comment above it", e.Line, k.Key)
		}
		if !strings.Contains(string(doc), "//\t"+k.Key+" ") {
			t.Errorf("doc.go does not list %s", k.Key)
		}
	}
	for key, e := range entries {
		if _, _, ok := lookupKey(key); !ok {
			t.Errorf("testdata/ekka-mesh.conf:%d: unknown key %s", e.Line, key)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("node.name = n1@h\n## c\ncluster.name = \"x \\\" y\"\n")
	f.Add("a = \"b")
	f.Add("= x\n")
	f.Fuzz(func(t *testing.T, src string) {
		entries, err := Parse(strings.NewReader(src), "fuzz")
		if err != nil {
			return
		}
		for k, e := range entries {
			if e.Key != k || k == "" || e.Line < 1 || e.File != "fuzz" {
				t.Fatalf("bad entry %+v for key %q", e, k)
			}
			s := Defaults()
			_ = s.Set(k, e.Value) // must not panic
		}
	})
}

// TestParseDuplicateKey: a key set on two lines is refused, naming the key
// and both lines; a secret's value stays hidden.
func TestParseDuplicateKey(t *testing.T) {
	tests := []struct {
		src, want string
	}{
		{"cluster.name = a\n## c\n\ncluster.name = b\n",
			"dup.conf:4: cluster.name = b: cluster.name is set twice, here and at dup.conf:1; want each key once: remove one of the two lines (a list takes all its items on one line, comma-separated)"},
		{"node.cookie = one\nnode.cookie = two\n",
			"dup.conf:2: node.cookie = (hidden): node.cookie is set twice, here and at dup.conf:1; want each key once: remove one of the two lines (a list takes all its items on one line, comma-separated)"},
		{"cluster.static.seeds = a1@h\n  cluster.static.seeds=\"a2@h\"\n",
			"dup.conf:2: cluster.static.seeds = a2@h: cluster.static.seeds is set twice, here and at dup.conf:1; want each key once: remove one of the two lines (a list takes all its items on one line, comma-separated)"},
		{"unknown.key = 1\nunknown.key = 1\n",
			"dup.conf:2: unknown.key = 1: unknown.key is set twice, here and at dup.conf:1; want each key once: remove one of the two lines (a list takes all its items on one line, comma-separated)"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.src), "dup.conf")
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v\nwant %s", tt.src, err, tt.want)
			continue
		}
		if !errors.Is(err, ErrDuplicateKey) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error %v is not ErrDuplicateKey and ErrSyntax", tt.src, err)
		}
	}
}

// TestParseLimits checks the line, value and file limits at their
// boundaries, and that the errors name the key, the file and the line
// without echoing a huge value.
func TestParseLimits(t *testing.T) {
	ok := func(src string) map[string]Entry {
		t.Helper()
		e, err := Parse(strings.NewReader(src), "lim.conf")
		if err != nil {
			t.Fatalf("Parse(%.60q... %d bytes): %v, want accepted", src, len(src), err)
		}
		return e
	}
	fails := func(src string, wants ...string) error {
		t.Helper()
		_, err := Parse(strings.NewReader(src), "lim.conf")
		if err == nil {
			t.Fatalf("Parse(%.60q... %d bytes) accepted, want an error", src, len(src))
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("Parse(%.60q... %d bytes) error %q does not say %q", src, len(src), err, w)
			}
		}
		if len(err.Error()) > 600 {
			t.Fatalf("error of %d bytes, want a short one: %.200s", len(err.Error()), err)
		}
		if !errors.Is(err, ErrSyntax) {
			t.Fatalf("error %v is not ErrSyntax", err)
		}
		return err
	}

	// Values: MaxValueBytes is fine, one more byte is not.
	v := strings.Repeat("v", MaxValueBytes)
	if e := ok("## x\nnode.tls.certfile = " + v + "\n"); e["node.tls.certfile"].Value != v {
		t.Fatal("a value of MaxValueBytes was not kept whole")
	}
	fails("## x\nnode.tls.certfile = "+v+"w\n", "lim.conf:2: node.tls.certfile = ", "(4097 bytes)", "the value is 4097 bytes; want at most 4096 bytes (MaxValueBytes)")
	// Quoted: the limit is on the value, not its escaped form.
	esc := `"` + strings.Repeat(`\"`, MaxValueBytes) + `"`
	if e := ok("node.tls.certfile = " + esc + "\n"); len(e["node.tls.certfile"].Value) != MaxValueBytes {
		t.Fatal("a quoted value of MaxValueBytes with every character escaped was refused or changed")
	}

	// The 70,000-character node name: the error names the key, the file and
	// the line, and shows only the start of the value.
	err := fails("cluster.name = c\nnode.name = "+strings.Repeat("n", 70000)+"@127.0.0.1\n",
		"lim.conf:2:", "node.name", "longer than 16384 bytes")
	if strings.Count(err.Error(), "n") > 200 {
		t.Fatalf("error echoes the huge name: %.300s", err)
	}
	// The same within the line limit: the value limit names it.
	fails("node.name = "+strings.Repeat("n", 5000)+"@127.0.0.1\n", "lim.conf:1: node.name = nnnn", "... (5010 bytes)", "want at most 4096 bytes")

	// Lines: MaxLineBytes counting the newline.
	comment := "#" + strings.Repeat("c", MaxLineBytes-2) + "\n"
	ok(comment + "a = b\n")
	fails("a = b\n#"+strings.Repeat("c", MaxLineBytes-1)+"\n", "lim.conf:2: comment line longer than 16384 bytes")

	// The whole input: MaxFileBytes.
	var b strings.Builder
	for b.Len() < MaxFileBytes-len(comment) {
		b.WriteString(comment)
	}
	b.WriteString(strings.Repeat("\n", MaxFileBytes-b.Len()))
	ok(b.String())
	b.WriteString("\n")
	fails(b.String(), "larger than 1048576 bytes (MaxFileBytes)")
}
