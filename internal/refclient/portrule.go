package refclient

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultBasePort is the base port when a cluster configures none (section 10).
const DefaultBasePort = 4370

// Port is the port rule of section 10: the base port plus the run of
// decimal digits at the very end of the short name (the part before '@'),
// read as an integer modulo 60000; 0 when the short name does not end in
// a digit. A name whose short name begins with "remsh" (a remote shell's)
// has no port.
func Port(name string, base int) (int, error) {
	short, _, ok := strings.Cut(name, "@")
	if !ok || short == "" {
		return 0, fmt.Errorf("node name %q: want short@host", name)
	}
	if base <= 0 || base > 65535 {
		return 0, fmt.Errorf("base port %d: want 1..65535", base)
	}
	if strings.HasPrefix(short, "remsh") {
		return 0, fmt.Errorf("node name %q: a remote shell's name (remsh...) has no port; no node listens under one", name)
	}
	start := len(short)
	for start > 0 && short[start-1] >= '0' && short[start-1] <= '9' {
		start--
	}
	offset := 0
	for _, d := range short[start:] {
		offset = (offset*10 + int(d-'0')) % 60000
	}
	if base+offset > 65535 {
		return 0, fmt.Errorf("node name %q: base port %d + offset %d is above 65535", name, base, offset)
	}
	return base + offset, nil
}

// Addr is where the node name listens under the port rule: its host (an
// IPv6 literal without brackets) and Port.
func Addr(name string, base int) (string, error) {
	port, err := Port(name, base)
	if err != nil {
		return "", err
	}
	_, host, _ := strings.Cut(name, "@")
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}
