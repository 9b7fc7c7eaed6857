package wire

import "fmt"

// Status is a member's status as carried in membership messages.
//
// Only the values below are defined; a body carrying any other status byte
// (including 0) is malformed and Decode rejects it, because acting on a status
// the receiver does not understand could mark a live node down or a dead one
// up. A new status therefore needs a new protocol version.
type Status uint8

const (
	StatusJoining Status = 1 // announced, connecting to the members
	StatusUp      Status = 2 // connected and serving
	StatusHealing Status = 3 // rejoining after a partition heal
	StatusLeaving Status = 4 // leaving the cluster in an orderly way
	StatusDown    Status = 5 // unreachable; still a member until removed
)

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return s >= StatusJoining && s <= StatusDown }

func (s Status) String() string {
	switch s {
	case StatusJoining:
		return "joining"
	case StatusUp:
		return "up"
	case StatusHealing:
		return "healing"
	case StatusLeaving:
		return "leaving"
	case StatusDown:
		return "down"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

func (c *cursor) status(field string) Status {
	s := Status(c.u8(field))
	if c.err == nil && !s.Valid() {
		c.err = malformed(c.t, "%s is %d, want %d..%d (joining..down)", field, uint8(s), StatusJoining, StatusDown)
		c.b = nil
	}
	return s
}

func (c *cursor) guid(field string, dst *[GUIDSize]byte) {
	copy(dst[:], c.fixed(field, GUIDSize))
}

// Limits of the membership encodings: a count or a length in a 16-bit field.
// The encoders refuse (Validate, AppendValid) what the decoders could not
// read back, instead of writing a field that wraps.
const (
	// MaxMembers is the most entries a MemberTable can carry (its count is a u16).
	MaxMembers = 0xffff
	// MaxStr16 is the longest str16 field (a u16 length), such as a node name.
	MaxStr16 = 0xffff
	// MaxServices is the most service names a MemberServices can carry (a u16 count).
	MaxServices = 0xffff
)

// Validator is implemented by message bodies whose fields have limits that
// Append cannot express: Validate returns a *FrameError (CodeTooLarge for a
// count or length above its field, CodeMalformed for a value the decoder
// refuses) when the body would not decode as it was meant.
type Validator interface {
	Validate() error
}

// AppendValid appends m's encoded body to dst after checking, when m is a
// Validator, that the receiver can decode it: it refuses (and appends
// nothing) what Append would encode wrongly, such as a member table of
// 65,536 entries, whose u16 count would wrap to 0.
func AppendValid(dst []byte, m Message) ([]byte, error) {
	if v, ok := m.(Validator); ok {
		if err := v.Validate(); err != nil {
			return dst, err
		}
	}
	return m.Append(dst), nil
}

func tooLarge(t Type, format string, args ...any) error {
	return &FrameError{Code: CodeTooLarge, Type: t, Msg: fmt.Sprintf(format, args...)}
}

// checkStr16 refuses a str16 field longer than its u16 length can say.
func checkStr16(t Type, field string, s []byte) error {
	if len(s) > MaxStr16 {
		return tooLarge(t, "%s is %d bytes long; a str16 field holds at most %d", field, len(s), MaxStr16)
	}
	return nil
}

// checkStatus refuses a status the decoder would reject.
func checkStatus(t Type, field string, s Status) error {
	if !s.Valid() {
		return malformed(t, "%s is %d, want %d..%d (joining..down)", field, uint8(s), StatusJoining, StatusDown)
	}
	return nil
}

// MemberEntry is one row of a MemberTable.
type MemberEntry struct {
	Name        []byte
	GUID        [GUIDSize]byte
	Status      Status
	SinceMillis uint64 // when the member entered Status, Unix milliseconds
	Incarnation uint64 // version of this row; a higher one supersedes a lower one
}

// memberEntryMinSize is the encoded size of a MemberEntry with an empty name.
const memberEntryMinSize = 2 + GUIDSize + 1 + 8 + 8

// MemberTable is the body of a TypeMemberTable frame: the sender's full
// member table.
//
//	u16   count
//	count times:
//	  str16 name
//	  16B   GUID
//	  u8    status
//	  u64   status since, Unix milliseconds
//	  u64   incarnation
//
// Decode fills Members reusing its capacity, so a MemberTable kept between
// decodes allocates nothing once it has held the largest table seen. Names
// alias the decoded body.
//
// At most MaxMembers entries fit; Append writes the count's low 16 bits, so
// encode through AppendValid (or check Validate first).
type MemberTable struct {
	Members []MemberEntry
}

func (*MemberTable) Type() Type { return TypeMemberTable }

// Validate reports a table Decode could not read back: more than MaxMembers
// entries, a name longer than MaxStr16, or an undefined status.
func (m *MemberTable) Validate() error {
	if len(m.Members) > MaxMembers {
		return tooLarge(TypeMemberTable, "%d members; a member table holds at most %d (u16 count)", len(m.Members), MaxMembers)
	}
	for i := range m.Members {
		e := &m.Members[i]
		if err := checkStr16(TypeMemberTable, fmt.Sprintf("member %d name", i), e.Name); err != nil {
			return err
		}
		if err := checkStatus(TypeMemberTable, fmt.Sprintf("member %d (%.64s) status", i, e.Name), e.Status); err != nil {
			return err
		}
	}
	return nil
}

func (m *MemberTable) Append(b []byte) []byte {
	b = appendU16(b, uint16(len(m.Members)))
	for i := range m.Members {
		e := &m.Members[i]
		b = appendStr16(b, e.Name)
		b = append(b, e.GUID[:]...)
		b = append(b, uint8(e.Status))
		b = appendU64(b, e.SinceMillis)
		b = appendU64(b, e.Incarnation)
	}
	return b
}

func (m *MemberTable) Decode(b []byte) error {
	c := cursor{b: b, t: TypeMemberTable}
	n := int(c.u16("member count"))
	m.Members = m.Members[:0]
	if c.err == nil && n*memberEntryMinSize > len(c.b) {
		// Checked before Members grows, so a forged count cannot make
		// Decode allocate more than the body could hold.
		c.fail("members")
	}
	for range n {
		var e MemberEntry
		e.Name = c.str16("member name")
		c.guid("member guid", &e.GUID)
		e.Status = c.status("member status")
		e.SinceMillis = c.u64("member status since")
		e.Incarnation = c.u64("member incarnation")
		if c.err != nil {
			break
		}
		m.Members = append(m.Members, e)
	}
	if err := c.done(); err != nil {
		m.Members = m.Members[:0]
		return err
	}
	return nil
}

// Join is the body of a TypeJoin frame: Node (with this GUID) joins the
// cluster.
//
//	str16 node name
//	16B   GUID
type Join struct {
	Node []byte
	GUID [GUIDSize]byte
}

func (*Join) Type() Type { return TypeJoin }

// Validate reports a node name too long for its str16 field.
func (m *Join) Validate() error { return checkStr16(TypeJoin, "node", m.Node) }

func (m *Join) Append(b []byte) []byte {
	b = appendStr16(b, m.Node)
	return append(b, m.GUID[:]...)
}

func (m *Join) Decode(b []byte) error {
	c := cursor{b: b, t: TypeJoin}
	m.Node = c.str16("node")
	c.guid("guid", &m.GUID)
	return c.done()
}

// Leave is the body of a TypeLeave frame: Node (with this GUID) leaves the
// cluster.
//
//	str16 node name
//	16B   GUID
type Leave struct {
	Node []byte
	GUID [GUIDSize]byte
}

func (*Leave) Type() Type { return TypeLeave }

// Validate reports a node name too long for its str16 field.
func (m *Leave) Validate() error { return checkStr16(TypeLeave, "node", m.Node) }

func (m *Leave) Append(b []byte) []byte {
	b = appendStr16(b, m.Node)
	return append(b, m.GUID[:]...)
}

func (m *Leave) Decode(b []byte) error {
	c := cursor{b: b, t: TypeLeave}
	m.Node = c.str16("node")
	c.guid("guid", &m.GUID)
	return c.done()
}

// ForceLeave is the body of a TypeForceLeave frame: remove Node from the
// cluster everywhere, as requested by node By.
//
//	str16 node name to remove
//	str16 name of the node that asked
type ForceLeave struct {
	Node []byte
	By   []byte
}

func (*ForceLeave) Type() Type { return TypeForceLeave }

// Validate reports a name too long for its str16 field.
func (m *ForceLeave) Validate() error {
	if err := checkStr16(TypeForceLeave, "node", m.Node); err != nil {
		return err
	}
	return checkStr16(TypeForceLeave, "by", m.By)
}

func (m *ForceLeave) Append(b []byte) []byte {
	b = appendStr16(b, m.Node)
	return appendStr16(b, m.By)
}

func (m *ForceLeave) Decode(b []byte) error {
	c := cursor{b: b, t: TypeForceLeave}
	m.Node = c.str16("node")
	m.By = c.str16("by")
	return c.done()
}

// MemberStatus is the body of a TypeMemberStatus frame: one member's status
// changed.
//
//	str16 node name
//	16B   GUID
//	u8    status
type MemberStatus struct {
	Node   []byte
	GUID   [GUIDSize]byte
	Status Status
}

func (*MemberStatus) Type() Type { return TypeMemberStatus }

// Validate reports a node name too long for its str16 field or an undefined
// status.
func (m *MemberStatus) Validate() error {
	if err := checkStr16(TypeMemberStatus, "node", m.Node); err != nil {
		return err
	}
	return checkStatus(TypeMemberStatus, "status", m.Status)
}

func (m *MemberStatus) Append(b []byte) []byte {
	b = appendStr16(b, m.Node)
	b = append(b, m.GUID[:]...)
	return append(b, uint8(m.Status))
}

func (m *MemberStatus) Decode(b []byte) error {
	c := cursor{b: b, t: TypeMemberStatus}
	m.Node = c.str16("node")
	c.guid("guid", &m.GUID)
	m.Status = c.status("status")
	return c.done()
}

// MemberServices is the body of a TypeMemberServices frame (optional type
// 0x80): the services Node (with this GUID) runs, such as "autoheal", so
// that its peers can tell which members run a service (for example to elect
// autoheal's leader among the members that run autoheal). It carries the
// whole set each time: a receiver replaces what it knew. A receiver that
// does not know the type skips it.
//
//	str16  node name
//	16B    GUID
//	list16 service names
//
// Decode fills Services reusing its capacity; names alias the body.
type MemberServices struct {
	Node     []byte
	GUID     [GUIDSize]byte
	Services [][]byte
}

func (*MemberServices) Type() Type { return TypeMemberServices }

// Validate reports a name too long for its str16 field or more than
// MaxServices services.
func (m *MemberServices) Validate() error {
	if err := checkStr16(TypeMemberServices, "node", m.Node); err != nil {
		return err
	}
	if len(m.Services) > MaxServices {
		return tooLarge(TypeMemberServices, "%d services; the list holds at most %d (u16 count)", len(m.Services), MaxServices)
	}
	for i, s := range m.Services {
		if err := checkStr16(TypeMemberServices, fmt.Sprintf("service %d", i), s); err != nil {
			return err
		}
	}
	return nil
}

func (m *MemberServices) Append(b []byte) []byte {
	b = appendStr16(b, m.Node)
	b = append(b, m.GUID[:]...)
	return appendStr16List(b, m.Services)
}

func (m *MemberServices) Decode(b []byte) error {
	c := cursor{b: b, t: TypeMemberServices}
	m.Node = c.str16("node")
	c.guid("guid", &m.GUID)
	m.Services = c.str16List("services", m.Services)
	return c.done()
}

// MemberVersion is the body of a TypeMemberVersion frame (optional type
// 0x81): the software version Node (with this GUID) runs, such as "v1.2.3",
// so that every member can show which version each member runs during a
// rolling upgrade. It is a type of its own, not a field of MemberServices,
// so that a node that predates it skips it (as every receiver skips an
// unknown optional type) instead of failing on bytes it does not expect.
//
//	str16  node name
//	16B    GUID
//	str16  version
//
// Node and Version alias the body after Decode.
type MemberVersion struct {
	Node    []byte
	GUID    [GUIDSize]byte
	Version []byte
}

func (*MemberVersion) Type() Type { return TypeMemberVersion }

// Validate reports a name or version too long for its str16 field.
func (m *MemberVersion) Validate() error {
	if err := checkStr16(TypeMemberVersion, "node", m.Node); err != nil {
		return err
	}
	return checkStr16(TypeMemberVersion, "version", m.Version)
}

func (m *MemberVersion) Append(b []byte) []byte {
	b = appendStr16(b, m.Node)
	b = append(b, m.GUID[:]...)
	return appendStr16(b, m.Version)
}

func (m *MemberVersion) Decode(b []byte) error {
	c := cursor{b: b, t: TypeMemberVersion}
	m.Node = c.str16("node")
	c.guid("guid", &m.GUID)
	m.Version = c.str16("version")
	return c.done()
}

// MaxTags is the most tags a MemberTags can carry (a u16 count).
const MaxTags = 0xffff

// Tag is one key/value pair of a MemberTags.
type Tag struct {
	Key, Value []byte
}

// MemberTags is the body of a TypeMemberTags frame (optional type 0x82):
// the key/value tags Node (with this GUID) carries, such as role=db or
// zone=eu-1, so that its peers can show them and select members by them.
// It carries the whole set each time: a receiver replaces what it knew (an
// empty set clears the tags). A receiver that does not know the type skips
// it.
//
//	str16  node name
//	16B    GUID
//	u16    count
//	count times:
//	  str16 key
//	  str16 value
//
// Decode fills Tags reusing its capacity; keys and values alias the body.
type MemberTags struct {
	Node []byte
	GUID [GUIDSize]byte
	Tags []Tag
}

func (*MemberTags) Type() Type { return TypeMemberTags }

// Validate reports a name, key or value too long for its str16 field or
// more than MaxTags tags.
func (m *MemberTags) Validate() error {
	if err := checkStr16(TypeMemberTags, "node", m.Node); err != nil {
		return err
	}
	if len(m.Tags) > MaxTags {
		return tooLarge(TypeMemberTags, "%d tags; the list holds at most %d (u16 count)", len(m.Tags), MaxTags)
	}
	for i, tg := range m.Tags {
		if err := checkStr16(TypeMemberTags, fmt.Sprintf("tag %d key", i), tg.Key); err != nil {
			return err
		}
		if err := checkStr16(TypeMemberTags, fmt.Sprintf("tag %d value", i), tg.Value); err != nil {
			return err
		}
	}
	return nil
}

func (m *MemberTags) Append(b []byte) []byte {
	b = appendStr16(b, m.Node)
	b = append(b, m.GUID[:]...)
	b = appendU16(b, uint16(len(m.Tags)))
	for _, tg := range m.Tags {
		b = appendStr16(b, tg.Key)
		b = appendStr16(b, tg.Value)
	}
	return b
}

// memberTagMinSize is the encoded size of a Tag with an empty key and value.
const memberTagMinSize = 2 + 2

func (m *MemberTags) Decode(b []byte) error {
	c := cursor{b: b, t: TypeMemberTags}
	m.Node = c.str16("node")
	c.guid("guid", &m.GUID)
	n := int(c.u16("tag count"))
	m.Tags = m.Tags[:0]
	if c.err == nil && n*memberTagMinSize > len(c.b) {
		// Checked before Tags grows: a forged count allocates nothing.
		c.fail("tags")
	}
	for range n {
		var tg Tag
		tg.Key = c.str16("tag key")
		tg.Value = c.str16("tag value")
		if c.err != nil {
			break
		}
		m.Tags = append(m.Tags, tg)
	}
	if err := c.done(); err != nil {
		m.Tags = m.Tags[:0]
		return err
	}
	return nil
}

// MemberSuspended is the body of a TypeMemberSuspended frame (optional type
// 0x83): whether Node (with this GUID) is suspended, that is, stopped
// serving the application because its side lost a split-brain decision,
// and why. An empty Reason says it serves again. A receiver that does not
// know the type skips it.
//
//	str16  node name
//	16B    GUID
//	str16  reason; empty: the node serves
//
// Decode aliases the body.
type MemberSuspended struct {
	Node   []byte
	GUID   [GUIDSize]byte
	Reason []byte
}

func (*MemberSuspended) Type() Type { return TypeMemberSuspended }

// Validate reports a name or reason too long for its str16 field.
func (m *MemberSuspended) Validate() error {
	if err := checkStr16(TypeMemberSuspended, "node", m.Node); err != nil {
		return err
	}
	return checkStr16(TypeMemberSuspended, "reason", m.Reason)
}

func (m *MemberSuspended) Append(b []byte) []byte {
	b = appendStr16(b, m.Node)
	b = append(b, m.GUID[:]...)
	return appendStr16(b, m.Reason)
}

func (m *MemberSuspended) Decode(b []byte) error {
	c := cursor{b: b, t: TypeMemberSuspended}
	m.Node = c.str16("node")
	c.guid("guid", &m.GUID)
	m.Reason = c.str16("reason")
	return c.done()
}
