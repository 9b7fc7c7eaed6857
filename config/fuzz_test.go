package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// quoteValue writes v as a double-quoted configuration value that Parse
// reads back as v.
func quoteValue(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// FuzzParseRoundTrip checks the file syntax both ways: whatever Parse
// accepts, written back one "key = "value"" line per entry, parses to the
// same keys and values; every entry's line is within the input and holds
// its key; and an error is an *Error matching ErrSyntax that names the
// source and line.
func FuzzParseRoundTrip(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("testdata", "ekka-mesh.conf"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(sample))
	f.Add("\uFEFFnode.name = n1@h\r\ncluster.name = \"a \\\\ \\\" b\"  \n")
	f.Add("k = \"unterminated\n")
	f.Add("k = \"x\" trailing\n")
	f.Add("  # comment\n\n k=v=w\n")
	f.Add("node.cookie = \"\\q\"\nnode.cookie = second\n")
	f.Fuzz(func(t *testing.T, src string) {
		entries, err := Parse(strings.NewReader(src), "fuzz.conf")
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, ErrSyntax) || !strings.HasPrefix(ce.Where, "fuzz.conf:") {
				t.Fatalf("Parse error %v (%T) is not an *Error with ErrSyntax naming fuzz.conf:<line>", err, err)
			}
			return
		}
		lines := strings.Split(src, "\n")
		var out strings.Builder
		out.WriteString("## written back\n")
		for k, e := range entries {
			if e.Key != k || k == "" || e.File != "fuzz.conf" || e.Line < 1 || e.Line > len(lines) {
				t.Fatalf("entry %+v for key %q: wrong key, file or line (input has %d lines)", e, k, len(lines))
			}
			if !strings.Contains(lines[e.Line-1], k) {
				t.Fatalf("entry %+v: line %d %q does not hold the key", e, e.Line, lines[e.Line-1])
			}
			out.WriteString(k + " = " + quoteValue(e.Value) + "\n")
		}
		again, err := Parse(strings.NewReader(out.String()), "again.conf")
		if err != nil {
			t.Fatalf("the entries of %q, written back as\n%s\ndo not parse: %v", src, out.String(), err)
		}
		if len(again) != len(entries) {
			t.Fatalf("%d entries written back parse to %d", len(entries), len(again))
		}
		for k, e := range entries {
			if again[k].Value != e.Value {
				t.Fatalf("key %q: value %q written back as %s parses to %q", k, e.Value, quoteValue(e.Value), again[k].Value)
			}
		}
	})
}

// FuzzSetGet gives every key the same fuzzed value: a value Set accepts
// reads back with Get as a canonical form that Set accepts again and that
// Get returns unchanged (so a file ekka-mesh writes from its settings means
// the same settings), Set refusing a value leaves the settings as they were,
// and every refusal is an *Error naming the key.
func FuzzSetGet(f *testing.F) {
	for _, k := range Keys() {
		f.Add(k.Default)
	}
	for _, v := range []string{"1s", "1500ms", "2h30m", "off", "on", "0", "-1", "65535", "65536",
		"a@b,c@d", " a@b , ", "4369-4400", "1,2,3", "239.192.0.1", "::1", "http://[::1]:2379",
		"emqx", "true", "1e3s", "9223372036854775807ns", "1.5h", "a@127.0.0.1", "x\x00y"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, k := range Keys() {
			s := Defaults()
			if err := s.Set(k.Key, v); err != nil {
				var ce *Error
				if !errors.As(err, &ce) || ce.Key != k.Key || !errors.Is(err, ErrBadValue) {
					t.Fatalf("Set(%s, %q) error %v is not an *Error with ErrBadValue naming the key", k.Key, v, err)
				}
				if d := Defaults(); !reflect.DeepEqual(s, d) {
					t.Fatalf("Set(%s, %q) failed (%v) but changed the settings", k.Key, v, err)
				}
				continue
			}
			got, err := s.Get(k.Key)
			if err != nil {
				t.Fatalf("Get(%s) after Set(%q): %v", k.Key, v, err)
			}
			s2 := Defaults()
			if err := s2.Set(k.Key, got); err != nil {
				t.Fatalf("Set(%s, %q) is accepted, but its canonical form %q is refused: %v", k.Key, v, got, err)
			}
			again, _ := s2.Get(k.Key)
			if again != got {
				t.Fatalf("%s: %q reads back as %q, which reads back as %q", k.Key, v, got, again)
			}
			if !reflect.DeepEqual(s, s2) {
				t.Fatalf("%s: %q and its canonical form %q give different settings", k.Key, v, got)
			}
		}
	})
}

// FuzzLoad writes the fuzzed text to a file and loads it as ekka-mesh run
// does: either an error naming the file (or a conflict between keys), or
// settings that pass Validate and that a file written from them, every key
// with the value Get gives, loads back to.
func FuzzLoad(f *testing.F) {
	sample, err := os.ReadFile(filepath.Join("testdata", "ekka-mesh.conf"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(sample))
	f.Add("node.name = n1@127.0.0.1\ncluster.discovery = static\ncluster.static.seeds = n1@127.0.0.1, n2@127.0.0.1\n")
	f.Add("node.name = n1@h\nnode.heartbeat.interval = 5s\nnode.heartbeat.timeout = 1s\n")
	f.Add("cluster.discovery = etcd\n")
	f.Add("node.nmae = x\n")
	path := filepath.Join(f.TempDir(), "ekka-mesh.conf")
	f.Fuzz(func(t *testing.T, src string) {
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Load(path, nil, nil)
		if err != nil {
			if !strings.Contains(err.Error(), path) && !errors.Is(err, ErrConflict) {
				t.Fatalf("Load error does not name the file %s: %v", path, err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Load returned settings that Validate refuses: %v", err)
		}
		var out strings.Builder
		for _, k := range Keys() {
			keys := []string{k.Key}
			if k.Family {
				keys = s.FamilyKeys(k.Key) // node.tags.role, ...
			}
			for _, key := range keys {
				v, err := s.Get(key)
				if err != nil {
					t.Fatal(err)
				}
				out.WriteString(key + " = " + quoteValue(v) + "\n")
			}
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := Load(path, nil, nil)
		if err != nil || !reflect.DeepEqual(s, again) {
			t.Fatalf("settings loaded from\n%s\nwritten back as\n%s\nload as %+v, %v; want %+v", src, out.String(), again, err, s)
		}
	})
}
