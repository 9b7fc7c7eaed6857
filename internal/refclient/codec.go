// Package refclient is a second, independent implementation of the client
// side of the ekka-mesh wire protocol, written from wire/PROTOCOL.md alone:
// it imports none of this repository's packages and not the smux library,
// only the standard library and golang.org/x/crypto (for argon2id). It is
// the Go sibling of wire/testdata/golden.py, the independent encoder that
// writes the golden vectors: its encoder is checked against those vectors,
// and the conformance test (cmd/ekka-mesh/conformance_test.go) runs it
// against a real `ekka-mesh run` process, so the spec, the vectors and the
// code cannot drift apart unnoticed.
//
// It does what a hidden client (a control tool) does: the handshake on the
// three lanes, the smux v2 framing of the control lane with its control
// stream, calls to built-in methods and their replies, and the orderly
// close. It is deliberately minimal: no TLS, no compression, no chunking
// (it announces neither CapCompressS2 nor CapChunkSize and sends bodies that
// fit one frame). Section numbers in comments refer to PROTOCOL.md.
package refclient

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the protocol version this client speaks (section 7).
const Version = 2

// HeaderSize is the size of a frame header (section 3).
const HeaderSize = 16

// Message types (section 6).
const (
	TypeHello        = 0x01
	TypeChallenge    = 0x02
	TypeAuth         = 0x03
	TypeWelcome      = 0x04
	TypeReject       = 0x05
	TypeGoodbye      = 0x06
	TypeCall         = 0x10
	TypeReply        = 0x11
	TypeErrorReply   = 0x12
	TypeCast         = 0x13
	TypePing         = 0x18
	TypePong         = 0x19
	TypeMemberTable  = 0x20
	TypeMemberStatus = 0x24
)

// Lanes (section 2).
const (
	LaneControl = 0
	LaneData    = 1
	LaneLarge   = 2
)

// Capability bits (section 6.1).
const (
	CapCompressS2 = 0x1
	CapHidden     = 0x2
	CapChunkSize  = 0x4
)

// Error codes (section 9) this client names.
const (
	CodeTruncated    = 1
	CodeMalformed    = 3
	CodeVersion      = 5
	CodeBadCookie    = 6
	CodeWrongCluster = 7
	CodeWrongNode    = 8
	CodeTimeout      = 9
	CodeUnexpected   = 10
	CodeShutdown     = 11
	CodeNoHandler    = 20
	CodeHandlerError = 21
	// CodeNotInCluster answers $ekka.leave on a node alone (section 11.1).
	CodeNotInCluster = 28
)

// Size limits (section 5).
const (
	MinPayloadLimit   = 65536
	DefaultMaxPayload = 4 << 20
)

// Header is a frame header (section 3).
type Header struct {
	Length  uint32
	Version uint8
	Type    uint8
	Flags   uint8
	ID      uint64
}

// Frame is one frame: its header's type, flags and id, and its payload.
type Frame struct {
	Type  uint8
	Flags uint8
	ID    uint64
	Body  []byte
}

// AppendFrame appends a frame carrying body: the 16-byte header (length,
// version, type, flags, reserved 0, id; big-endian) and the body.
func AppendFrame(dst []byte, typ, flags uint8, id uint64, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	dst = append(dst, Version, typ, flags, 0)
	dst = binary.BigEndian.AppendUint64(dst, id)
	return append(dst, body...)
}

// ParseHeader checks a frame header in the order section 3 gives: version,
// reserved, flags, length against limit.
func ParseHeader(b []byte, limit uint32) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("frame header: %d bytes, want %d", len(b), HeaderSize)
	}
	h := Header{Length: binary.BigEndian.Uint32(b[0:4]), Version: b[4], Type: b[5], Flags: b[6], ID: binary.BigEndian.Uint64(b[8:16])}
	switch {
	case h.Version != Version:
		return h, &ProtocolError{Code: CodeVersion, Msg: fmt.Sprintf("frame version %d, want %d", h.Version, Version)}
	case b[7] != 0:
		return h, &ProtocolError{Code: CodeMalformed, Msg: "reserved header byte is not 0"}
	case h.Flags&^0x03 != 0:
		return h, &ProtocolError{Code: CodeMalformed, Msg: fmt.Sprintf("unknown flags %#x", h.Flags)}
	case h.Length > limit:
		return h, &ProtocolError{Code: 2, Msg: fmt.Sprintf("frame of %d bytes above the limit %d", h.Length, limit)}
	}
	return h, nil
}

// ProtocolError is a rule of PROTOCOL.md the peer broke, with the code the
// spec names for it.
type ProtocolError struct {
	Code uint16
	Msg  string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("protocol error (code %d): %s", e.Code, e.Msg)
}

// Enc builds a body field by field (section 6, "Field encodings").
type Enc struct{ B []byte }

func (e *Enc) U8(v uint8) *Enc   { e.B = append(e.B, v); return e }
func (e *Enc) U16(v uint16) *Enc { e.B = binary.BigEndian.AppendUint16(e.B, v); return e }
func (e *Enc) U32(v uint32) *Enc { e.B = binary.BigEndian.AppendUint32(e.B, v); return e }
func (e *Enc) U64(v uint64) *Enc { e.B = binary.BigEndian.AppendUint64(e.B, v); return e }

// Fixed appends a fixed-size byte string (16B, 32B).
func (e *Enc) Fixed(b []byte) *Enc { e.B = append(e.B, b...); return e }

// Str16 appends a u16 length and the bytes; it panics on a string the
// field cannot hold (a caller's bug: names are at most 255 bytes).
func (e *Enc) Str16(s string) *Enc {
	if len(s) > 0xffff {
		panic(fmt.Sprintf("refclient: str16 of %d bytes", len(s)))
	}
	e.U16(uint16(len(s)))
	e.B = append(e.B, s...)
	return e
}

// Rest appends the last field: all remaining bytes.
func (e *Enc) Rest(b []byte) *Enc { e.B = append(e.B, b...); return e }

// errTruncated is a body that ends inside a field.
var errTruncated = &ProtocolError{Code: CodeTruncated, Msg: "body ends inside a field"}

// Dec reads a body field by field; the first error sticks.
type Dec struct {
	B   []byte
	Err error
}

func (d *Dec) take(n int) []byte {
	if d.Err != nil {
		return nil
	}
	if len(d.B) < n {
		d.Err = errTruncated
		return nil
	}
	b := d.B[:n]
	d.B = d.B[n:]
	return b
}

func (d *Dec) U8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *Dec) U16() uint16 {
	if b := d.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *Dec) U32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *Dec) U64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *Dec) Fixed(n int) []byte { return d.take(n) }

func (d *Dec) Str16() string { return string(d.take(int(d.U16()))) }

// Rest takes every remaining byte.
func (d *Dec) Rest() []byte {
	b := d.B
	d.B = nil
	return b
}

// Done reports the first error, or CodeMalformed for trailing bytes.
func (d *Dec) Done() error {
	if d.Err == nil && len(d.B) > 0 {
		d.Err = &ProtocolError{Code: CodeMalformed, Msg: fmt.Sprintf("%d trailing bytes", len(d.B))}
	}
	return d.Err
}

// Hello is the body of a Hello (section 6.1).
type Hello struct {
	MinVersion, MaxVersion uint8
	Caps, MaxPayload       uint32
	Lane                   uint8
	LinkID                 uint64
	GUID                   [16]byte
	Nonce                  [32]byte
	Name, Target, Cluster  string
}

func (m *Hello) Append(dst []byte) []byte {
	e := Enc{dst}
	e.U8(m.MinVersion).U8(m.MaxVersion).U32(m.Caps).U32(m.MaxPayload).U8(m.Lane).U64(m.LinkID).
		Fixed(m.GUID[:]).Fixed(m.Nonce[:]).Str16(m.Name).Str16(m.Target).Str16(m.Cluster)
	return e.B
}

// Challenge is the body of a Challenge (section 6.1).
type Challenge struct {
	Version          uint8
	Caps, MaxPayload uint32
	GUID             [16]byte
	Nonce            [32]byte
	Name, Cluster    string
}

func (m *Challenge) Decode(b []byte) error {
	d := Dec{B: b}
	m.Version, m.Caps, m.MaxPayload = d.U8(), d.U32(), d.U32()
	copy(m.GUID[:], d.Fixed(16))
	copy(m.Nonce[:], d.Fixed(32))
	m.Name, m.Cluster = d.Str16(), d.Str16()
	return d.Done()
}

// Reject is the body of a Reject or a Goodbye (section 6.1).
type Reject struct {
	Code   uint16
	Reason string
}

func (m *Reject) Append(dst []byte) []byte {
	e := Enc{dst}
	return e.U16(m.Code).Rest([]byte(m.Reason)).B
}

func (m *Reject) Decode(b []byte) error {
	d := Dec{B: b}
	m.Code = d.U16()
	m.Reason = string(d.Rest())
	return d.Done()
}

// Call is the body of a Call (section 6.2).
type Call struct {
	TimeoutMillis uint32
	Method        string
	Payload       []byte
}

func (m *Call) Append(dst []byte) []byte {
	e := Enc{dst}
	return e.U32(m.TimeoutMillis).Str16(m.Method).Rest(m.Payload).B
}

// ErrorReply is the body of an ErrorReply (section 6.2).
type ErrorReply struct {
	Code    uint16
	Message string
}

func (m *ErrorReply) Decode(b []byte) error {
	d := Dec{B: b}
	m.Code = d.U16()
	m.Message = string(d.Rest())
	return d.Done()
}

// DecodePing decodes a Ping or Pong body: exactly one u64 (section 6.3).
func DecodePing(b []byte) (uint64, error) {
	d := Dec{B: b}
	v := d.U64()
	return v, d.Done()
}

// RemoteError is an ErrorReply to a call.
type RemoteError struct {
	Code    uint16
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("error reply (code %d): %s", e.Code, e.Message)
}

// RejectedError is a Reject the peer answered a handshake step with, or a
// Goodbye it closed a lane with.
type RejectedError struct {
	Type   uint8 // TypeReject or TypeGoodbye
	Lane   uint8
	Code   uint16
	Reason string
}

func (e *RejectedError) Error() string {
	what := "reject"
	if e.Type == TypeGoodbye {
		what = "goodbye"
	}
	return fmt.Sprintf("lane %d: %s (code %d): %s", e.Lane, what, e.Code, e.Reason)
}

// ErrClosed is returned once the client has closed.
var ErrClosed = errors.New("refclient: closed")
