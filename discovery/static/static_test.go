package static

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ekka-mesh/ekka-mesh/discovery"
)

func TestNewValidatesSeeds(t *testing.T) {
	tests := []struct {
		name    string
		seeds   []string
		wantErr string
	}{
		{"none", nil, ""},
		{"good", []string{"a@h", "emqx12@10.0.0.1", "n@host.example"}, ""},
		{"empty", []string{"a@h", ""}, `seed 2 "": empty`},
		{"no at", []string{"ah"}, `seed 1 "ah": no '@'`},
		{"two at", []string{"a@h@x"}, `more than one '@'`},
		{"empty short", []string{"@h"}, `empty short name`},
		{"empty host", []string{"a@"}, `empty host`},
		{"space", []string{"a @h"}, `space or control`},
		{"newline", []string{"a@h\n"}, `space or control`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.seeds)
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("New(%q) = %v, %v; want a strategy", tt.seeds, s, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%q) error = %v; want one containing %q", tt.seeds, err, tt.wantErr)
			}
			if s != nil {
				t.Fatalf("New(%q) returned a strategy with an error", tt.seeds)
			}
		})
	}
}

func TestDiscoverReturnsACopyWithoutDuplicates(t *testing.T) {
	seeds := []string{"b@h", "a@h", "b@h"}
	s, err := New(seeds)
	if err != nil {
		t.Fatal(err)
	}
	seeds[1] = "changed@h"
	want := []string{"b@h", "a@h"}

	got, err := s.Discover(context.Background())
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Discover = %q, %v; want %q", got, err, want)
	}
	got[0] = "mutated@h"
	again, err := s.Discover(context.Background())
	if err != nil || !slices.Equal(again, want) {
		t.Fatalf("Discover after mutating a result = %q, %v; want %q", again, err, want)
	}
	if seedsNow := s.Seeds(); !slices.Equal(seedsNow, want) {
		t.Fatalf("Seeds = %q; want %q", seedsNow, want)
	}
}

func TestDiscoverHonoursContext(t *testing.T) {
	s, err := New([]string{"a@h"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Discover(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Discover with a cancelled context = %v; want context.Canceled", err)
	}
}

func TestLockAndRegisterAreNotSupported(t *testing.T) {
	s, err := New([]string{"a@h"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, f := range map[string]func(context.Context) error{
		"lock": s.Lock, "unlock": s.Unlock, "register": s.Register, "unregister": s.Unregister,
	} {
		err := f(ctx)
		if !errors.Is(err, discovery.ErrNotSupported) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s = %v; want an error naming %q and wrapping discovery.ErrNotSupported", name, err, name)
		}
	}
}

func ExampleNew() {
	d, err := New([]string{"emqx1@10.0.0.1", "emqx2@10.0.0.2", "emqx1@10.0.0.1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	nodes, _ := d.Discover(context.Background())
	fmt.Println(nodes)
	// Output: [emqx1@10.0.0.1 emqx2@10.0.0.2]
}
