package mesh

import (
	"encoding/json"
	"testing"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

func TestStatusMatchesWire(t *testing.T) {
	pairs := []struct {
		mesh Status
		wire wire.Status
	}{
		{StatusJoining, wire.StatusJoining}, {StatusUp, wire.StatusUp}, {StatusHealing, wire.StatusHealing},
		{StatusLeaving, wire.StatusLeaving}, {StatusDown, wire.StatusDown},
	}
	for _, p := range pairs {
		if uint8(p.mesh) != uint8(p.wire) || p.mesh.String() != p.wire.String() {
			t.Errorf("mesh %s (%d) vs wire %s (%d)", p.mesh, p.mesh, p.wire, p.wire)
		}
	}
}

func TestStatusText(t *testing.T) {
	for s := StatusJoining; s <= StatusDown; s++ {
		b, err := s.MarshalText()
		if err != nil || string(b) != s.String() {
			t.Fatalf("%d MarshalText = %q, %v", s, b, err)
		}
		var back Status
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Fatalf("UnmarshalText(%q) = %v, %v; want %v", b, back, err, s)
		}
		if p, err := ParseStatus(s.String()); err != nil || p != s {
			t.Fatalf("ParseStatus(%q) = %v, %v", s.String(), p, err)
		}
	}
	names := map[Status]string{StatusJoining: "joining", StatusUp: "up", StatusHealing: "healing", StatusLeaving: "leaving", StatusDown: "down"}
	for s, name := range names {
		if s.String() != name {
			t.Errorf("%d String = %q; want %q", s, s.String(), name)
		}
	}
	for _, bad := range []Status{0, 6, 255} {
		if bad.Valid() {
			t.Errorf("%d is valid", bad)
		}
		if _, err := bad.MarshalText(); err == nil {
			t.Errorf("%d marshalled without error", bad)
		}
		if bad.String() == "" {
			t.Errorf("%d has an empty String", bad)
		}
	}
	for _, bad := range []string{"", "Up", "unknown"} {
		if _, err := ParseStatus(bad); err == nil {
			t.Errorf("ParseStatus(%q) succeeded", bad)
		}
	}
	b, _ := json.Marshal(map[string]Status{"s": StatusHealing})
	if string(b) != `{"s":"healing"}` {
		t.Errorf("JSON = %s", b)
	}
}
