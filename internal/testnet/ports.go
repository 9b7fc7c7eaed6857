package testnet

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// lowestPort is where the free-port search starts: clear of the ports
// system services and development servers commonly hold.
const lowestPort = 10000

// attempts bounds every search for free ports.
const attempts = 500

// EphemeralLow is the first port of the kernel's ephemeral range, from
// which outgoing connections take their source ports (Linux's
// ip_local_port_range; 32768, Linux's default, elsewhere or when it cannot
// be read).
func EphemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low < lowestPort+1024 {
		return 32768
	}
	return low
}

// FreePort returns a port of 127.0.0.1 that was free a moment ago, below
// the ephemeral range.
func FreePort(t TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts returns n distinct ports of 127.0.0.1 that were free a moment
// ago, below the ephemeral range (so that a server stopped and restarted on
// one finds it free again).
func FreePorts(t TB, n int) []int {
	t.Helper()
	ports, err := FindFreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// FindFreePorts is FreePorts returning an error, for a test kit that has
// no testing.TB (meshtest.Reserve).
func FindFreePorts(n int) ([]int, error) {
	return freePorts("127.0.0.1", n)
}

func freePorts(host string, n int) ([]int, error) {
	hi := EphemeralLow()
	if n < 1 || n > hi-lowestPort {
		return nil, fmt.Errorf("testnet: %d free ports requested, want 1 to %d", n, hi-lowestPort)
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range attempts {
		if len(ports) == n {
			return ports, nil
		}
		p := lowestPort + rand.IntN(hi-lowestPort)
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			continue // taken, or one of ours already
		}
		lns = append(lns, ln)
		ports = append(ports, p)
	}
	if len(ports) == n {
		return ports, nil
	}
	return nil, fmt.Errorf("testnet: found %d free ports of %s in %d-%d after %d attempts, want %d", len(ports), host, lowestPort, hi-1, attempts, n)
}

// FreeBase returns a base port at which every node of names can listen on
// its own address right now, by the port rule (portmap: the base plus the
// offset of the name's trailing digits; "n1@127.0.0.1" listens on
// 127.0.0.1 at base+1, "n@127.0.0.2" on 127.0.0.2 at base). Every port it
// implies lies below the ephemeral range.
func FreeBase(t TB, names ...string) int {
	t.Helper()
	base, err := FindFreeBase(names...)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// FreePortOn returns a port free right now on every one of hosts (IP
// addresses), below the ephemeral range: where nodes named n@<host> (no
// trailing digits, so offset 0) share one base port.
func FreePortOn(t TB, hosts ...string) int {
	t.Helper()
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = "n@" + h
	}
	base, err := FindFreeBase(names...)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// FindFreeBase is FreeBase returning an error: for a benchmark that skips
// when the ports it needs are not free.
func FindFreeBase(names ...string) (int, error) {
	type hostPort struct {
		host string
		off  int
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("testnet: FreeBase needs at least one node name")
	}
	want := make([]hostPort, 0, len(names))
	maxOff := 0
	for _, s := range names {
		n, err := portmap.Parse(s)
		if err != nil {
			return 0, fmt.Errorf("testnet: FreeBase: %w", err)
		}
		want = append(want, hostPort{n.HostIP().String(), n.Offset()})
		maxOff = max(maxOff, n.Offset())
	}
	span := EphemeralLow() - maxOff - lowestPort
	if span < 1 {
		return 0, fmt.Errorf("testnet: FreeBase: offsets up to %d leave no base port between %d and the ephemeral range at %d", maxOff, lowestPort, EphemeralLow())
	}
	for range attempts {
		base := lowestPort + rand.IntN(span)
		if bindAll(base, want, func(w hostPort) (string, int) { return w.host, w.off }) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("testnet: no base port in %d-%d with %v all free after %d attempts", lowestPort, lowestPort+span-1, names, attempts)
}

// bindAll reports whether every address of want (host, base+offset) can be
// listened on at once right now.
func bindAll[T any](base int, want []T, addr func(T) (string, int)) bool {
	lns := make([]net.Listener, 0, len(want))
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for _, w := range want {
		host, off := addr(w)
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(base+off)))
		if err != nil {
			return false
		}
		lns = append(lns, ln)
	}
	return true
}

// Loopback returns the i-th loopback address, 127.0.0.<i+1>: Linux routes
// all of 127.0.0.0/8 to the loopback interface, so tests give each node its
// own host address. i runs from 0 to 253.
func Loopback(i int) string {
	if i < 0 || i > 253 {
		panic(fmt.Sprintf("testnet: loopback address %d, want 0 to 253", i))
	}
	return "127.0.0." + strconv.Itoa(i+1)
}

// Loopbacks returns the first n loopback addresses, 127.0.0.1 to 127.0.0.n.
func Loopbacks(n int) []string {
	ips := make([]string, n)
	for i := range ips {
		ips[i] = Loopback(i)
	}
	return ips
}
