package discovery_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ekka-mesh/ekka-mesh/discovery"
)

const module = "github.com/ekka-mesh/ekka-mesh"

// forbidden are the packages no strategy may depend on, directly or not:
// the node, the transport and the codec, and what they bring (smux, s2).
// A strategy satisfies discovery.Strategy and needs none of them.
var forbidden = []string{
	module + "/mesh",
	module + "/conn",
	module + "/wire",
	"github.com/xtaci/smux",
	"github.com/klauspost/compress",
}

// strategies are the strategy packages, and the packages of this module
// each may depend on. A new directory under discovery/ must be added here
// (TestEveryStrategyIsChecked), so it is checked too.
var strategies = map[string][]string{
	"static":    {module + "/discovery"},
	"singleton": {module + "/discovery"},
	"mcast":     {module + "/discovery", module + "/portmap"},
	"dns":       {module + "/discovery", module + "/portmap"},
	"etcd":      {module + "/discovery", module + "/portmap"},
	"k8s":       {module + "/discovery", module + "/portmap"},
}

// deps runs go list and returns, for each package it is given, every
// package it depends on (non-test files, transitively).
func deps(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test runs the go command, which is not in PATH: %v", err)
	}
	args := append([]string{"list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}"}, pkgs...)
	cmd := exec.Command(goBin, args...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	m := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

// isUnder reports whether pkg is path or a package below it.
func isUnder(pkg, path string) bool {
	return pkg == path || strings.HasPrefix(pkg, path+"/")
}

func TestStrategiesDoNotDependOnTheNode(t *testing.T) {
	var pkgs []string
	for name := range strategies {
		pkgs = append(pkgs, "./"+name)
	}
	slices.Sort(pkgs)
	all := deps(t, pkgs...)
	for name, allowed := range strategies {
		pkg := module + "/discovery/" + name
		d, ok := all[pkg]
		if !ok {
			t.Errorf("go list did not report %s", pkg)
			continue
		}
		for _, dep := range d {
			for _, f := range forbidden {
				if isUnder(dep, f) {
					t.Errorf("%s depends on %s: a strategy needs only package discovery (see go list -deps ./discovery/%s)", pkg, dep, name)
				}
			}
			if isUnder(dep, module) && !slices.Contains(allowed, dep) {
				t.Errorf("%s depends on %s; of this module it may import only %v", pkg, dep, allowed)
			}
		}
	}
}

func TestDiscoveryDependsOnNothingOfTheModule(t *testing.T) {
	pkg := module + "/discovery"
	for _, dep := range deps(t, ".")[pkg] {
		if isUnder(dep, module) || !isStd(dep) {
			t.Errorf("%s depends on %s; it must need the standard library only", pkg, dep)
		}
	}
}

// isStd reports whether pkg is of the standard library (no dot in its first
// element, as go list reports such packages).
func isStd(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".")
}

func TestEveryStrategyIsChecked(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "testdata" {
			continue
		}
		goFiles, _ := filepath.Glob(filepath.Join(e.Name(), "*.go"))
		hasCode := slices.ContainsFunc(goFiles, func(f string) bool { return !strings.HasSuffix(f, "_test.go") })
		if _, ok := strategies[e.Name()]; hasCode && !ok {
			t.Errorf("discovery/%s is not in strategies (deps_test.go): add it with the module packages it may import", e.Name())
		}
	}
}

func TestNotSupported(t *testing.T) {
	err := discovery.NotSupported("static", "lock")
	if !errors.Is(err, discovery.ErrNotSupported) {
		t.Errorf("NotSupported = %v; want it to wrap ErrNotSupported", err)
	}
	if want := "static discovery: lock: not supported by this discovery strategy"; err.Error() != want {
		t.Errorf("NotSupported text = %q; want %q", err.Error(), want)
	}
}
