package wire

import "fmt"

// New returns a fresh zero message for a type this version defines, and false
// for any other type. Auth and Welcome share the Proof body, Reject and
// Goodbye the Reject body; New sets their T field.
func New(t Type) (Message, bool) {
	switch t {
	case TypeHello:
		return new(Hello), true
	case TypeChallenge:
		return new(Challenge), true
	case TypeAuth, TypeWelcome:
		return &Proof{T: t}, true
	case TypeReject, TypeGoodbye:
		return &Reject{T: t}, true
	case TypeCall:
		return new(Call), true
	case TypeReply:
		return new(Reply), true
	case TypeErrorReply:
		return new(ErrorReply), true
	case TypeCast:
		return new(Cast), true
	case TypePing:
		return new(Ping), true
	case TypePong:
		return new(Pong), true
	case TypeMemberTable:
		return new(MemberTable), true
	case TypeJoin:
		return new(Join), true
	case TypeLeave:
		return new(Leave), true
	case TypeForceLeave:
		return new(ForceLeave), true
	case TypeMemberStatus:
		return new(MemberStatus), true
	case TypeMemberServices:
		return new(MemberServices), true
	case TypeMemberVersion:
		return new(MemberVersion), true
	case TypePartitionReport:
		return new(PartitionReport), true
	case TypeViewRequest:
		return new(ViewRequest), true
	case TypeViewReply:
		return new(ViewReply), true
	case TypeHealOrder:
		return new(HealOrder), true
	case TypeLockAcquire:
		return new(LockAcquire), true
	case TypeLockRelease:
		return new(LockRelease), true
	case TypeLockGrant:
		return new(LockGrant), true
	case TypeLockRefuse:
		return new(LockRefuse), true
	case TypeLockRenew:
		return new(LockRenew), true
	}
	return nil, false
}

// DecodeBody decodes the body of a frame with header h into a new message,
// for paths where an allocation per frame does not matter (handshake,
// membership, tools). Hot paths keep a message per type and call its Decode.
//
// body must be the whole, uncompressed message: a receiver decompresses a
// FlagCompressed payload and reassembles FlagMore chunks first; the header's
// flags are not consulted here. The returned message aliases body.
//
// A type this version does not define gives a *FrameError with
// CodeUnknownType when it is critical (below 0x80), and (nil, nil) when it is
// optional: the caller skips the frame.
func DecodeBody(h Header, body []byte) (Message, error) {
	m, ok := New(h.Type)
	if !ok {
		if h.Type.Critical() {
			return nil, &FrameError{Code: CodeUnknownType, Type: h.Type, Msg: fmt.Sprintf("critical type %#02x is not defined in protocol version %d", uint8(h.Type), Version)}
		}
		return nil, nil
	}
	if err := m.Decode(body); err != nil {
		return nil, err
	}
	return m, nil
}
