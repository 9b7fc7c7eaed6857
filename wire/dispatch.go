package wire

import "fmt"

// New returns a fresh zero message for a type this version defines, and false
// for any other type. Auth and Welcome share the Proof body, Reject and
// Goodbye the Reject body; New sets their T field.
func New(t Type) (Message, bool) {
	if mk := types[t].new; mk != nil {
		return mk(), true
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
