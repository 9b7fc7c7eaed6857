package wire

// PartitionReport is the body of a TypePartitionReport frame: Reporter saw
// Peer (same GUID as before) come back after it had marked it down, and tells
// the leader.
//
//	str16 reporter node name
//	str16 peer node name
//	16B   peer GUID
//	u64   when the partition was seen, Unix milliseconds
type PartitionReport struct {
	Reporter   []byte
	Peer       []byte
	PeerGUID   [GUIDSize]byte
	SeenMillis uint64
}

func (*PartitionReport) Type() Type { return TypePartitionReport }

func (m *PartitionReport) Append(b []byte) []byte {
	b = appendStr16(b, m.Reporter)
	b = appendStr16(b, m.Peer)
	b = append(b, m.PeerGUID[:]...)
	return appendU64(b, m.SeenMillis)
}

func (m *PartitionReport) Decode(b []byte) error {
	c := cursor{b: b, t: TypePartitionReport}
	m.Reporter = c.str16("reporter")
	m.Peer = c.str16("peer")
	c.guid("peer guid", &m.PeerGUID)
	m.SeenMillis = c.u64("seen time")
	return c.done()
}

// ViewRequest is the body of a TypeViewRequest frame: the leader asks for the
// receiver's view in autoheal round Round.
//
//	u64   round
type ViewRequest struct {
	Round uint64
}

func (*ViewRequest) Type() Type { return TypeViewRequest }

func (m *ViewRequest) Append(b []byte) []byte { return appendU64(b, m.Round) }

func (m *ViewRequest) Decode(b []byte) error {
	c := cursor{b: b, t: TypeViewRequest}
	m.Round = c.u64("round")
	return c.done()
}

// ViewReply is the body of a TypeViewReply frame: the sender's view in round
// Round, the nodes it sees running and the nodes it sees down.
//
//	u64   round
//	u16   running count, then that many str16 node names
//	u16   down count, then that many str16 node names
//
// Decode fills Running and Down reusing their capacity.
type ViewReply struct {
	Round   uint64
	Running [][]byte
	Down    [][]byte
}

func (*ViewReply) Type() Type { return TypeViewReply }

func (m *ViewReply) Append(b []byte) []byte {
	b = appendU64(b, m.Round)
	b = appendStr16List(b, m.Running)
	return appendStr16List(b, m.Down)
}

func (m *ViewReply) Decode(b []byte) error {
	c := cursor{b: b, t: TypeViewReply}
	m.Round = c.u64("round")
	m.Running = c.str16List("running", m.Running)
	m.Down = c.str16List("down", m.Down)
	if err := c.done(); err != nil {
		m.Running, m.Down = m.Running[:0], m.Down[:0]
		return err
	}
	return nil
}

// HealOrder is the body of a TypeHealOrder frame: in round Round, the
// coordinator orders the victims to drop their connections and rejoin it.
//
//	u64   round
//	str16 coordinator node name
//	u16   victim count, then that many str16 node names
//
// Decode fills Victims reusing its capacity.
type HealOrder struct {
	Round       uint64
	Coordinator []byte
	Victims     [][]byte
}

func (*HealOrder) Type() Type { return TypeHealOrder }

func (m *HealOrder) Append(b []byte) []byte {
	b = appendU64(b, m.Round)
	b = appendStr16(b, m.Coordinator)
	return appendStr16List(b, m.Victims)
}

func (m *HealOrder) Decode(b []byte) error {
	c := cursor{b: b, t: TypeHealOrder}
	m.Round = c.u64("round")
	m.Coordinator = c.str16("coordinator")
	m.Victims = c.str16List("victims", m.Victims)
	if err := c.done(); err != nil {
		m.Victims = m.Victims[:0]
		return err
	}
	return nil
}
