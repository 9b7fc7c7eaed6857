package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"status", "status", 0},
		{"stauts", "status", 1},
		{"kitten", "sitting", 3},
		{"join", "jion", 1},
		{"ca", "abc", 3},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	commands := []string{"status", "members", "ping", "join", "leave", "force-leave", "call", "lock", "unlock", "check-config", "run", "version"}
	for _, tt := range []struct{ name, want string }{
		{"stauts", "status"},
		{"STATUS", "status"},
		{"membres", "members"},
		{"member", "members"},
		{"forceleave", "force-leave"},
		{"jion", "join"},
		{"checkconfig", "check-config"},
		{"check", "check-config"},
		{"verison", "version"},
		{"rn", "run"},
		{"x", ""},
		{"frobnicate", ""},
		{"deploy", ""},
	} {
		if got := Closest(tt.name, commands); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := Closest("a", nil); got != "" {
		t.Errorf("Closest with no candidates = %q, want \"\"", got)
	}
}
