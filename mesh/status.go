package mesh

import "fmt"

// Status is a member's status. The values are the bytes the wire carries
// (wire.Status), so a conversion is all it takes between the two.
type Status uint8

const (
	StatusJoining Status = 1 // announced, connecting to the members
	StatusUp      Status = 2 // connected and serving
	StatusHealing Status = 3 // rejoining after a partition heal
	StatusLeaving Status = 4 // leaving the cluster in an orderly way
	StatusDown    Status = 5 // no link from this node; still a member until removed
)

var statusNames = [...]string{
	StatusJoining: "joining",
	StatusUp:      "up",
	StatusHealing: "healing",
	StatusLeaving: "leaving",
	StatusDown:    "down",
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return s >= StatusJoining && s <= StatusDown }

func (s Status) String() string {
	if s.Valid() {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// ParseStatus parses the name String returns.
func ParseStatus(name string) (Status, error) {
	for s := StatusJoining; s <= StatusDown; s++ {
		if statusNames[s] == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("mesh: status %q: want one of joining, up, healing, leaving, down", name)
}

// MarshalText implements encoding.TextMarshaler. An undefined status is an
// error rather than a number, so it never reaches a peer or a report.
func (s Status) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("mesh: status %d: want %d..%d (joining..down)", uint8(s), StatusJoining, StatusDown)
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error {
	p, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}
