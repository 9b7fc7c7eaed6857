package wire

// Ping is the body of a TypePing frame. The header ID is the sender's ping
// sequence number; the Pong that answers carries the same ID.
//
//	u64   sender's monotonic clock at send time, nanoseconds
type Ping struct {
	SentNanos uint64
}

func (*Ping) Type() Type { return TypePing }

func (m *Ping) Append(b []byte) []byte { return appendU64(b, m.SentNanos) }

func (m *Ping) Decode(b []byte) error {
	c := cursor{b: b, t: TypePing}
	m.SentNanos = c.u64("send time")
	return c.done()
}

// Pong is the body of a TypePong frame: the Ping's send time echoed back
// unchanged, so the pinger measures the round trip on its own clock. The
// header ID is the Ping's sequence number.
//
//	u64   the Ping's SentNanos
type Pong struct {
	SentNanos uint64
}

func (*Pong) Type() Type { return TypePong }

func (m *Pong) Append(b []byte) []byte { return appendU64(b, m.SentNanos) }

func (m *Pong) Decode(b []byte) error {
	c := cursor{b: b, t: TypePong}
	m.SentNanos = c.u64("send time")
	return c.done()
}
