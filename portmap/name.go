package portmap

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultBasePort is the base port of the name-to-port rule when none is
// configured (node.base_port), the same as ekka's.
const DefaultBasePort = 4370

// MaxPort is the highest TCP port.
const MaxPort = 65535

// offsetModulus bounds the offset taken from a name's trailing digits.
const offsetModulus = 60000

// maxHostLen is the longest hostname DNS allows.
const maxHostLen = 253

// MaxNameLen is the longest node name, in bytes, that Parse accepts: 255,
// the limit of an Erlang atom (which is what an ekka node name is). Every
// place that takes a node name (node config, ctl, discovery, names learned
// from peers) goes through Parse or the same limit, so no node starts under
// a name that the wire's 16-bit name fields or its peers would refuse.
const MaxNameLen = 255

// Name is a parsed, valid node name. The zero value is not a valid name;
// get one from Parse.
type Name struct {
	// Short is the part before the '@', such as "emqx12".
	Short string
	// Host is the part after the '@': a hostname or an IP literal. An IPv6
	// literal is kept without brackets.
	Host string
}

// String returns short@host.
func (n Name) String() string {
	return n.Short + "@" + n.Host
}

// Parse checks s against the naming rules (see the package documentation)
// and splits it into its short name and host.
func Parse(s string) (Name, error) {
	if len(s) > MaxNameLen {
		return Name{}, newError(s, ErrTooLong, "the name is %d bytes long; want at most %d (the limit of an Erlang atom)", len(s), MaxNameLen)
	}
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return Name{}, newError(s, ErrSyntax, "no '@' found; want short@host, such as emqx@127.0.0.1")
	}
	if n := strings.Count(s, "@"); n > 1 {
		return Name{}, newError(s, ErrSyntax, "found %d '@' characters; want exactly one, as in emqx@127.0.0.1", n)
	}
	short, host := s[:at], s[at+1:]
	if short == "" {
		return Name{}, newError(s, ErrEmptyShort, "nothing before the '@'; want short@host, such as emqx@127.0.0.1")
	}
	if err := checkShort(s, short); err != nil {
		return Name{}, err
	}
	if host == "" {
		return Name{}, newError(s, ErrEmptyHost, "nothing after the '@'; want a hostname or an IP address, such as emqx@127.0.0.1")
	}
	host, err := checkHost(s, host)
	if err != nil {
		return Name{}, err
	}
	return Name{Short: short, Host: host}, nil
}

func checkShort(full, short string) error {
	for i := 0; i < len(short); {
		c := short[i]
		if isShortChar(c) {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(short[i:])
		what := fmt.Sprintf("%q", r)
		if r == utf8.RuneError && size <= 1 {
			what = fmt.Sprintf("byte %#02x", c)
		}
		return newError(full, ErrBadChar, "%s at position %d (1-based) is not allowed; short names use only A-Z a-z 0-9 _ . -", what, i+1)
	}
	return nil
}

func isShortChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// checkHost validates host and returns it in stored form (IPv6 brackets
// removed).
func checkHost(full, host string) (string, error) {
	if strings.HasPrefix(host, "[") || strings.HasSuffix(host, "]") {
		inner, ok := strings.CutPrefix(host, "[")
		inner, ok2 := strings.CutSuffix(inner, "]")
		ip := net.ParseIP(inner)
		if !ok || !ok2 || ip == nil || !strings.Contains(inner, ":") {
			return "", newError(full, ErrBadHost, "%q: brackets may only enclose an IPv6 address, as in n1@[::1]", host)
		}
		return inner, nil
	}
	if strings.Contains(host, ":") {
		if net.ParseIP(host) == nil {
			return "", newError(full, ErrBadHost, "%q contains ':' but is not an IPv6 address (zones such as %%eth0 are not accepted)", host)
		}
		return host, nil
	}
	if net.ParseIP(host) != nil {
		return host, nil
	}
	if len(host) > maxHostLen {
		return "", newError(full, ErrBadHost, "hostname is %d characters long; want at most %d", len(host), maxHostLen)
	}
	for i, label := range strings.Split(host, ".") {
		if label == "" {
			return "", newError(full, ErrBadHost, "hostname %q has an empty label (label %d); want labels separated by single dots, no leading or trailing dot", host, i+1)
		}
		if len(label) > 63 {
			return "", newError(full, ErrBadHost, "hostname label %q is %d characters long; want at most 63", label, len(label))
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", newError(full, ErrBadHost, "hostname label %q starts or ends with '-'", label)
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
				continue
			}
			r, _ := utf8.DecodeRuneInString(label[j:])
			return "", newError(full, ErrBadHost, "hostname %q contains %q; want letters, digits, '-' and '.', or an IP address", host, r)
		}
	}
	return host, nil
}

// Offset returns the port offset of the name: its trailing decimal digits as
// an integer modulo 60000, or 0 when the short name does not end in a digit.
// Any number of digits is fine; the value never overflows.
func (n Name) Offset() int {
	start := len(n.Short)
	for start > 0 && n.Short[start-1] >= '0' && n.Short[start-1] <= '9' {
		start--
	}
	offset := 0
	for i := start; i < len(n.Short); i++ {
		offset = (offset*10 + int(n.Short[i]-'0')) % offsetModulus
	}
	return offset
}

// RemoteShellPrefix begins the names ekka gives remote shells (remsh...):
// ekka_dist:port/1 answers 0 for them, a random port, since nothing ever
// connects to a remote shell. See the package documentation.
const RemoteShellPrefix = "remsh"

// RemoteShell reports whether the short name begins with RemoteShellPrefix
// (case-sensitive, as in ekka): such a name has no port.
func (n Name) RemoteShell() bool {
	return strings.HasPrefix(n.Short, RemoteShellPrefix)
}

// Port returns base + n.Offset(). base must be within 1..65535 (this method
// has no default; see the package-level Port for that) and the sum must not
// exceed 65535. A remote shell's name (RemoteShell) has no port: the error
// matches ErrRemoteShell.
func (n Name) Port(base int) (int, error) {
	return n.portOf(n.nameForError(), base)
}

// portOf is Port, naming the input as given in its errors.
func (n Name) portOf(given string, base int) (int, error) {
	if base < 1 || base > MaxPort {
		return 0, newError(given, ErrBadBase, "base port %d is outside 1..%d", base, MaxPort)
	}
	if n.RemoteShell() {
		return 0, newError(given, ErrRemoteShell, "names beginning with %q are remote shells, to which ekka gives port 0 (a random port: nothing connects to them); no ekka-mesh node listens or is dialed under one, and a hidden client (ekka-mesh ctl) needs no port", RemoteShellPrefix)
	}
	offset := n.Offset()
	port := base + offset
	if port > MaxPort {
		return 0, newError(given, ErrPortRange, "base port %d + offset %d = %d is above %d", base, offset, port, MaxPort)
	}
	return port, nil
}

func (n Name) nameForError() string {
	if n.Short == "" && n.Host == "" {
		return ""
	}
	return n.String()
}

// Port parses name and returns its port for the given base; a base of 0
// means DefaultBasePort (the zero value stands for "not configured"; a
// base given to Name.Port must be 1..65535).
func Port(name string, base int) (int, error) {
	n, err := Parse(name)
	if err != nil {
		return 0, err
	}
	if base == 0 {
		base = DefaultBasePort
	}
	return n.Port(base)
}

// ShortPort returns the port of a short name given alone, without "@host",
// as ekka_dist:port/1 answers for what epmd's port_please passes: the host
// never affects the port. short must be a valid short name (see Parse);
// base must be within 1..65535, as for Name.Port. ShortPort("emqx12",
// 4370) is 4382.
func ShortPort(short string, base int) (int, error) {
	if len(short) > MaxNameLen {
		return 0, newError(short, ErrTooLong, "the name is %d bytes long; want at most %d (the limit of an Erlang atom)", len(short), MaxNameLen)
	}
	if short == "" {
		return 0, newError(short, ErrEmptyShort, "want a short name such as emqx12, or short@host")
	}
	if strings.Contains(short, "@") {
		return 0, newError(short, ErrSyntax, "a short name holds no '@'; give short@host to Parse or Port")
	}
	if err := checkShort(short, short); err != nil {
		return 0, err
	}
	return Name{Short: short}.portOf(short, base)
}

// HostIP returns the host as an IP address when it is an IP literal, and nil
// when it is a hostname. A node named with an IP literal listens on, and
// dials from, that address.
func (n Name) HostIP() net.IP {
	return net.ParseIP(n.Host)
}

// Addr returns the address a node of this name is dialed at: its host (an
// IP literal in its canonical form) and its port for base (see Port).
func (n Name) Addr(base int) (string, error) {
	port, err := n.Port(base)
	if err != nil {
		return "", err
	}
	host := n.Host
	if ip := n.HostIP(); ip != nil {
		host = ip.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// ListenAddr returns the address a node of this name listens on: bind when
// it is set (node.bind, an IP address; brackets around an IPv6 address are
// accepted), else the host when it is an IP literal, else every interface;
// and its port for base (see Port).
func (n Name) ListenAddr(base int, bind string) (string, error) {
	port, err := n.Port(base)
	if err != nil {
		return "", err
	}
	host := strings.TrimSuffix(strings.TrimPrefix(bind, "["), "]")
	if host == "" {
		if ip := n.HostIP(); ip != nil {
			host = ip.String()
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}
