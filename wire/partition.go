package wire

import "fmt"

// The partition and autoheal messages (PROTOCOL.md section 6.5). The
// requests (PartitionReport, ViewRequest, HealOrder) are service messages:
// their body begins with the str16 name of the autoheal instance they are
// for, and they carry a non-zero header ID that their answer
// (PartitionAck, ViewReply, HealReply) echoes.

// PartitionReport is the body of a TypePartitionReport request: Reporter
// tells the autoheal leader the members it records a partition with. Fresh
// is set when a partition just occurred; a reminder of partitions still
// recorded is not fresh. The leader answers with a PartitionAck.
//
//	str16  service (the autoheal instance)
//	str16  reporter node name
//	u8     fresh: 1 a partition just occurred, 0 a reminder
//	list16 members the reporter records a partition with
//
// Decode fills Partitions reusing its capacity.
type PartitionReport struct {
	Service    []byte
	Reporter   []byte
	Fresh      bool
	Partitions [][]byte
}

func (*PartitionReport) Type() Type { return TypePartitionReport }

func (m *PartitionReport) Append(b []byte) []byte {
	b = appendStr16(b, m.Service)
	b = appendStr16(b, m.Reporter)
	b = appendFlag(b, m.Fresh)
	return appendStr16List(b, m.Partitions)
}

func (m *PartitionReport) Decode(b []byte) error {
	c := cursor{b: b, t: TypePartitionReport}
	m.Service = c.str16("service")
	m.Reporter = c.str16("reporter")
	m.Fresh = c.flag("fresh")
	m.Partitions = c.str16List("partitions", m.Partitions)
	if err := c.done(); err != nil {
		m.Partitions = m.Partitions[:0]
		return err
	}
	return nil
}

// PartitionAck is the body of a TypePartitionAck answer: Node, the leader
// the report was sent to, took it.
//
//	str16 node name (the node that took the report)
type PartitionAck struct {
	Node []byte
}

func (*PartitionAck) Type() Type { return TypePartitionAck }

func (m *PartitionAck) Append(b []byte) []byte { return appendStr16(b, m.Node) }

func (m *PartitionAck) Decode(b []byte) error {
	c := cursor{b: b, t: TypePartitionAck}
	m.Node = c.str16("node")
	return c.done()
}

// ViewRequest is the body of a TypeViewRequest request: the sender asks for
// the receiver's view of the cluster in round Round. The leader asks every
// member when it plans round Round; a coordinator asks a victim it ordered
// to heal in round Round, to learn how that heal goes (ViewReply.Heal).
//
//	str16 service (the autoheal instance)
//	str16 round
type ViewRequest struct {
	Service []byte
	Round   []byte
}

func (*ViewRequest) Type() Type { return TypeViewRequest }

func (m *ViewRequest) Append(b []byte) []byte {
	b = appendStr16(b, m.Service)
	return appendStr16(b, m.Round)
}

func (m *ViewRequest) Decode(b []byte) error {
	c := cursor{b: b, t: TypeViewRequest}
	m.Service = c.str16("service")
	m.Round = c.str16("round")
	return c.done()
}

// HealState is how a node's heal of one round goes, as a ViewReply carries
// it. Values other than the four below are malformed.
type HealState uint8

const (
	HealUnknown HealState = 0 // the node has no heal of that round
	HealRunning HealState = 1 // the node is healing itself in that round
	HealDone    HealState = 2 // the node rejoined the coordinator's cluster
	HealFailed  HealState = 3 // the node's heal failed (HealError says why)
)

// Valid reports whether s is one of the defined heal states.
func (s HealState) Valid() bool { return s <= HealFailed }

func (s HealState) String() string {
	switch s {
	case HealUnknown:
		return "unknown"
	case HealRunning:
		return "running"
	case HealDone:
		return "done"
	case HealFailed:
		return "failed"
	}
	return fmt.Sprintf("heal-state(%d)", uint8(s))
}

// ViewReply is the body of a TypeViewReply answer: the sender's view of its
// cluster, and how its own heal of the round asked about goes.
//
//	str16  node name (the sender)
//	16B    node GUID
//	u8     healing: 1 while the node runs a heal, as coordinator or victim
//	list16 running nodes (those it has a link to, and itself)
//	list16 stopped nodes (members it has no link to)
//	list16 members it records a partition with
//	u8     heal state of the round asked about (HealState)
//	rest   heal error, when the heal state is failed
//
// Decode fills Running, Stopped and Partitions reusing their capacity.
type ViewReply struct {
	Node       []byte
	GUID       [GUIDSize]byte
	Healing    bool
	Running    [][]byte
	Stopped    [][]byte
	Partitions [][]byte
	Heal       HealState
	HealError  []byte
}

func (*ViewReply) Type() Type { return TypeViewReply }

func (m *ViewReply) Append(b []byte) []byte {
	b = appendStr16(b, m.Node)
	b = append(b, m.GUID[:]...)
	b = appendFlag(b, m.Healing)
	b = appendStr16List(b, m.Running)
	b = appendStr16List(b, m.Stopped)
	b = appendStr16List(b, m.Partitions)
	b = append(b, uint8(m.Heal))
	return append(b, m.HealError...)
}

func (m *ViewReply) Decode(b []byte) error {
	c := cursor{b: b, t: TypeViewReply}
	m.Node = c.str16("node")
	c.guid("guid", &m.GUID)
	m.Healing = c.flag("healing")
	m.Running = c.str16List("running", m.Running)
	m.Stopped = c.str16List("stopped", m.Stopped)
	m.Partitions = c.str16List("partitions", m.Partitions)
	m.Heal = HealState(c.u8("heal state"))
	m.HealError = c.rest()
	err := c.done()
	if err == nil && !m.Heal.Valid() {
		err = malformed(TypeViewReply, "heal state is %d, want %d..%d (unknown, running, done, failed)", uint8(m.Heal), HealUnknown, HealFailed)
	}
	if err != nil {
		m.Running, m.Stopped, m.Partitions = m.Running[:0], m.Stopped[:0], m.Partitions[:0]
	}
	return err
}

// HealOrder is the body of a TypeHealOrder request: in round Round, which
// Leader planned, Coordinator heals Victims into its cluster. The receiver
// does its part and answers with a HealReply: the coordinator (the leader
// sends it the order) heals the victims one at a time, sending each a
// HealOrder that names only it; a victim heals itself into the
// coordinator's cluster.
//
//	str16  service (the autoheal instance)
//	str16  round
//	str16  leader node name (planned the round)
//	str16  coordinator node name
//	list16 victim node names, in the order they are healed
//	rest   reason, for people
//
// Decode fills Victims reusing its capacity.
type HealOrder struct {
	Service     []byte
	Round       []byte
	Leader      []byte
	Coordinator []byte
	Victims     [][]byte
	Reason      []byte
}

func (*HealOrder) Type() Type { return TypeHealOrder }

func (m *HealOrder) Append(b []byte) []byte {
	b = appendStr16(b, m.Service)
	b = appendStr16(b, m.Round)
	b = appendStr16(b, m.Leader)
	b = appendStr16(b, m.Coordinator)
	b = appendStr16List(b, m.Victims)
	return append(b, m.Reason...)
}

func (m *HealOrder) Decode(b []byte) error {
	c := cursor{b: b, t: TypeHealOrder}
	m.Service = c.str16("service")
	m.Round = c.str16("round")
	m.Leader = c.str16("leader")
	m.Coordinator = c.str16("coordinator")
	m.Victims = c.str16List("victims", m.Victims)
	m.Reason = c.rest()
	if err := c.done(); err != nil {
		m.Victims = m.Victims[:0]
		return err
	}
	return nil
}

// HealReply is the body of a TypeHealReply answer: whether the receiver of
// a HealOrder took its part, and if not, why.
//
//	u8   accepted: 1 the receiver does its part, 0 it refused
//	rest reason for the refusal (empty when accepted)
type HealReply struct {
	Accepted bool
	Reason   []byte
}

func (*HealReply) Type() Type { return TypeHealReply }

func (m *HealReply) Append(b []byte) []byte {
	b = appendFlag(b, m.Accepted)
	return append(b, m.Reason...)
}

func (m *HealReply) Decode(b []byte) error {
	c := cursor{b: b, t: TypeHealReply}
	m.Accepted = c.flag("accepted")
	m.Reason = c.rest()
	return c.done()
}

func appendFlag(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// flag decodes a u8 that must be 0 (false) or 1 (true): any other value is
// malformed, so every encoding stays canonical.
func (c *cursor) flag(field string) bool {
	v := c.u8(field)
	if c.err == nil && v > 1 {
		c.err = malformed(c.t, "%s is %d, want 0 or 1", field, v)
		c.b = nil
	}
	return v == 1
}

// Reachability is the body of a TypeReachability service message, sent
// one-way (header ID 0) by a split-brain resolver to every member that runs
// one. It carries what the sender knows of who reaches whom: an entry for
// itself, and the latest entry it holds for each other member (relayed), so
// that every node of a connected part of the cluster learns the links of
// all of it. Strategy names the strategy the sender runs, so that a
// receiver can warn about a mismatch.
//
//	str16  service (the resolver instance, "splitbrain")
//	str16  strategy (keep-majority, keep-oldest, static-quorum, down-all)
//	u16    entry count, then each entry:
//	  str16  node name
//	  u64    version: larger for a later entry of the same node
//	  u8     serving: 1 serving, 0 stopped (it lost a decision)
//	  list16 reach: the members the node has a link to, itself excluded
type Reachability struct {
	Service  []byte
	Strategy []byte
	Entries  []ReachEntry
}

// ReachEntry is one node's reachability, in a Reachability message.
type ReachEntry struct {
	Node    []byte
	Version uint64
	Serving bool
	Reach   [][]byte
}

// reachEntryMinSize is the least bytes an entry takes: an empty name, the
// version, the flag and an empty list.
const reachEntryMinSize = 2 + 8 + 1 + 2

func (*Reachability) Type() Type { return TypeReachability }

func (m *Reachability) Append(b []byte) []byte {
	b = appendStr16(b, m.Service)
	b = appendStr16(b, m.Strategy)
	b = appendU16(b, uint16(len(m.Entries)))
	for _, e := range m.Entries {
		b = appendStr16(b, e.Node)
		b = appendU64(b, e.Version)
		b = appendFlag(b, e.Serving)
		b = appendStr16List(b, e.Reach)
	}
	return b
}

func (m *Reachability) Decode(b []byte) error {
	c := cursor{b: b, t: TypeReachability}
	m.Service = c.str16("service")
	m.Strategy = c.str16("strategy")
	n := int(c.u16("entry count"))
	m.Entries = m.Entries[:0]
	if c.err == nil && n*reachEntryMinSize > len(c.b) {
		c.fail("entries")
	}
	for range n {
		var e ReachEntry
		e.Node = c.str16("entry node")
		e.Version = c.u64("entry version")
		e.Serving = c.flag("entry serving")
		e.Reach = c.str16List("entry reach", nil)
		if c.err != nil {
			break
		}
		m.Entries = append(m.Entries, e)
	}
	if err := c.done(); err != nil {
		m.Entries = m.Entries[:0]
		return err
	}
	return nil
}
