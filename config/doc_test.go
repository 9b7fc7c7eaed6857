package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/internal/configdoc"
)

// TestConfigDocCurrent fails when docs/CONFIG.md is not what the key table
// generates, so the page always says what the code does.
func TestConfigDocCurrent(t *testing.T) {
	path := filepath.Join("..", filepath.FromSlash(configdoc.Path))
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v: run go generate ./config", configdoc.Path, err)
	}
	want := configdoc.Markdown(config.Keys())
	if !bytes.Equal(got, want) {
		line, file, gen := firstDiff(got, want)
		t.Fatalf("docs/CONFIG.md is stale: run go generate ./config\nfirst difference at line %d:\n  file:      %q\n  generated: %q", line, file, gen)
	}
}

// TestConfigDocEveryKey checks the page has an entry for every key with its
// default and environment variable, so a bug in the generator cannot hide
// a key.
func TestConfigDocEveryKey(t *testing.T) {
	doc := string(configdoc.Markdown(config.Keys()))
	for _, k := range config.Keys() {
		entry := "\n### " + k.Key + "\n"
		i := strings.Index(doc, entry)
		if i < 0 {
			t.Errorf("no entry for %s", k.Key)
			continue
		}
		body := doc[i+len(entry):]
		if j := strings.Index(body, "\n#"); j >= 0 {
			body = body[:j]
		}
		def := "- default: empty"
		if k.Default != "" {
			def = "- default: `" + k.Default + "`"
		}
		for _, want := range []string{def, "`" + config.EnvName(k.Key) + "`"} {
			if !strings.Contains(body, want) {
				t.Errorf("entry of %s lacks %q:\n%s", k.Key, want, body)
			}
		}
	}
}

// firstDiff returns the first line where a and b differ, and that line of each.
func firstDiff(a, b []byte) (int, string, string) {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < max(len(la), len(lb)); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y || i >= len(la) || i >= len(lb) {
			return i + 1, x, y
		}
	}
	return 0, "", ""
}
