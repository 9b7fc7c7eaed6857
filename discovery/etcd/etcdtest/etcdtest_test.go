package etcdtest

import (
	"testing"
)

func TestStartStopRestart(t *testing.T) {
	s := Start(t, Options{})
	if !s.Running() {
		t.Fatal("not running after Start")
	}
	s.Stop()
	s.Restart()
}
