package mesh

import "strconv"

// Link admission: exactly one link per pair of nodes (docs/ARCHITECTURE.md,
// "Link admission and one link per pair"). This file only decides: the
// decisions are functions of the facts they are given, and linkSet keeps
// the bookkeeping that follows from them. It does no I/O, starts no
// goroutine and logs nothing; the node (links.go) gathers the facts under
// n.mu, asks, and acts on the answer (closing, starting, retiring links)
// once n.mu is released.

// linkFacts are what link admission knows of one link.
type linkFacts struct {
	peer   string // the peer's name
	guid   GUID   // the peer's incarnation
	hidden bool   // a hidden client's link, never a member's
	dialed bool   // this node dialed it
	closed bool   // its connection has closed; its linkDown may not have run yet
}

// admitFacts are what link admission knows when a new link is up.
type admitFacts struct {
	stopping bool       // this node is stopping
	left     bool       // this node left the cluster the peer is in (Node.leftFrom)
	nu       linkFacts  // the new link
	old      *linkFacts // the current link to the same peer; nil if none
}

// admitVerdict is what becomes of a new link.
type admitVerdict uint8

const (
	// admitRefuseStopping: this node is stopping; close the link
	// (wire.CodeShutdown).
	admitRefuseStopping admitVerdict = iota + 1
	// admitRefuseSelf: the peer has this node's own name; close the link
	// (wire.CodeRefused).
	admitRefuseSelf
	// admitTellLeft: this node left the peer's cluster; tell the peer it
	// left, then close (Node.sayLeft).
	admitTellLeft
	// admitHidden: a hidden client; serve it, it is not a member.
	admitHidden
	// admitKeep: no usable link to the peer (none, or the old one to the
	// same incarnation has closed): the new link is the peer's link.
	admitKeep
	// admitRetire: the current link to the same incarnation wins; the new
	// one serves what the peer may already send on it, then retires.
	admitRetire
	// admitReplace: the new link wins over the current one to the same
	// incarnation, which retires once idle.
	admitReplace
	// admitRestart: the current link leads to an earlier incarnation (the
	// peer restarted with a new GUID): the new link replaces it, and it is
	// closed at once (wire.CodeDuplicateLink).
	admitRestart
)

var admitNames = [...]string{
	admitRefuseStopping: "refuse-stopping", admitRefuseSelf: "refuse-self", admitTellLeft: "tell-left",
	admitHidden: "hidden", admitKeep: "keep", admitRetire: "retire", admitReplace: "replace", admitRestart: "restart",
}

func (v admitVerdict) String() string {
	if int(v) < len(admitNames) && admitNames[v] != "" {
		return admitNames[v]
	}
	return "admitVerdict(" + strconv.Itoa(int(v)) + ")"
}

// decideAdmit decides the fate of a new link of node self. A link that is
// kept may still be refused by the member table when it is full
// (memberTable.observeUp returns changeRefused): that decision is the
// table's, and linkSet.drop undoes the admission.
func decideAdmit(self string, f admitFacts) admitVerdict {
	switch {
	case f.stopping:
		return admitRefuseStopping
	case f.nu.hidden:
		return admitHidden
	case f.nu.peer == self:
		return admitRefuseSelf
	case f.left:
		return admitTellLeft
	case f.old == nil:
		return admitKeep
	case f.old.guid != f.nu.guid:
		return admitRestart
	case f.old.closed:
		// The old link has closed and its linkDown has not run yet: the new
		// link takes its place (linkDown then finds it replaced), and the
		// member never counts as down.
		return admitKeep
	case prefers(self, f.nu, *f.old):
		return admitReplace
	}
	return admitRetire
}

// prefers reports whether node self keeps the new link nu rather than old,
// two links to the same incarnation of the same peer. Both ends compute the
// same answer: the link dialed by the node whose name is smaller (as
// strings: "n10" < "n5") wins; between two links dialed by the same side,
// the newer one wins (the old one is probably dead).
func prefers(self string, nu, old linkFacts) bool {
	dialer := func(f linkFacts) string {
		if f.dialed {
			return self
		}
		return f.peer
	}
	dn, do := dialer(nu), dialer(old)
	if dn == do {
		return true
	}
	return dn == min(self, nu.peer)
}

// downFacts are what link admission knows when a link's connection has
// closed.
type downFacts struct {
	hidden     bool // a hidden client's link
	retired    bool // a duplicate that was retiring
	current    bool // still the current link to its peer
	stopping   bool // this node is stopping
	superseded bool // the peer closed it as a duplicate (supersededByPeer)
}

// downVerdict is what a closed link means.
type downVerdict uint8

const (
	// downForget: a hidden client's link, a retired duplicate, or a link
	// that was already replaced: nothing changes for the member.
	downForget downVerdict = iota + 1
	// downStopping: the current link of a node that is stopping: it is
	// forgotten, and no event is published.
	downStopping
	// downSuperseded: the peer closed the current link because it keeps
	// another one to this node, not adopted yet. The member stays up unless
	// that link fails to come within the handshake timeout (maintain).
	downSuperseded
	// downLost: the member is down; a redial is scheduled.
	downLost
)

var downNames = [...]string{downForget: "forget", downStopping: "stopping", downSuperseded: "superseded", downLost: "lost"}

func (v downVerdict) String() string {
	if int(v) < len(downNames) && downNames[v] != "" {
		return downNames[v]
	}
	return "downVerdict(" + strconv.Itoa(int(v)) + ")"
}

// decideDown decides what a closed link means for its member.
func decideDown(f downFacts) downVerdict {
	switch {
	case f.hidden, f.retired, !f.current:
		return downForget
	case f.stopping:
		return downStopping
	case f.superseded:
		// Simultaneous dials, or a newer link replacing this one: marking
		// the member down would turn the other link's arrival into a
		// partition.
		return downSuperseded
	}
	return downLost
}

// linkSet holds a node's links: the current link to each member, the links
// of hidden clients, and the duplicates retiring. L is the link handle
// (*link in a node); facts reads what admission needs to know of one.
// Guarded by the node's mutex.
type linkSet[L comparable] struct {
	self    string
	facts   func(L) linkFacts
	current map[string]L   // by peer name
	hidden  map[L]struct{} // hidden clients' links
	retired map[L]struct{} // duplicates draining before they close
}

func newLinkSet[L comparable](self string, facts func(L) linkFacts) *linkSet[L] {
	return &linkSet[L]{
		self: self, facts: facts,
		current: make(map[string]L),
		hidden:  make(map[L]struct{}),
		retired: make(map[L]struct{}),
	}
}

// admission is the decision about a new link, and the link it displaces:
// for admitReplace the old link to retire, for admitRestart the old link to
// close.
type admission[L comparable] struct {
	verdict admitVerdict
	old     L
}

// admit decides the fate of the new link lk and records it: a kept link
// becomes its peer's current link, a hidden or retiring one is filed as
// such, the link it displaces is retired or forgotten. The caller acts on
// the answer.
func (s *linkSet[L]) admit(lk L, stopping, left bool) admission[L] {
	f := admitFacts{stopping: stopping, left: left, nu: s.facts(lk)}
	old, ok := s.current[f.nu.peer]
	if ok {
		of := s.facts(old)
		f.old = &of
	}
	a := admission[L]{verdict: decideAdmit(s.self, f)}
	switch a.verdict {
	case admitHidden:
		s.hidden[lk] = struct{}{}
	case admitRetire:
		s.retired[lk] = struct{}{}
	case admitKeep:
		s.current[f.nu.peer] = lk
	case admitReplace:
		s.current[f.nu.peer] = lk
		s.retired[old] = struct{}{}
		a.old = old
	case admitRestart:
		s.current[f.nu.peer] = lk
		a.old = old
	}
	return a
}

// drop forgets lk as its peer's current link: the member table refused it.
func (s *linkSet[L]) drop(lk L) {
	peer := s.facts(lk).peer
	if cur, ok := s.current[peer]; ok && cur == lk {
		delete(s.current, peer)
	}
}

// down decides what the close of lk means and forgets it. superseded says
// whether the peer closed it as a duplicate.
func (s *linkSet[L]) down(lk L, stopping, superseded bool) downVerdict {
	peer := s.facts(lk).peer
	f := downFacts{stopping: stopping, superseded: superseded}
	_, f.hidden = s.hidden[lk]
	_, f.retired = s.retired[lk]
	cur, ok := s.current[peer]
	f.current = ok && cur == lk
	v := decideDown(f)
	switch {
	case f.hidden:
		delete(s.hidden, lk)
	case f.retired:
		delete(s.retired, lk)
	case f.current:
		delete(s.current, peer)
	}
	return v
}

// all returns every link: current, hidden and retiring.
func (s *linkSet[L]) all() []L {
	out := make([]L, 0, len(s.current)+len(s.hidden)+len(s.retired))
	for _, lk := range s.current {
		out = append(out, lk)
	}
	for lk := range s.hidden {
		out = append(out, lk)
	}
	for lk := range s.retired {
		out = append(out, lk)
	}
	return out
}

// members returns the links to members: current and retiring. A peer reads
// each link in its own goroutine, and a retiring one may carry an older
// announcement (told when it was adopted, before it lost to its duplicate):
// when every link to the peer ends with the newest one, the peer applies
// the newest last, whatever order it reads them in.
func (s *linkSet[L]) members() []L {
	out := make([]L, 0, len(s.current)+len(s.retired))
	for _, lk := range s.current {
		out = append(out, lk)
	}
	for lk := range s.retired {
		out = append(out, lk)
	}
	return out
}
