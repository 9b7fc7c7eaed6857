package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/internal/configdoc"
	"github.com/ekka-mesh/ekka-mesh/mesh"
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

// TestLibraryAndBinaryDefaults checks what README.md says of the defaults:
// the library (mesh.DefaultConfig) runs no autoheal and no autoclean, the
// binary (config.Defaults) heals after 15 s and cleans after 5 minutes,
// and the two agree on the rest of the table.
func TestLibraryAndBinaryDefaults(t *testing.T) {
	lib, bin := mesh.DefaultConfig(), config.Defaults()
	if lib.Autoclean != 0 || bin.Cluster.Autoclean != 5*time.Minute {
		t.Errorf("autoclean: library %v, binary %v; README.md says off and 5m", lib.Autoclean, bin.Cluster.Autoclean)
	}
	if bin.Cluster.Autoheal != 15*time.Second {
		t.Errorf("cluster.autoheal %v; README.md says 15s", bin.Cluster.Autoheal)
	}
	if bin.Cluster.SplitBrain.Strategy != config.SplitBrainAutoheal {
		t.Errorf("cluster.split_brain.strategy %s; README.md says autoheal", bin.Cluster.SplitBrain.Strategy)
	}
	if lib.Discovery != nil || bin.Cluster.Discovery != config.DiscoveryManual {
		t.Errorf("discovery: library %v, binary %v; README.md says none and manual", lib.Discovery, bin.Cluster.Discovery)
	}
	if bin.Node.Admin.Listen != "" {
		t.Errorf("node.admin.listen %q; README.md says off by default", bin.Node.Admin.Listen)
	}
	if bin.Log.Level != config.LogInfo || bin.Log.Format != config.LogText {
		t.Errorf("log %s %s; README.md says info, text", bin.Log.Level, bin.Log.Format)
	}
	if bin.Node.Name.String() != "ekka@127.0.0.1" {
		t.Errorf("node.name %s; README.md says ekka@127.0.0.1", bin.Node.Name)
	}
	same := []struct {
		what     string
		lib, bin any
	}{
		{"heartbeat interval", lib.HeartbeatInterval, bin.Node.HeartbeatInterval},
		{"heartbeat timeout", lib.HeartbeatTimeout, bin.Node.HeartbeatTimeout},
		{"base port", lib.BasePort, bin.Node.BasePort},
		{"cluster name", lib.Cluster, bin.Cluster.Name},
		{"compression", lib.Compression.String(), string(bin.Node.Compression)},
		{"forget unreached", lib.ForgetUnreached, bin.Cluster.ForgetUnreached},
		{"max members", lib.MaxMembers, bin.Cluster.MaxMembers},
	}
	for _, s := range same {
		if s.lib != s.bin {
			t.Errorf("%s: library %v, binary %v; README.md says they are the same", s.what, s.lib, s.bin)
		}
	}
	if lib.HeartbeatInterval != time.Second || lib.HeartbeatTimeout != 5*time.Second || lib.BasePort != 4370 {
		t.Errorf("library heartbeats %v/%v, base port %d; README.md says 1s/5s and 4370", lib.HeartbeatInterval, lib.HeartbeatTimeout, lib.BasePort)
	}
}
