package doccheck

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the directory of go.mod above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = parent
	}
}

// markdownFiles lists the Markdown files of the repository, skipping what
// the go tool skips too (directories starting with '.' or '_', testdata)
// and vendored trees.
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.EqualFold(filepath.Ext(name), ".md") {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestRepositoryLinks checks every Markdown file of the repository: each
// relative link names a file or directory inside the repository that
// exists (and a heading, for a fragment), none is an absolute path or
// leaves the root, nothing points into a shared folder next to the
// repository, and README.md, the front page, links nothing outside it.
func TestRepositoryLinks(t *testing.T) {
	root := repoRoot(t)
	files := markdownFiles(t, root)
	for _, want := range []string{"README.md", "SECURITY.md", "docs/CONFIG.md"} {
		if !slices.Contains(files, want) {
			t.Errorf("%s not found among the Markdown files %v", want, files)
		}
	}
	for _, f := range files {
		probs, err := Check(root, f, Options{NoExternal: f == "README.md"})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, p := range probs {
			t.Error(p)
		}
	}
	t.Logf("checked %d Markdown files", len(files))
}

// TestNoSharedFolder: no file of the repository (code, docs, manifests,
// scripts) refers to a shared folder beside the repository, which a clone
// does not have.
func TestNoSharedFolder(t *testing.T) {
	root := repoRoot(t)
	needle := "../" + "shared" // not written whole, so this file does not match
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (d.Name() == ".git" || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > 4<<20 {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // binary
		}
		checked++
		if i := bytes.Index(b, []byte(needle)); i >= 0 {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s:%d: refers to %s, a folder outside the repository that a clone does not have", filepath.ToSlash(rel), bytes.Count(b[:i], []byte("\n"))+1, needle)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("checked %d text files", checked)
}

func TestLinks(t *testing.T) {
	md := strings.Join([]string{
		"# Title",
		"See [a](a.md), ![img](img/x.svg \"t\") and [b](<b c.md>).",
		"[ref]: docs/ref.md",
		"Go to <https://example.com/x> or https://example.org/y.",
		`<a href="h.md">h</a>`,
		"Not `[code](code.md)` and:",
		"",
		"    [indented](indented.md)",
		"",
		"```",
		"[fenced](fenced.md)",
		"```",
		"- item",
		"",
		"    [continued](continued.md)",
	}, "\n")
	var got []string
	for _, l := range Links(md) {
		got = append(got, l.Target)
	}
	want := []string{"a.md", "img/x.svg", "b c.md", "docs/ref.md", "https://example.com/x", "https://example.org/y", "h.md", "continued.md"}
	if !slices.Equal(got, want) {
		t.Fatalf("Links:\n got %q\nwant %q", got, want)
	}
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"The two commands":            "the-two-commands",
		"node.base_port":              "nodebase_port",
		"`ctl status --require-up N`": "ctl-status---require-up-n",
		"As a [library](mesh)":        "as-a-library",
		"Admin endpoint: /metrics":    "admin-endpoint-metrics",
	} {
		if got := Slug(heading); got != want {
			t.Errorf("Slug(%q) = %q, want %q", heading, got, want)
		}
	}
	a := Anchors("# Setup\n## Setup\n```\n# not a heading\n```\n<a name=\"x\"></a>\n")
	for _, want := range []string{"setup", "setup-1", "x"} {
		if !a[want] {
			t.Errorf("anchor %q missing from %v", want, a)
		}
	}
	if a["not-a-heading"] {
		t.Error("a line in a code block counted as a heading")
	}
}

// TestCheck runs Check on a small repository with one bad link of each kind.
func TestCheck(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/A.md", "# A\n## Keys\n")
	write("pkg/x.go", "package pkg\n")
	write("pkg/README.md", strings.Join([]string{
		"[ok](../docs/A.md#keys) [dir](.) [file](x.go) [self](#top) [web](https://example.com)",
		"# Top",
		"[gone](missing.md)",
		"[up](../../outside.md)",
		"[shared](../../" + "shared/notes.md)", // split: TestNoSharedFolder reads this file
		"[abs](/etc/passwd)",
		"[fileurl](file:///tmp/x)",
		"[anchor](../docs/A.md#nope)",
	}, "\n"))
	probs, err := Check(root, "pkg/README.md", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	want := []string{
		`pkg/README.md:3: link "missing.md" names pkg/missing.md, which does not exist in the repository`,
		`pkg/README.md:4: link "../../outside.md" leaves the repository (resolves to ../outside.md outside its root)`,
		`pkg/README.md:5: link "../../` + `shared/notes.md" points into a shared folder outside the repository (..` + `/shared/notes.md); a clone has no such folder`,
		`pkg/README.md:6: link "/etc/passwd" is an absolute path; want a path relative to pkg/README.md`,
		`pkg/README.md:7: link "file:///tmp/x" is a file: URL, which only resolves on one machine; link a file of the repository by its relative path`,
		`pkg/README.md:8: link "../docs/A.md#nope" names the anchor #nope, which no heading of docs/A.md has`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}

	probs, err = Check(root, "pkg/README.md", Options{NoExternal: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != len(want)+1 || !strings.Contains(probs[0].String(), `"https://example.com" points outside the repository`) {
		t.Fatalf("NoExternal: %v", probs)
	}
}

func TestBuiltinMethods(t *testing.T) {
	md := "| method | x |\n|---|---|\n| `$ekka.pong` | a |\n| `$ekka.info` | b |\n| `$ekka.pong` | again |\n" +
		"text | `$ekka.notarow` |\n| `app.method` | not built-in |\n"
	got := BuiltinMethods([]byte(md))
	if want := []string{"$ekka.info", "$ekka.pong"}; !slices.Equal(got, want) {
		t.Errorf("BuiltinMethods = %q, want %q", got, want)
	}
	if got := BuiltinMethods(nil); len(got) != 0 {
		t.Errorf("BuiltinMethods(nil) = %q, want none", got)
	}
}
