package wire

// Call is the body of a TypeCall frame. The header ID is the call id, unique
// per sender per link; the reply carries the same ID.
//
//	u32   timeout in milliseconds the caller will wait (0: no deadline)
//	str16 method
//	rest  payload
type Call struct {
	TimeoutMillis uint32
	Method        []byte
	Payload       []byte
}

func (*Call) Type() Type { return TypeCall }

func (m *Call) Append(b []byte) []byte {
	b = appendU32(b, m.TimeoutMillis)
	b = appendStr16(b, m.Method)
	return append(b, m.Payload...)
}

func (m *Call) Decode(b []byte) error {
	c := cursor{b: b, t: TypeCall}
	m.TimeoutMillis = c.u32("timeout")
	m.Method = c.str16("method")
	m.Payload = c.rest()
	return c.done()
}

// Reply is the body of a TypeReply frame: the whole body is the payload.
type Reply struct {
	Payload []byte
}

func (*Reply) Type() Type { return TypeReply }

func (m *Reply) Append(b []byte) []byte { return append(b, m.Payload...) }

func (m *Reply) Decode(b []byte) error { m.Payload = b; return nil }

// ErrorReply is the body of a TypeErrorReply frame.
//
//	u16   code (CodeNoHandler, CodeHandlerError, CodeHandlerPanic, ...)
//	rest  UTF-8 message
type ErrorReply struct {
	Code    Code
	Message []byte
}

func (*ErrorReply) Type() Type { return TypeErrorReply }

func (m *ErrorReply) Append(b []byte) []byte {
	b = appendU16(b, uint16(m.Code))
	return append(b, m.Message...)
}

func (m *ErrorReply) Decode(b []byte) error {
	c := cursor{b: b, t: TypeErrorReply}
	m.Code = Code(c.u16("code"))
	m.Message = c.rest()
	return c.done()
}

// Cast is the body of a TypeCast frame.
//
//	str16 method
//	rest  payload
type Cast struct {
	Method  []byte
	Payload []byte
}

func (*Cast) Type() Type { return TypeCast }

func (m *Cast) Append(b []byte) []byte {
	b = appendStr16(b, m.Method)
	return append(b, m.Payload...)
}

func (m *Cast) Decode(b []byte) error {
	c := cursor{b: b, t: TypeCast}
	m.Method = c.str16("method")
	m.Payload = c.rest()
	return c.done()
}
