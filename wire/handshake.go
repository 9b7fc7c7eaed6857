package wire

// Handshake message bodies. See PROTOCOL.md, "Handshake", for the sequence:
// Hello (dialer) -> Challenge (acceptor) -> Auth (dialer) -> Welcome
// (acceptor), with Reject possible in place of any of the last three.

// Capability bits announced in Hello and Challenge. The effective set is the
// intersection, except CapHidden which only describes the sender.
const (
	CapCompressS2 uint32 = 1 << 0 // sender can decode S2-compressed payloads
	CapHidden     uint32 = 1 << 1 // sender is a hidden client (ctl): never a member
	// CapChunkSize: the sender reads a size announcement at the start of
	// the first chunk of a chunked message (PROTOCOL.md 4.2), so it can
	// reassemble the message in one buffer of the right size.
	CapChunkSize uint32 = 1 << 2
)

// ChunkSizeLen is the length of the size announcement that opens the first
// chunk of a chunked message when both sides announced CapChunkSize: the
// body's total length, big-endian.
const ChunkSizeLen = 8

// GUIDSize and NonceSize are the fixed sizes of those fields.
const (
	GUIDSize  = 16
	NonceSize = 32
	ProofSize = 32 // HMAC-SHA256
)

// Lane numbers: a link may hold one TCP connection per lane.
const (
	LaneControl uint8 = 0 // smux session: control stream and on-demand byte streams
	LaneData    uint8 = 1 // ordinary calls, replies and casts
	LaneLarge   uint8 = 2 // large payloads, chunked
)

// Hello is the dialer's first message.
//
//	u8     min version
//	u8     max version
//	u32    capabilities
//	u32    max payload the dialer accepts
//	u8     lane
//	u64    link id (same for every lane of one link)
//	16B    GUID
//	32B    nonce
//	str16  dialer's node name
//	str16  the node name the dialer meant to reach
//	str16  cluster name
type Hello struct {
	MinVersion, MaxVersion uint8
	Caps                   uint32
	MaxPayload             uint32
	Lane                   uint8
	LinkID                 uint64
	GUID                   [GUIDSize]byte
	Nonce                  [NonceSize]byte
	Name                   []byte
	Target                 []byte
	Cluster                []byte
}

func (*Hello) Type() Type { return TypeHello }

func (m *Hello) Append(b []byte) []byte {
	b = append(b, m.MinVersion, m.MaxVersion)
	b = appendU32(b, m.Caps)
	b = appendU32(b, m.MaxPayload)
	b = append(b, m.Lane)
	b = appendU64(b, m.LinkID)
	b = append(b, m.GUID[:]...)
	b = append(b, m.Nonce[:]...)
	b = appendStr16(b, m.Name)
	b = appendStr16(b, m.Target)
	return appendStr16(b, m.Cluster)
}

func (m *Hello) Decode(b []byte) error {
	c := cursor{b: b, t: TypeHello}
	m.MinVersion = c.u8("min version")
	m.MaxVersion = c.u8("max version")
	m.Caps = c.u32("capabilities")
	m.MaxPayload = c.u32("max payload")
	m.Lane = c.u8("lane")
	m.LinkID = c.u64("link id")
	copy(m.GUID[:], c.fixed("guid", GUIDSize))
	copy(m.Nonce[:], c.fixed("nonce", NonceSize))
	m.Name = c.str16("name")
	m.Target = c.str16("target")
	m.Cluster = c.str16("cluster")
	if err := c.done(); err != nil {
		return err
	}
	if m.MinVersion > m.MaxVersion {
		return malformed(TypeHello, "min version %d above max version %d", m.MinVersion, m.MaxVersion)
	}
	return nil
}

// Challenge is the acceptor's answer to Hello.
//
//	u8     chosen version
//	u32    capabilities
//	u32    max payload the acceptor accepts
//	16B    GUID
//	32B    nonce
//	str16  acceptor's node name
//	str16  cluster name
type Challenge struct {
	Version    uint8
	Caps       uint32
	MaxPayload uint32
	GUID       [GUIDSize]byte
	Nonce      [NonceSize]byte
	Name       []byte
	Cluster    []byte
}

func (*Challenge) Type() Type { return TypeChallenge }

func (m *Challenge) Append(b []byte) []byte {
	b = append(b, m.Version)
	b = appendU32(b, m.Caps)
	b = appendU32(b, m.MaxPayload)
	b = append(b, m.GUID[:]...)
	b = append(b, m.Nonce[:]...)
	b = appendStr16(b, m.Name)
	return appendStr16(b, m.Cluster)
}

func (m *Challenge) Decode(b []byte) error {
	c := cursor{b: b, t: TypeChallenge}
	m.Version = c.u8("version")
	m.Caps = c.u32("capabilities")
	m.MaxPayload = c.u32("max payload")
	copy(m.GUID[:], c.fixed("guid", GUIDSize))
	copy(m.Nonce[:], c.fixed("nonce", NonceSize))
	m.Name = c.str16("name")
	m.Cluster = c.str16("cluster")
	return c.done()
}

// Proof is the body of Auth and Welcome: an HMAC-SHA256 over the handshake
// transcript keyed with the key derived from the cookie (CookieKey; see
// PROTOCOL.md for the exact input).
type Proof struct {
	T   Type // TypeAuth or TypeWelcome
	MAC [ProofSize]byte
}

func (m *Proof) Type() Type { return m.T }

func (m *Proof) Append(b []byte) []byte { return append(b, m.MAC[:]...) }

func (m *Proof) Decode(b []byte) error {
	c := cursor{b: b, t: m.T}
	copy(m.MAC[:], c.fixed("proof", ProofSize))
	return c.done()
}

// Reject ends a handshake (TypeReject) or a connection (TypeGoodbye) with a
// reason the other side can log.
//
//	u16   code
//	rest  UTF-8 reason
type Reject struct {
	T      Type // TypeReject or TypeGoodbye
	Code   Code
	Reason []byte
}

func (m *Reject) Type() Type { return m.T }

func (m *Reject) Append(b []byte) []byte {
	b = appendU16(b, uint16(m.Code))
	return append(b, m.Reason...)
}

func (m *Reject) Decode(b []byte) error {
	c := cursor{b: b, t: m.T}
	m.Code = Code(c.u16("code"))
	m.Reason = c.rest()
	return c.done()
}
