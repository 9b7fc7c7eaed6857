package faultnet

import (
	"maps"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Network routes connections between named endpoints through proxies whose
// behaviour is controlled by per-link fault rules. The zero value is not
// usable; create one with New. All methods are safe for concurrent use.
type Network struct {
	mu        sync.Mutex
	endpoints map[string]string       // name -> registered address
	names     map[string]string       // normalised address -> name
	rules     atomic.Pointer[ruleSet] // current snapshot; replaced under mu, read lock-free
	conns     map[*proxyConn]struct{}
	pending   map[string]*handoff // inner-listener accepts keyed by the dialling socket's address
	ln        *net.TCPListener    // inner loopback listener, started by the first Dial
	closed    bool
	done      chan struct{} // closed by Close
	wg        sync.WaitGroup
	held      atomic.Int64 // dials waiting on a blackhole now
}

// New returns an empty Network with no endpoints and no faults. It starts no
// goroutine until the first Dial; call Close when done.
func New() *Network {
	n := &Network{
		endpoints: make(map[string]string),
		names:     make(map[string]string),
		conns:     make(map[*proxyConn]struct{}),
		pending:   make(map[string]*handoff),
		done:      make(chan struct{}),
	}
	n.rules.Store(newRuleSet(nil))
	return n
}

// Register makes name reachable at addr, the host:port of the endpoint's
// real listener. Registering a name again replaces its address. If two names
// register the same address, Dialer resolves that address to the later one.
// Register does not contact addr; a bad address shows up as a dial error.
func (n *Network) Register(name, addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if old, ok := n.endpoints[name]; ok && n.names[normaliseAddr(old)] == name {
		delete(n.names, normaliseAddr(old))
	}
	n.endpoints[name] = addr
	n.names[normaliseAddr(addr)] = name
}

// Unregister forgets name: later dials to it fail with ErrUnknownEndpoint.
// Connections already open to or from it stay open, as they would if a
// server stopped listening, and the rules naming it stay in force.
func (n *Network) Unregister(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if addr, ok := n.endpoints[name]; ok {
		if n.names[normaliseAddr(addr)] == name {
			delete(n.names, normaliseAddr(addr))
		}
		delete(n.endpoints, name)
	}
}

// Cut breaks the link between a and b in both directions: every live proxied
// connection between them is closed (each end sees EOF) and new dials either
// way fail with a *net.OpError wrapping syscall.ECONNREFUSED, until Heal.
func (n *Network) Cut(a, b string) {
	n.cutPairs([]pair{{a, b}})
}

// Isolate cuts name from every other endpoint registered at the time of the
// call. Endpoints registered later are not cut from it.
func (n *Network) Isolate(name string) {
	n.mu.Lock()
	var pairs []pair
	for other := range n.endpoints {
		if other != name {
			pairs = append(pairs, pair{name, other})
		}
	}
	n.mu.Unlock()
	n.cutPairs(pairs)
}

// Partition cuts every pair of endpoints that sit in different groups. Every
// registered endpoint named in no group is treated as a group of its own, so
// it is isolated: a partition describes the whole network. Names in groups
// need not be registered yet. Partition adds cuts to the rules already in
// force; call HealAll first to replace an earlier partition.
func (n *Network) Partition(groups ...[]string) {
	groupOf := make(map[string]int)
	for i, g := range groups {
		for _, name := range g {
			groupOf[name] = i
		}
	}
	n.mu.Lock()
	for name := range n.endpoints {
		if _, ok := groupOf[name]; !ok {
			groupOf[name] = len(groups) + len(groupOf) // a fresh singleton group
		}
	}
	n.mu.Unlock()
	var pairs []pair
	for a, ga := range groupOf {
		for b, gb := range groupOf {
			if a < b && ga != gb {
				pairs = append(pairs, pair{a, b})
			}
		}
	}
	n.cutPairs(pairs)
}

func (n *Network) cutPairs(pairs []pair) {
	if len(pairs) == 0 {
		return
	}
	victims := n.update(func(m map[pair]rule) {
		for _, p := range pairs {
			for _, d := range []pair{p, {p.to, p.from}} {
				r := m[d]
				r.cut = true
				m[d] = r
			}
		}
	}, pairs)
	for _, c := range victims {
		c.close(false)
	}
}

// Reset aborts every live proxied connection between a and b: both proxy
// sockets are closed with SO_LINGER 0, so each end sees "connection reset by
// peer". It is a one-time event; new dials succeed.
func (n *Network) Reset(a, b string) {
	n.mu.Lock()
	victims := n.connsBetween([]pair{{a, b}})
	n.mu.Unlock()
	for _, c := range victims {
		c.close(true)
	}
}

// Blackhole silently drops the direction from -> to. Bytes that from writes
// are read by the proxy and discarded: not delivered, not buffered, never
// retransmitted. The connection stays open and to -> from still flows.
//
// Unlike real TCP, which would retransmit once the path heals, the dropped
// bytes are lost for good, so after a blackhole the connection's byte stream
// is corrupt. Expect the application to notice a silent peer (a heartbeat
// timeout) and drop the connection. A FIN sent while blackholed is held back
// and delivered when the blackhole is lifted.
//
// A new Dial(from, to) behaves like a SYN to a dead host: it blocks until its
// context ends (or the blackhole is lifted, or the Network closes). A new
// Dial(to, from) connects, and from's bytes on it are dropped.
func (n *Network) Blackhole(from, to string) {
	n.update(func(m map[pair]rule) {
		r := m[pair{from, to}]
		r.blackhole = true
		m[pair{from, to}] = r
	}, nil)
}

// Delay holds every chunk travelling from -> to for d before delivering it,
// preserving order, on existing and new connections. Chunks are queued, not
// slept on, so throughput is unaffected: a bulk transfer takes about its
// unloaded time plus d. A d of zero or less removes the delay; chunks already
// queued keep their delivery time.
func (n *Network) Delay(from, to string, d time.Duration) {
	d = max(d, 0)
	n.update(func(m map[pair]rule) {
		r := m[pair{from, to}]
		r.delay = d
		if r == (rule{}) {
			delete(m, pair{from, to})
		} else {
			m[pair{from, to}] = r
		}
	}, nil)
}

// Rate paces the direction from -> to to bytesPerSec bytes per second, on
// existing and new connections, like a link of that bandwidth: the proxy
// reads from's bytes no faster than the rate, so TCP's flow control pushes
// back on the writer as it would behind a slow link. A token bucket lets a
// burst of RateBurst(bytesPerSec) bytes through after a quiet spell and
// holds large flows to the rate over time (within about 1% over seconds at
// 100 Mbit/s and 1 Gbit/s on loopback: BenchmarkRate). A
// waiting chunk sleeps on a timer; no CPU is spent while it waits. A
// bytesPerSec of zero or less removes the limit, as does Heal. Rate
// combines with Delay (a slow, far link: paced first, then delayed); a
// blackholed direction still reads at the rate and drops what it reads.
//
// For example, 100 Mbit/s each way between two nodes:
//
//	fn.Rate("n1@127.0.0.1", "n2@127.0.0.1", 100e6/8)
//	fn.Rate("n2@127.0.0.1", "n1@127.0.0.1", 100e6/8)
func (n *Network) Rate(from, to string, bytesPerSec int64) {
	bytesPerSec = max(bytesPerSec, 0)
	n.update(func(m map[pair]rule) {
		r := m[pair{from, to}]
		r.rate = bytesPerSec
		if r == (rule{}) {
			delete(m, pair{from, to})
		} else {
			m[pair{from, to}] = r
		}
	}, nil)
}

// Heal removes every rule between a and b, in both directions. Connections
// closed by a Cut stay closed; blackholed bytes stay lost; delivery on
// connections that survived resumes with the next chunk.
func (n *Network) Heal(a, b string) {
	n.update(func(m map[pair]rule) {
		delete(m, pair{a, b})
		delete(m, pair{b, a})
	}, nil)
}

// HealAll removes every rule on every link.
func (n *Network) HealAll() {
	n.update(func(m map[pair]rule) { clear(m) }, nil)
}

// Conns returns the number of live proxied connections between a and b,
// whichever side dialled. A connection closed by an application end is
// removed shortly after the proxy notices; one closed by Cut, Reset or Close
// is removed before that call returns.
func (n *Network) Conns(a, b string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.connsBetween([]pair{{a, b}}))
}

// Held is the number of dials waiting on a blackhole right now: a test
// lifts the blackhole, or closes the network, once the dial it started is
// held there.
func (n *Network) Held() int { return int(n.held.Load()) }

// Close closes every proxied connection, stops every goroutine the Network
// started and waits for them. Dials blocked on a blackhole return ErrClosed,
// as do all later dials. Close is idempotent and always returns nil.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.wg.Wait()
		return nil
	}
	n.closed = true
	close(n.done)
	victims := make([]*proxyConn, 0, len(n.conns))
	for c := range n.conns {
		victims = append(victims, c)
	}
	for key, h := range n.pending {
		h.discard()
		delete(n.pending, key)
	}
	ln := n.ln
	n.mu.Unlock()
	if ln != nil {
		_ = ln.Close() // only fails if already closed; the accept loop exits either way
	}
	for _, c := range victims {
		c.close(false)
	}
	n.wg.Wait()
	return nil
}

// update applies change to a copy of the rules, publishes it, wakes every
// waiter on the old snapshot, and returns the live connections on pairs.
func (n *Network) update(change func(map[pair]rule), pairs []pair) []*proxyConn {
	n.mu.Lock()
	defer n.mu.Unlock()
	old := n.rules.Load()
	next := maps.Clone(old.rules)
	if next == nil {
		next = make(map[pair]rule)
	}
	change(next)
	n.rules.Store(newRuleSet(next))
	close(old.changed)
	return n.connsBetween(pairs)
}

// connsBetween lists the live connections on any of pairs, in either
// direction. The caller holds n.mu.
func (n *Network) connsBetween(pairs []pair) []*proxyConn {
	if len(pairs) == 0 {
		return nil
	}
	want := make(map[pair]bool, 2*len(pairs))
	for _, p := range pairs {
		want[p] = true
		want[pair{p.to, p.from}] = true
	}
	var out []*proxyConn
	for c := range n.conns {
		if want[pair{c.from, c.to}] {
			out = append(out, c)
		}
	}
	return out
}

// normaliseAddr makes "127.0.0.1:80", "[::ffff:127.0.0.1]:80" and similar
// spellings of one address compare equal. Host names are kept as written.
func normaliseAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return net.JoinHostPort(host, port)
}
