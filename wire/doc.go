// Package wire is the ekka-mesh frame codec: the byte layout of every message
// two nodes exchange, the size limits, and the errors a receiver reports when
// a peer breaks the rules. It knows bytes, not nodes: it does I/O only through
// an io.Reader and byte slices, and leaves sockets, lanes, compression and
// chunk reassembly to package conn. PROTOCOL.md beside this file is the
// byte-by-byte specification; testdata/*.hex holds golden vectors for every
// message.
//
// A frame is a 16-byte Header (length, version, type, flags, id) followed by
// a payload, the message body. Each message type has a body struct that
// implements Message: Append encodes it, Decode parses it.
//
// # Writing frames
//
// Append frames to a reused buffer and write the buffer:
//
//	buf = wire.AppendMessage(buf[:0], 0, callID, &wire.Call{Method: m, Payload: p})
//
// Hot paths avoid the interface call with BeginFrame, the body's Append and
// FinishFrame, which patches the length in. Encoding allocates only when the
// buffer must grow.
//
// # Reading frames
//
// A Reader checks every header (version, reserved byte, flags, and the length
// against its limit, before reading any payload byte) and returns the header
// and payload:
//
//	r := wire.NewReader(conn, maxPayload, 0)
//	for {
//		h, payload, err := r.ReadFrame()
//		if err != nil { ... } // io.EOF, a *FrameError, or the conn's error
//		switch h.Type {
//		case wire.TypeCall:
//			if err := call.Decode(payload); err != nil { ... }
//		...
//		}
//	}
//
// Keeping one message value per type and calling its Decode allocates
// nothing; list fields (MemberTable.Members, ViewReply.Running, ...) reuse
// their capacity. DecodeBody decodes into a new message for paths where that
// allocation does not matter, and applies the unknown-type rule: a critical
// type (below 0x80) this version does not know is an error, an optional one is
// skipped.
//
// # Buffer validity
//
// Nothing is copied on the way in. The payload ReadFrame returns aliases the
// Reader's buffer and is valid only until the next ReadFrame; the []byte
// fields of a decoded message alias the bytes it was decoded from. Copy what
// must outlive the next read.
//
// # Errors
//
// Every protocol violation is a *FrameError whose Code says which rule was
// broken; test it with errors.Is against ErrTruncated, ErrTooLarge,
// ErrMalformed, ErrUnknownType and ErrVersion. After a header error the
// stream position is lost and the connection must be closed.
//
// Append does not validate: a str16 field longer than 65535 bytes or a list
// of more than 65535 entries would be encoded with a wrapped length. Callers
// bound names and lists where they accept them.
package wire
