package conn

import "container/list"

// admission decides which connections a Listener keeps while they are not
// yet part of a link: handshakes in progress, and authenticated lanes whose
// link is still incomplete. It does no I/O: the listener reports what
// happens (a connection arrived, its Hello passed, it authenticated, it
// ended) and closes what admission names as victims.
//
// The rule that keeps an idle flood from starving real peers: a newcomer is
// always admitted, and when a limit is exceeded the oldest connection of the
// lowest stage goes instead. Stages, lowest first: idle handshakes (no byte
// has arrived), handshakes that have spoken but whose Hello is not complete
// (slow senders), handshakes past Hello (waiting for the dialer's proof),
// then incomplete links. A real peer sends its Hello at once, so a thousand
// idle connections only ever evict each other, while a real peer's
// handshake survives them. Before an idle handshake is evicted, the
// caller's pending check may show that bytes have arrived for it that its
// goroutine has not read yet (a real peer's Hello, between accept and the
// first read): it is promoted to the spoken stage instead.
//
// Limits, each enforced on every arrival:
//   - perAddr: handshakes from one source address; the victim comes from
//     that address, so one host's flood cannot push out another host's
//     handshakes;
//   - handshakes: handshakes in progress;
//   - conns: handshakes plus the lanes of incomplete links, the descriptors
//     the listener holds;
//   - linksPerPeer: incomplete links that claim one peer name; the oldest of
//     that peer's goes.
type admission struct {
	lim admissionLimits

	next    uint64
	hs      map[uint64]*admHandshake
	stages  [3]*list.List // of *admHandshake by stage (stageIdle...), oldest first
	perAddr map[string]int

	links   map[linkKey]*admLink
	order   *list.List // of *admLink, oldest first
	perPeer map[string]int

	conns int // handshakes plus lanes of incomplete links
}

// admissionLimits are the limits admission enforces; each must be >= 1.
type admissionLimits struct {
	conns, handshakes, perAddr, linksPerPeer int
}

// Handshake stages, lowest (evicted first) first.
const (
	stageIdle  = iota // no byte seen yet
	stageSpoke        // bytes arrived, Hello not complete
	stageHello        // Hello passed its checks
)

type admHandshake struct {
	id    uint64
	addr  string
	stage int
	el    *list.Element
}

type admLink struct {
	key   linkKey
	lanes int
	el    *list.Element
}

// eviction names a connection or link to close and why.
type eviction struct {
	hs     uint64  // the handshake to close, or 0
	link   linkKey // the incomplete link to drop when hs is 0
	reason string  // refusal reason for logs and Stats
}

// Refusal reasons for evictions.
const (
	reasonAddrLimit      = "addr-limit"      // too many handshakes from one address
	reasonHandshakeLimit = "handshake-limit" // too many handshakes in progress
	reasonConnLimit      = "conn-limit"      // the listener holds too many connections
	reasonPeerLinkLimit  = "peer-link-limit" // too many incomplete links for one peer name
)

func newAdmission(lim admissionLimits) *admission {
	return &admission{
		lim:     lim,
		hs:      make(map[uint64]*admHandshake),
		stages:  [3]*list.List{list.New(), list.New(), list.New()},
		perAddr: make(map[string]int),
		links:   make(map[linkKey]*admLink),
		order:   list.New(),
		perPeer: make(map[string]int),
	}
}

// open admits a new connection from addr (its source IP) and returns its id
// and the connections to close to stay within the limits. The newcomer is
// never among them. pending, when not nil, reports whether bytes wait
// unread on an idle handshake; such a handshake is promoted, not evicted.
func (a *admission) open(addr string, pending func(id uint64) bool) (uint64, []eviction) {
	a.next++
	h := &admHandshake{id: a.next, addr: addr}
	h.el = a.stages[0].PushBack(h)
	a.hs[h.id] = h
	a.perAddr[addr]++
	a.conns++

	var ev []eviction
	for a.perAddr[addr] > a.lim.perAddr {
		v := a.oldestHandshake(h.id, addr, pending)
		if v == nil {
			break
		}
		a.dropHandshake(v)
		ev = append(ev, eviction{hs: v.id, reason: reasonAddrLimit})
	}
	for len(a.hs) > a.lim.handshakes {
		v := a.oldestHandshake(h.id, "", pending)
		if v == nil {
			break
		}
		a.dropHandshake(v)
		ev = append(ev, eviction{hs: v.id, reason: reasonHandshakeLimit})
	}
	for a.conns > a.lim.conns {
		if v := a.oldestHandshake(h.id, "", pending); v != nil {
			a.dropHandshake(v)
			ev = append(ev, eviction{hs: v.id, reason: reasonConnLimit})
			continue
		}
		e := a.order.Front()
		if e == nil {
			break
		}
		l := e.Value.(*admLink)
		a.dropLink(l)
		ev = append(ev, eviction{link: l.key, reason: reasonConnLimit})
	}
	return h.id, ev
}

// oldestHandshake returns the oldest handshake other than except, from the
// lowest stage that has one, restricted to addr unless addr is "". Idle
// handshakes with pending bytes are promoted on the way.
func (a *admission) oldestHandshake(except uint64, addr string, pending func(uint64) bool) *admHandshake {
	for _, l := range a.stages {
		for e := l.Front(); e != nil; {
			h := e.Value.(*admHandshake)
			e = e.Next()
			if h.id == except || (addr != "" && h.addr != addr) {
				continue
			}
			if h.stage == stageIdle && pending != nil && pending(h.id) {
				a.promote(h, stageSpoke)
				continue
			}
			return h
		}
	}
	return nil
}

// spoke records that bytes arrived on handshake id.
func (a *admission) spoke(id uint64) {
	if h := a.hs[id]; h != nil {
		a.promote(h, stageSpoke)
	}
}

// hello records that handshake id got past its Hello.
func (a *admission) hello(id uint64) {
	if h := a.hs[id]; h != nil {
		a.promote(h, stageHello)
	}
}

// promote moves h up to stage; it never moves a handshake down.
func (a *admission) promote(h *admHandshake, stage int) {
	if h.stage >= stage {
		return
	}
	a.stages[h.stage].Remove(h.el)
	h.stage = stage
	h.el = a.stages[stage].PushBack(h)
}

// done forgets handshake id, which failed or was handed over. It reports
// false when admission no longer knew it (it was evicted).
func (a *admission) done(id uint64) bool {
	h := a.hs[id]
	if h == nil {
		return false
	}
	a.dropHandshake(h)
	return true
}

// lane turns authenticated handshake id into a lane of the incomplete link
// k. It returns false, and changes nothing, when id was evicted meanwhile;
// otherwise the incomplete links to drop to stay within linksPerPeer (never
// k itself).
func (a *admission) lane(id uint64, k linkKey) (bool, []eviction) {
	h := a.hs[id]
	if h == nil {
		return false, nil
	}
	a.dropHandshake(h)
	a.conns++ // the connection stays, as a lane
	l := a.links[k]
	if l != nil {
		l.lanes++
		return true, nil
	}
	l = &admLink{key: k, lanes: 1}
	l.el = a.order.PushBack(l)
	a.links[k] = l
	a.perPeer[k.name]++
	var ev []eviction
	for a.perPeer[k.name] > a.lim.linksPerPeer {
		var victim *admLink
		for e := a.order.Front(); e != nil; e = e.Next() {
			if o := e.Value.(*admLink); o.key.name == k.name && o.key != k {
				victim = o
				break
			}
		}
		if victim == nil {
			break
		}
		a.dropLink(victim)
		ev = append(ev, eviction{link: victim.key, reason: reasonPeerLinkLimit})
	}
	return true, ev
}

// linkDone forgets the incomplete link k: it completed, expired or was
// dropped. It reports false when admission no longer knew it.
func (a *admission) linkDone(k linkKey) bool {
	l := a.links[k]
	if l == nil {
		return false
	}
	a.dropLink(l)
	return true
}

func (a *admission) dropHandshake(h *admHandshake) {
	a.stages[h.stage].Remove(h.el)
	delete(a.hs, h.id)
	if a.perAddr[h.addr]--; a.perAddr[h.addr] <= 0 {
		delete(a.perAddr, h.addr)
	}
	a.conns--
}

func (a *admission) dropLink(l *admLink) {
	a.order.Remove(l.el)
	delete(a.links, l.key)
	if a.perPeer[l.key.name]--; a.perPeer[l.key.name] <= 0 {
		delete(a.perPeer, l.key.name)
	}
	a.conns -= l.lanes
}

// counts reports the handshakes in progress, the incomplete links and the
// connections held.
func (a *admission) counts() (handshakes, links, conns int) {
	return len(a.hs), len(a.links), a.conns
}
