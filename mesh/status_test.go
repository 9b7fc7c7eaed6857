package mesh

import (
	"encoding/json"
	"testing"

	"github.com/ekka-mesh/ekka-mesh/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		assert.Equal(t, uint8(p.wire), uint8(p.mesh), "mesh %s (%d) vs wire %s (%d)", p.mesh, p.mesh, p.wire, p.wire)
		assert.Equal(t, p.wire.String(), p.mesh.String(), "mesh %s (%d) vs wire %s (%d)", p.mesh, p.mesh, p.wire, p.wire)
	}
}

func TestStatusText(t *testing.T) {
	for s := StatusJoining; s <= StatusDown; s++ {
		b, err := s.MarshalText()
		require.NoError(t, err, "%d MarshalText", s)
		require.Equal(t, s.String(), string(b), "%d MarshalText", s)
		var back Status
		require.NoError(t, back.UnmarshalText(b), "UnmarshalText(%q)", b)
		require.Equal(t, s, back, "UnmarshalText(%q)", b)
		p, err := ParseStatus(s.String())
		require.NoError(t, err, "ParseStatus(%q)", s.String())
		require.Equal(t, s, p, "ParseStatus(%q)", s.String())
	}
	names := map[Status]string{StatusJoining: "joining", StatusUp: "up", StatusHealing: "healing", StatusLeaving: "leaving", StatusDown: "down"}
	for s, name := range names {
		assert.Equal(t, name, s.String(), "%d String", s)
	}
	for _, bad := range []Status{0, 6, 255} {
		assert.False(t, bad.Valid(), "%d is valid", bad)
		_, err := bad.MarshalText()
		assert.Error(t, err, "%d marshalled without error", bad)
		assert.NotEmpty(t, bad.String(), "%d has an empty String", bad)
	}
	for _, bad := range []string{"", "Up", "unknown"} {
		_, err := ParseStatus(bad)
		assert.Error(t, err, "ParseStatus(%q) succeeded", bad)
	}
	b, _ := json.Marshal(map[string]Status{"s": StatusHealing})
	assert.Equal(t, `{"s":"healing"}`, string(b), "JSON")
}
