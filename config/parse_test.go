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
		"cluster.name = later\n" +
		"cluster.k8s.suffix = \"\"\n" +
		"node.tls.cacertfile = x = y\n"
	entries, err := Parse(strings.NewReader(src), "test.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Entry{
		"node.name":           {"node.name", "n1@127.0.0.1", "test.conf", 5},
		"cluster.name":        {"cluster.name", "later", "test.conf", 12},
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
		{"a = b\n" + strings.Repeat("x", maxLine+10) + "\n", "test.conf:2: line longer than 1048576 bytes"},
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
		if _, ok := keyIndex[key]; !ok {
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
