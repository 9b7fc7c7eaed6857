package portmap

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestPort(t *testing.T) {
	tests := []struct {
		name string
		base int
		want int
	}{
		{"emqx@h", 0, 4370},
		{"emqx12@h", 0, 4382},
		{"emqx-12@h", 0, 4382},
		{"emqx007@h", 0, 4377},
		{"emqx1a@h", 0, 4370},
		{"n60000@h", 0, 4370},
		{"n60001@h", 0, 4371},
		{"n59999@h", 0, 64369},
		{"n0@h", 0, 4370},
		{"n000@h", 0, 4370},
		{"1@h", 0, 4371},
		{"123@h", 0, 4493},
		{"a1b2@h", 0, 4372},
		{"n.5@h", 0, 4375},
		{"n_5@h", 0, 4375},
		{"n-@h", 0, 4370},
		{"n1.@h", 0, 4370},
		{"emqx@127.0.0.1", 0, 4370},
		{"emqx3@127.0.0.3", 0, 4373},
		{"n1@::1", 0, 4371},
		{"n1@[::1]", 0, 4371},
		{"n2@2001:db8::2", 0, 4372},
		{"n7@host99", 0, 4377},
		{"n99@host-1.example.com", 0, 4469},
		{"n99999999999999999999999@h", 0, 4370 + 39999},
		{"n" + strings.Repeat("9", 250) + "@h", 0, 4370 + 39999},
		{"n120000@h", 0, 4370},
		{"n120007@h", 0, 4377},
		{"emqx@h", 5000, 5000},
		{"emqx12@h", 5000, 5012},
		{"emqx@h", 1, 1},
		{"emqx@h", 65535, 65535},
		{"n5535@h", 60000, 65535},
		{"n65534@h", 60000, 65534},
		{"n60000@h", 65535, 65535},
		// Only the prefix remsh, case-sensitive as in ekka, marks a remote shell.
		{"Remsh1@h", 0, 4371},
		{"rems1@h", 0, 4371},
		{"xremsh1@h", 0, 4371},
	}
	for _, tt := range tests {
		got, err := Port(tt.name, tt.base)
		if err != nil {
			t.Errorf("Port(%q, %d): unexpected error %v", tt.name, tt.base, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Port(%q, %d) = %d, want %d", tt.name, tt.base, got, tt.want)
		}
	}
}

func TestPortErrors(t *testing.T) {
	tests := []struct {
		name   string
		base   int
		rule   error
		detail string // substring of the error text
	}{
		{"emqx", 0, ErrSyntax, "no '@'"},
		{"", 0, ErrSyntax, "no '@'"},
		{"a@b@c", 0, ErrSyntax, "found 2 '@'"},
		{"@h", 0, ErrEmptyShort, "nothing before"},
		{"@", 0, ErrEmptyShort, "nothing before"},
		{"bad@", 0, ErrEmptyHost, "nothing after"},
		{"em qx@h", 0, ErrBadChar, `' ' at position 3`},
		{"emqx!@h", 0, ErrBadChar, `'!' at position 5`},
		{"é@h", 0, ErrBadChar, `'é' at position 1`},
		{"a\xff@h", 0, ErrBadChar, "byte 0xff at position 2"},
		{"n/1@h", 0, ErrBadChar, `'/' at position 2`},
		{"n1@h_1", 0, ErrBadHost, "'_'"},
		{"n1@h..x", 0, ErrBadHost, "empty label"},
		{"n1@h.", 0, ErrBadHost, "empty label"},
		{"n1@.h", 0, ErrBadHost, "empty label"},
		{"n1@-h", 0, ErrBadHost, "starts or ends with '-'"},
		{"n1@h-", 0, ErrBadHost, "starts or ends with '-'"},
		{"n1@" + strings.Repeat("a", 64), 0, ErrBadHost, "at most 63"},
		{"n1@" + strings.Repeat("a.", 127) + "ab", 0, ErrTooLong, "259 bytes long; want at most 255"},
		{strings.Repeat("n", 70000) + "@h", 0, ErrTooLong, "70002 bytes long; want at most 255"},
		{"n1@[127.0.0.1]", 0, ErrBadHost, "brackets"},
		{"n1@[::1", 0, ErrBadHost, "brackets"},
		{"n1@::1]", 0, ErrBadHost, "brackets"},
		{"n1@[]", 0, ErrBadHost, "brackets"},
		{"n1@fe80::1%eth0", 0, ErrBadHost, "zones"},
		{"n1@h:4370", 0, ErrBadHost, "not an IPv6"},
		{"n1@ h", 0, ErrBadHost, "' '"},
		{"n600@h", 65000, ErrPortRange, "base port 65000 + offset 600 = 65600 is above 65535"},
		{"n59999@h", 5537, ErrPortRange, "= 65536 is above 65535"},
		{"n1@h", 65535, ErrPortRange, "65536"},
		{"n1@h", -1, ErrBadBase, "base port -1 is outside 1..65535"},
		{"n1@h", 65536, ErrBadBase, "base port 65536 is outside 1..65535"},
		{"remsh@h", 0, ErrRemoteShell, `names beginning with "remsh" are remote shells`},
		{"remsh123@h", 5000, ErrRemoteShell, "ekka gives port 0"},
		{"remshell1@127.0.0.1", 0, ErrRemoteShell, "a hidden client (ekka-mesh ctl) needs no port"},
		{"remsh1@h", 70000, ErrBadBase, "base port 70000 is outside 1..65535"},
	}
	for _, tt := range tests {
		_, err := Port(tt.name, tt.base)
		if err == nil {
			t.Errorf("Port(%q, %d): no error, want %v", tt.name, tt.base, tt.rule)
			continue
		}
		if !errors.Is(err, tt.rule) {
			t.Errorf("Port(%q, %d) = %v, want rule %v", tt.name, tt.base, err, tt.rule)
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Port(%q, %d): error %T is not *Error", tt.name, tt.base, err)
			continue
		}
		if pe.Rule != tt.rule.Error() {
			t.Errorf("Port(%q, %d): Rule = %q, want %q", tt.name, tt.base, pe.Rule, tt.rule.Error())
		}
		if !strings.Contains(err.Error(), tt.detail) {
			t.Errorf("Port(%q, %d) error %q does not mention %q", tt.name, tt.base, err, tt.detail)
		}
		if !strings.Contains(err.Error(), tt.rule.Error()) {
			t.Errorf("Port(%q, %d) error %q does not name the rule %q", tt.name, tt.base, err, tt.rule)
		}
	}
}

// TestShortPort checks a short name given alone, as ekka_dist:port/1 takes
// what epmd's port_please passes: the same port as with any host.
func TestShortPort(t *testing.T) {
	for short, want := range map[string]int{"emqx12": 4382, "emqx": 4370, "emqx-12": 4382, "n60001": 4371, "1": 4371} {
		got, err := ShortPort(short, DefaultBasePort)
		if err != nil || got != want {
			t.Errorf("ShortPort(%q) = %d, %v; want %d", short, got, err, want)
		}
		if withHost, _ := Port(short+"@h", 0); withHost != got {
			t.Errorf("ShortPort(%q) = %d but Port(%q) = %d", short, got, short+"@h", withHost)
		}
	}
	for _, tt := range []struct {
		short  string
		base   int
		rule   error
		detail string
	}{
		{"", DefaultBasePort, ErrEmptyShort, "want a short name"},
		{"a@b", DefaultBasePort, ErrSyntax, "holds no '@'"},
		{"em qx", DefaultBasePort, ErrBadChar, "' ' at position 3"},
		{strings.Repeat("n", 300), DefaultBasePort, ErrTooLong, "300 bytes long"},
		{"remsh7", DefaultBasePort, ErrRemoteShell, "remote shells"},
		{"n1", 0, ErrBadBase, "base port 0 is outside 1..65535"},
		{"n600", 65000, ErrPortRange, "65600"},
	} {
		_, err := ShortPort(tt.short, tt.base)
		if !errors.Is(err, tt.rule) || err == nil || !strings.Contains(err.Error(), tt.detail) {
			t.Errorf("ShortPort(%q, %d) = %v; want %v mentioning %q", tt.short, tt.base, err, tt.rule, tt.detail)
		}
	}
	if _, err := ShortPort("remsh7", DefaultBasePort); err == nil || !strings.HasPrefix(err.Error(), `node name "remsh7": remote shell name has no port`) {
		t.Errorf("ShortPort(remsh7) error %q does not name the input and the rule", err)
	}
}

// TestRemoteShellNamesParse checks a remote shell's name is a valid name
// (a hidden client may use it) with no address to listen on or dial.
func TestRemoteShellNamesParse(t *testing.T) {
	n, err := Parse("remsh1@127.0.0.1")
	if err != nil {
		t.Fatalf("Parse(remsh1@127.0.0.1): %v; want a valid name", err)
	}
	if !n.RemoteShell() {
		t.Errorf("remsh1@127.0.0.1: RemoteShell() = false")
	}
	if _, err := n.Addr(DefaultBasePort); !errors.Is(err, ErrRemoteShell) {
		t.Errorf("Addr = %v; want ErrRemoteShell", err)
	}
	if _, err := n.ListenAddr(DefaultBasePort, ""); !errors.Is(err, ErrRemoteShell) {
		t.Errorf("ListenAddr = %v; want ErrRemoteShell", err)
	}
}

func TestNamePortHasNoDefault(t *testing.T) {
	n, err := Parse("n1@h")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Port(0); !errors.Is(err, ErrBadBase) {
		t.Fatalf("Name.Port(0) = %v, want ErrBadBase", err)
	}
	if _, err := (Name{}).Port(0); err == nil || err.Error() != "base port out of range: base port 0 is outside 1..65535" {
		t.Fatalf("zero Name.Port(0) error = %v", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in    string
		short string
		host  string
		str   string
		ip    string // "" when the host is a hostname
	}{
		{"emqx@127.0.0.1", "emqx", "127.0.0.1", "emqx@127.0.0.1", "127.0.0.1"},
		{"emqx@localhost", "emqx", "localhost", "emqx@localhost", ""},
		{"n1@::1", "n1", "::1", "n1@::1", "::1"},
		{"n1@[::1]", "n1", "::1", "n1@::1", "::1"},
		{"n1@[2001:db8::1]", "n1", "2001:db8::1", "n1@2001:db8::1", "2001:db8::1"},
		{"A.b_c-9@Host-1.Example.COM", "A.b_c-9", "Host-1.Example.COM", "A.b_c-9@Host-1.Example.COM", ""},
		{"x@1.2.3", "x", "1.2.3", "x@1.2.3", ""},
	}
	for _, tt := range tests {
		n, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if n.Short != tt.short || n.Host != tt.host {
			t.Errorf("Parse(%q) = %+v, want short %q host %q", tt.in, n, tt.short, tt.host)
		}
		if n.String() != tt.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, n.String(), tt.str)
		}
		ip := n.HostIP()
		switch {
		case tt.ip == "" && ip != nil:
			t.Errorf("Parse(%q).HostIP() = %v, want nil", tt.in, ip)
		case tt.ip != "" && !ip.Equal(net.ParseIP(tt.ip)):
			t.Errorf("Parse(%q).HostIP() = %v, want %s", tt.in, ip, tt.ip)
		}
		again, err := Parse(n.String())
		if err != nil || again != n {
			t.Errorf("Parse(%q) does not round-trip: %+v, %v", n.String(), again, err)
		}
	}
}

// TestNameLengthLimit: a name of MaxNameLen bytes is a name; one byte more
// is refused with an error that gives the length and the limit, and that
// does not copy a huge name into the message.
func TestNameLengthLimit(t *testing.T) {
	host := strings.Repeat("h", 63) + "." + strings.Repeat("h", 63) + "." + strings.Repeat("h", 63)
	longest := strings.Repeat("n", MaxNameLen-1-len(host)) + "@" + host
	if len(longest) != MaxNameLen {
		t.Fatalf("test name is %d bytes, want %d", len(longest), MaxNameLen)
	}
	if _, err := Parse(longest); err != nil {
		t.Fatalf("Parse of a %d-byte name: %v, want it accepted", len(longest), err)
	}
	_, err := Parse("n" + longest)
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "256 bytes long; want at most 255") {
		t.Fatalf("Parse of a 256-byte name = %v, want ErrTooLong naming 256 and 255", err)
	}
	_, err = Parse(strings.Repeat("x", 70000) + "@127.0.0.1")
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("Parse of a 70,000-byte name = %v, want ErrTooLong", err)
	}
	if len(err.Error()) > 300 {
		t.Fatalf("the error for a 70,000-byte name is %d bytes long; want it short: %.300s", len(err.Error()), err)
	}
}

func TestErrorUnwrapFromRule(t *testing.T) {
	// An Error built by hand (no hidden sentinel) still matches by Rule.
	e := &Error{Name: "x", Rule: ErrEmptyHost.Error(), Detail: "d"}
	if !errors.Is(e, ErrEmptyHost) {
		t.Fatal("hand-built Error does not match its sentinel")
	}
	if e.Error() != `node name "x": empty host: d` {
		t.Fatalf("Error() = %q", e.Error())
	}
	if (&Error{Rule: "something else"}).Unwrap() != nil {
		t.Fatal("unknown rule unwrapped to a sentinel")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"emqx@h", "emqx12@127.0.0.1", "n1@[::1]", "n1@::1", "a@b@c", "@", "n99999999999999999999@h", "é@h", "n1@h-.x", "remsh1@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Name != s {
				t.Fatalf("Parse(%q) error %v is not an *Error naming the input", s, err)
			}
			return
		}
		if off := n.Offset(); off < 0 || off >= offsetModulus {
			t.Fatalf("Parse(%q).Offset() = %d, outside [0,60000)", s, off)
		}
		p, err := n.Port(DefaultBasePort)
		if n.RemoteShell() {
			if !errors.Is(err, ErrRemoteShell) {
				t.Fatalf("Parse(%q).Port(%d) = %d, %v; want ErrRemoteShell", s, DefaultBasePort, p, err)
			}
		} else if err != nil || p < 1 || p > MaxPort {
			t.Fatalf("Parse(%q).Port(%d) = %d, %v; want a port in [1,65535]", s, DefaultBasePort, p, err)
		}
		again, err := Parse(n.String())
		if err != nil || again != n {
			t.Fatalf("Parse(%q) does not round-trip through %q: %+v, %v", s, n.String(), again, err)
		}
	})
}

// TestAddrs: where a node is dialed and where it listens, for each kind of
// host, with and without node.bind.
func TestAddrs(t *testing.T) {
	for _, tc := range []struct {
		name, bind   string
		dial, listen string
	}{
		{"n2@127.0.0.2", "", "127.0.0.2:4372", "127.0.0.2:4372"},
		{"n2@::1", "", "[::1]:4372", "[::1]:4372"},
		{"n2@[::1]", "", "[::1]:4372", "[::1]:4372"},
		{"n2@0:0::1", "", "[::1]:4372", "[::1]:4372"},
		{"emqx@db1.example.com", "", "db1.example.com:4370", ":4370"},
		{"emqx@db1.example.com", "10.0.0.5", "db1.example.com:4370", "10.0.0.5:4370"},
		{"emqx@db1.example.com", "[fd00::5]", "db1.example.com:4370", "[fd00::5]:4370"},
		{"n2@127.0.0.2", "0.0.0.0", "127.0.0.2:4372", "0.0.0.0:4372"},
	} {
		n, err := Parse(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := n.Addr(DefaultBasePort); err != nil || got != tc.dial {
			t.Errorf("%s: Addr = %q, %v; want %q", tc.name, got, err, tc.dial)
		}
		if got, err := n.ListenAddr(DefaultBasePort, tc.bind); err != nil || got != tc.listen {
			t.Errorf("%s bind %q: ListenAddr = %q, %v; want %q", tc.name, tc.bind, got, err, tc.listen)
		}
	}
	n, _ := Parse("n9@h")
	if _, err := n.Addr(65530); !errors.Is(err, ErrPortRange) {
		t.Errorf("Addr above the port range: %v, want ErrPortRange", err)
	}
	if _, err := n.ListenAddr(0, ""); !errors.Is(err, ErrBadBase) {
		t.Errorf("ListenAddr with base 0: %v, want ErrBadBase", err)
	}
}
