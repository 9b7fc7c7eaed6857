package attack

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// binPath is the ekka-mesh binary TestMain builds once for every test.
var binPath string

// descriptorLimit is the limit on open files the tests (and the nodes they
// start, which inherit it) run with: above the 22,000 lanes of
// TestAttackIncompleteLanes, so that the attacker is never the side that
// runs out.
const descriptorLimit = 65536

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "ekka-mesh-attack-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "attack: temp dir:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		binPath = filepath.Join(dir, "ekka-mesh")
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/ekka-mesh")
		cmd.Dir = ".." // the module root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "attack: go build ./cmd/ekka-mesh: %v\n%s", err, out)
			return 1
		}
		fmt.Fprintf(os.Stderr, "attack: built ekka-mesh in %v\n", time.Since(start).Round(time.Millisecond))
		raiseDescriptorLimit()
	}
	return m.Run()
}

// raiseDescriptorLimit lifts RLIMIT_NOFILE to descriptorLimit when the
// process may (root may raise the hard limit); otherwise the soft limit
// goes up to the hard one, as the Go runtime already does.
func raiseDescriptorLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil || lim.Cur >= descriptorLimit {
		return
	}
	want := syscall.Rlimit{Cur: descriptorLimit, Max: max(lim.Max, descriptorLimit)}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil {
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim.Max, Max: lim.Max})
	}
}
