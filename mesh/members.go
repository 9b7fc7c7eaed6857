package mesh

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// MemberInfo is one member as this node sees it.
type MemberInfo struct {
	Node   string `json:"node"`
	Status Status `json:"status"`
	GUID   GUID   `json:"guid"`
	// Since is when the member entered Status, on this node's clock.
	Since time.Time `json:"-"`
	// Services are the services the member says it runs (Node.AddService),
	// such as "autoheal", sorted; empty until the member tells this node over
	// its own link. Autoheal elects its leader among the members that run it.
	Services []string `json:"services,omitempty"`
	// Version is the software version the member runs (Config.Version),
	// as it told this node over its own link with its services; "" until
	// then, or when it does not say.
	Version string `json:"version,omitempty"`
	// Tags are the key/value tags the member carries (Config.Tags,
	// Node.SetTags), as it told this node over its own link; nil until
	// then, or when it has none. Each MemberInfo holds its own copy.
	Tags map[string]string `json:"tags,omitempty"`
	// Suspended is why the member stopped serving the application (its
	// side lost a split-brain decision: Node.Suspend), as it told this node
	// over its own link; "" while it serves, or until it says. A suspended
	// member is up: it keeps its links and answers the built-in methods.
	Suspended string `json:"suspended,omitempty"`
}

// changeKind says what an observation did to the member table.
type changeKind uint8

const (
	// changeNone: the observation changed nothing (a duplicate, the self
	// node, an unknown node or bad input).
	changeNone changeKind = iota
	// changeNew: a node this table did not hold came up; it is now a member.
	changeNew
	// changeUp: a member came up with no partition: its first link since it
	// was learned from a peer, or a reconnect after it went down while
	// joining, healing or leaving (it dropped its links on purpose).
	changeUp
	// changeRestart: a member came up with a GUID other than the recorded
	// one. It restarted; that is not a partition, and a partition recorded
	// for it is cleared (change.PartitionCleared).
	changeRestart
	// changePartition: a member this node had marked down while it was up
	// came back with the same GUID: both sides kept running apart. The
	// partition stays recorded until clearPartition, a restart or removal.
	changePartition
	// changeDown: this node lost its link to a member.
	changeDown
	// changeStatus: a member announced a new status (joining, up, healing,
	// leaving).
	changeStatus
	// changeRemoved: a member was removed (leave, force-leave, autoclean).
	// The table reports removals as names; the node uses this kind for them.
	changeRemoved
	// changeLearned: a member was learned from a peer's member table and is
	// recorded as down until this node links to it.
	changeLearned
	// changeRefused: a node linked to this node while the table held its
	// limit of members and no member learned second-hand (never linked) could
	// make room: the node is not a member and its link must be closed.
	changeRefused
)

var changeNames = [...]string{
	changeNone: "none", changeNew: "new", changeUp: "up", changeRestart: "restart",
	changePartition: "partition", changeDown: "down", changeStatus: "status",
	changeRemoved: "removed", changeLearned: "learned", changeRefused: "refused",
}

func (k changeKind) String() string {
	if int(k) < len(changeNames) {
		return changeNames[k]
	}
	return fmt.Sprintf("change(%d)", uint8(k))
}

// change describes what one observation did to one member.
type change struct {
	Kind      changeKind
	Node      string
	GUID      GUID   // the member's GUID after the change
	OldGUID   GUID   // the GUID recorded before a restart
	Status    Status // the member's status after the change
	OldStatus Status // the status before the change (0 for a new member)
	// PartitionCleared is set when the change cleared a recorded partition
	// (a restart or a removal).
	PartitionCleared bool
	// Evicted names the member removed to make room for a new one (changeNew
	// on a full table): one learned second-hand that this node never linked
	// to, the longest known.
	Evicted string
}

// member is one row of the table.
type member struct {
	info MemberInfo
	// linked is true once this node has had a link to the member's current
	// incarnation. A member learned from a peer is not linked, so its first
	// link is not mistaken for a reconnect.
	linked bool
	// downFrom is the status the member had when this node marked it down.
	downFrom Status
	// partitioned records a partition with the member until cleared.
	partitioned bool
}

// memberTable is this node's member table: pure decision logic fed with
// observations and the time they happened. It does no I/O, reads no clock
// and is not safe for concurrent use; the node serialises access.
//
// Rules:
//   - The self node is always a member, up (or the status it announced), with
//     its own GUID. It never goes down and is never removed or overwritten.
//   - A link lost marks a member down; the member stays until removed.
//   - A link made with a GUID other than the recorded one is a restart.
//   - A link made with the recorded GUID to a member this node had marked
//     down while it was up is a partition (docs/ARCHITECTURE.md, "The member
//     state machine"): recorded until cleared.
//     A member that went down while joining, healing or leaving dropped its
//     links on purpose, so its return is no partition.
//   - Members learned from a peer (merge) are added as down until this node
//     links to them: Info then shows what this node can actually reach, the
//     redial loop connects to them like any down member, and forgetUnreached
//     (or autoclean) drops those that never answer.
//   - The table holds at most limit members, itself included (0: no limit).
//     merge learns no member beyond it; a node that links while the table is
//     full takes the place of the longest-known member never linked to, or
//     is refused (changeRefused) when every member has been linked.
type memberTable struct {
	self    string
	members map[string]*member
	limit   int
}

func newMemberTable(self string, selfGUID GUID, now time.Time) *memberTable {
	t := &memberTable{self: self, members: make(map[string]*member)}
	t.members[self] = &member{
		info:   MemberInfo{Node: self, Status: StatusUp, GUID: selfGUID, Since: now},
		linked: true,
	}
	return t
}

// observeUp records that this node has a link to node, whose handshake gave
// guid.
func (t *memberTable) observeUp(node string, guid GUID, now time.Time) change {
	if node == t.self || guid.IsZero() || !validNodeName(node) {
		return change{Kind: changeNone, Node: node}
	}
	m, ok := t.members[node]
	if !ok {
		evicted := ""
		if t.full() {
			evicted = t.oldestUnlinked()
			if evicted == "" {
				return change{Kind: changeRefused, Node: node, GUID: guid}
			}
			delete(t.members, evicted)
		}
		t.members[node] = &member{
			info:   MemberInfo{Node: node, Status: StatusUp, GUID: guid, Since: now},
			linked: true,
		}
		return change{Kind: changeNew, Node: node, GUID: guid, Status: StatusUp, Evicted: evicted}
	}
	c := change{Node: node, GUID: guid, OldStatus: m.info.Status, Status: StatusUp}
	switch {
	case !m.linked:
		c.Kind = changeUp
		if m.info.GUID != guid && !m.info.GUID.IsZero() {
			c.OldGUID = m.info.GUID
		}
	case m.info.GUID != guid:
		c.Kind = changeRestart
		c.OldGUID = m.info.GUID
		c.PartitionCleared = m.partitioned
		m.partitioned = false
		m.info.Services = nil // the new incarnation tells its own
		m.info.Version = ""
		m.info.Tags = nil
		m.info.Suspended = ""
	case m.info.Status != StatusDown:
		return change{Kind: changeNone, Node: node, GUID: guid, Status: m.info.Status, OldStatus: m.info.Status}
	case m.downFrom == StatusUp:
		c.Kind = changePartition
		m.partitioned = true
	default:
		c.Kind = changeUp
	}
	m.info.GUID = guid
	m.info.Status = StatusUp
	m.info.Since = now
	m.linked = true
	m.downFrom = 0
	return c
}

// observeDown records that this node lost its link to node (a connection
// error or a heartbeat timeout). Members already down stay as they are.
func (t *memberTable) observeDown(node string, now time.Time) change {
	m, ok := t.members[node]
	if !ok || node == t.self || m.info.Status == StatusDown {
		return change{Kind: changeNone, Node: node}
	}
	c := change{Kind: changeDown, Node: node, GUID: m.info.GUID, OldStatus: m.info.Status, Status: StatusDown}
	m.downFrom = m.info.Status
	m.info.Status = StatusDown
	m.info.Since = now
	return c
}

// setStatus records a status a member announced (joining, up, healing,
// leaving). StatusDown is observeDown. A member this node has no link to
// keeps its down status: it comes back through observeUp. Unknown nodes and
// undefined statuses change nothing.
func (t *memberTable) setStatus(node string, s Status, now time.Time) change {
	if s == StatusDown {
		return t.observeDown(node, now)
	}
	m, ok := t.members[node]
	if !ok || !s.Valid() || m.info.Status == StatusDown || m.info.Status == s {
		return change{Kind: changeNone, Node: node}
	}
	c := change{Kind: changeStatus, Node: node, GUID: m.info.GUID, OldStatus: m.info.Status, Status: s}
	m.info.Status = s
	m.info.Since = now
	return c
}

// remove deletes node from the table (leave, force-leave) with any partition
// recorded for it. The self node cannot be removed.
func (t *memberTable) remove(node string) bool {
	if node == t.self {
		return false
	}
	if _, ok := t.members[node]; !ok {
		return false
	}
	delete(t.members, node)
	return true
}

// merge folds in a peer's member table with no budget for new members (see
// mergeLimited).
func (t *memberTable) merge(entries []MemberInfo, now time.Time) []change {
	changes, _ := t.mergeLimited(entries, now, -1)
	return changes
}

// mergeDrops counts the new members a merge did not learn.
type mergeDrops struct {
	Full int // the table held its limit of members
	Rate int // the budget for new members was spent
}

// Total is the number of members dropped.
func (d mergeDrops) Total() int { return d.Full + d.Rate }

// mergeLimited folds in a peer's member table. Local knowledge wins: a
// member this node has linked to keeps its status and GUID (this node's link
// is the authority on both, and taking a peer's GUID would disguise a
// restart or a partition). Unknown members are added as down until linked
// (changeLearned), at most budget of them (negative: no budget) and only
// while the table is below its limit; the others are dropped and counted. A
// member learned earlier but never linked takes a newer GUID. Rows for self,
// with a bad name or with an undefined status are ignored. It returns the
// changes it made and what it dropped.
func (t *memberTable) mergeLimited(entries []MemberInfo, now time.Time, budget int) ([]change, mergeDrops) {
	var changes []change
	var drops mergeDrops
	for _, e := range entries {
		if e.Node == t.self || !validNodeName(e.Node) || !e.Status.Valid() {
			continue
		}
		m, ok := t.members[e.Node]
		if !ok {
			switch {
			case t.full():
				drops.Full++
				continue
			case budget == 0:
				drops.Rate++
				continue
			case budget > 0:
				budget--
			}
			t.members[e.Node] = &member{info: MemberInfo{Node: e.Node, Status: StatusDown, GUID: e.GUID, Since: now}}
			changes = append(changes, change{Kind: changeLearned, Node: e.Node, GUID: e.GUID, Status: StatusDown})
			continue
		}
		if !m.linked && !e.GUID.IsZero() && (m.info.GUID.IsZero() || e.GUID.Compare(m.info.GUID) > 0) {
			m.info.GUID = e.GUID
		}
	}
	return changes, drops
}

// full reports whether the table holds its limit of members.
func (t *memberTable) full() bool { return t.limit > 0 && len(t.members) >= t.limit }

// oldestUnlinked returns the member learned second-hand and never linked
// that has been known the longest (names break ties), or "".
func (t *memberTable) oldestUnlinked() string {
	best := ""
	var since time.Time
	for name, m := range t.members {
		if m.linked || name == t.self {
			continue
		}
		if best == "" || m.info.Since.Before(since) || m.info.Since.Equal(since) && name < best {
			best, since = name, m.info.Since
		}
	}
	return best
}

// reached reports whether this node has linked to node's current
// incarnation at some point (a member learned second-hand has not).
func (t *memberTable) reached(node string) bool {
	m, ok := t.members[node]
	return ok && m.linked
}

// forgetUnreached removes the members learned second-hand that this node
// has never linked to and that were learned longer than after ago, and
// returns their names, sorted. A name a peer announced but that never
// answers (a fake member, or a node long gone) is dropped instead of being
// redialed until autoclean. after <= 0 disables it.
func (t *memberTable) forgetUnreached(now time.Time, after time.Duration) []string {
	if after <= 0 {
		return nil
	}
	var removed []string
	for name, m := range t.members {
		if name != t.self && !m.linked && m.info.Status == StatusDown && now.Sub(m.info.Since) > after {
			removed = append(removed, name)
		}
	}
	slices.Sort(removed)
	for _, name := range removed {
		delete(t.members, name)
	}
	return removed
}

// nextUnreachedExpiry returns when the next member never reached will be
// older than after (forgetUnreached removes it just after), and false when
// there is none.
func (t *memberTable) nextUnreachedExpiry(after time.Duration) (time.Time, bool) {
	var first time.Time
	found := false
	for name, m := range t.members {
		if name == t.self || m.linked || m.info.Status != StatusDown {
			continue
		}
		if at := m.info.Since.Add(after); !found || at.Before(first) {
			first, found = at, true
		}
	}
	return first, found
}

// setServices records the services node announced for its incarnation guid
// over its own link, and reports whether they changed. A member this node is
// not linked to, or another incarnation, changes nothing.
func (t *memberTable) setServices(node string, guid GUID, services []string) bool {
	m, ok := t.members[node]
	if !ok || !m.linked || m.info.GUID != guid || slices.Equal(m.info.Services, services) {
		return false
	}
	m.info.Services = slices.Clip(slices.Clone(services))
	if len(m.info.Services) == 0 {
		m.info.Services = nil
	}
	return true
}

// setVersion records the version node announced for its incarnation guid
// over its own link, and reports whether it changed; like setServices, a
// member this node is not linked to, or another incarnation, changes
// nothing.
func (t *memberTable) setVersion(node string, guid GUID, version string) bool {
	m, ok := t.members[node]
	if !ok || !m.linked || m.info.GUID != guid || m.info.Version == version {
		return false
	}
	m.info.Version = version
	return true
}

// autoclean removes the members that have been down for longer than after
// and returns their names, sorted. after <= 0 disables it. The self node and
// members that are not down are never removed.
func (t *memberTable) autoclean(now time.Time, after time.Duration) []string {
	if after <= 0 {
		return nil
	}
	var removed []string
	for name, m := range t.members {
		if name != t.self && m.info.Status == StatusDown && now.Sub(m.info.Since) > after {
			removed = append(removed, name)
		}
	}
	slices.Sort(removed)
	for _, name := range removed {
		delete(t.members, name)
	}
	return removed
}

// snapshot returns every member, sorted by name.
func (t *memberTable) snapshot() []MemberInfo {
	out := make([]MemberInfo, 0, len(t.members))
	for _, m := range t.members {
		info := m.info // Services is replaced, never changed in place: sharing it is safe
		info.Tags = cloneTags(info.Tags)
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b MemberInfo) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// get returns one member.
func (t *memberTable) get(node string) (MemberInfo, bool) {
	m, ok := t.members[node]
	if !ok {
		return MemberInfo{}, false
	}
	return m.info, true
}

// partitions returns the members with a recorded partition, sorted.
func (t *memberTable) partitions() []string {
	out := []string{}
	for name, m := range t.members {
		if m.partitioned {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// clearPartition forgets the partition recorded for node (healed, or cleared
// by an operator) and reports whether there was one.
func (t *memberTable) clearPartition(node string) bool {
	m, ok := t.members[node]
	if !ok || !m.partitioned {
		return false
	}
	m.partitioned = false
	return true
}

// validNodeName reports whether name has the shape short@host: at most
// portmap.MaxNameLen bytes, exactly one '@', a short name of [A-Za-z0-9_.-]
// and a host without spaces or control characters. portmap owns the full
// rule (ports, IP literals); this is the shape check the member table and
// autocluster need to reject garbage.
func validNodeName(name string) bool {
	if len(name) > portmap.MaxNameLen {
		return false
	}
	short, host, ok := strings.Cut(name, "@")
	if !ok || short == "" || host == "" || strings.Contains(host, "@") {
		return false
	}
	for _, r := range short {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	for _, r := range host {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// Services: a node advertises the services it runs (AddService) to its
// peers, which show them in MemberInfo.Services.
const (
	// MaxServices is the most services a node advertises.
	MaxServices = 16
	// MaxServiceLen is the longest service name, in bytes.
	MaxServiceLen = 64
)

// checkServiceName reports a service name that is empty, longer than
// MaxServiceLen or holds a character outside [A-Za-z0-9_.-].
func checkServiceName(name string) error { return checkWord("service name", name, MaxServiceLen) }

// checkWord reports a word (a service name, a tag key) that is empty,
// longer than maxLen or holds a character outside [A-Za-z0-9_.-]; what
// names it in the error.
func checkWord(what, word string, maxLen int) error {
	if word == "" || len(word) > maxLen {
		return fmt.Errorf("%s %.80q is %d bytes long, want 1..%d", what, word, len(word), maxLen)
	}
	for i := 0; i < len(word); i++ {
		c := word[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%s %q: byte %d (%q) is not allowed, want only A-Z a-z 0-9 _ . -", what, word, i+1, c)
		}
	}
	return nil
}

// MaxVersionLen is the longest version a node announces (Config.Version),
// in bytes.
const MaxVersionLen = 64

// checkVersion reports a version that is longer than MaxVersionLen or holds
// a byte outside printable ASCII (no space), so that a peer's version is
// safe to show in a terminal or a log.
func checkVersion(v string) error {
	if len(v) > MaxVersionLen {
		return fmt.Errorf("version %.80q is %d bytes long, want at most %d", v, len(v), MaxVersionLen)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f {
			return fmt.Errorf("version %q: byte %d (%q) is not allowed, want printable ASCII without spaces, such as v1.2.3", v, i+1, c)
		}
	}
	return nil
}

// parseServices checks a service set a peer announced and returns it sorted
// and without duplicates.
func parseServices(names [][]byte) ([]string, error) {
	if len(names) > MaxServices {
		return nil, fmt.Errorf("%d services, want at most %d", len(names), MaxServices)
	}
	out := make([]string, 0, len(names))
	for _, b := range names {
		if err := checkServiceName(string(b)); err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// tokenBucket is a rate limit: it holds up to burst tokens and gains rate
// tokens per second. It reads no clock; the caller passes the time. The zero
// value holds nothing and gains nothing.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, burst int, now time.Time) tokenBucket {
	b := float64(max(burst, 1))
	return tokenBucket{rate: rate, burst: b, tokens: b, last: now}
}

func (b *tokenBucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// available returns the whole tokens the bucket holds at now.
func (b *tokenBucket) available(now time.Time) int {
	b.refill(now)
	return int(b.tokens)
}

// spend takes n tokens (at most what the bucket holds).
func (b *tokenBucket) spend(now time.Time, n int) {
	b.refill(now)
	b.tokens = math.Max(0, b.tokens-float64(n))
}

// untilNext returns how long until the bucket holds a whole token (0 when
// it does; an hour when it never refills).
func (b *tokenBucket) untilNext(now time.Time) time.Duration {
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	if b.rate <= 0 {
		return time.Hour
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}
