package singleton_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/discovery/singleton"
	"github.com/ekka-mesh/ekka-mesh/discovery/static"
)

func TestSingletonIsStandalone(t *testing.T) {
	s := singleton.New()
	if !discovery.IsStandalone(s) {
		t.Error("IsStandalone(singleton.New()) = false; want true")
	}
	st, err := static.New([]string{"a@h"})
	if err != nil {
		t.Fatal(err)
	}
	if discovery.IsStandalone(st) || discovery.IsStandalone(nil) {
		t.Error("IsStandalone of a static strategy or nil = true; want false")
	}
}

func TestSingletonDiscoversNothing(t *testing.T) {
	s := singleton.New()
	ctx := context.Background()
	nodes, err := s.Discover(ctx)
	if !errors.Is(err, singleton.ErrNeverClusters) || nodes != nil {
		t.Errorf("Discover = %v, %v; want nil, ErrNeverClusters", nodes, err)
	}
	if want := "singleton discovery: a singleton node never joins a cluster, so it discovers no nodes"; err == nil || err.Error() != want {
		t.Errorf("Discover error %q; want %q", err, want)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Discover(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Discover with a done context = %v; want context.Canceled", err)
	}
	for name, call := range map[string]func(context.Context) error{
		"lock": s.Lock, "unlock": s.Unlock, "register": s.Register, "unregister": s.Unregister,
	} {
		err := call(ctx)
		if !errors.Is(err, discovery.ErrNotSupported) {
			t.Errorf("%s = %v; want ErrNotSupported", name, err)
		}
		if want := "singleton discovery: " + name + ": not supported by this discovery strategy"; err == nil || err.Error() != want {
			t.Errorf("%s error %q; want %q", name, err, want)
		}
	}
}
