package conn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

func goodbyeBody(code wire.Code, reason string) []byte {
	g := wire.Reject{T: wire.TypeGoodbye, Code: code, Reason: []byte(reason)}
	return g.Append(nil)
}

// TestMessageStep: the control-type policy after the handshake, for every
// kind of message on every lane, open and closing.
func TestMessageStep(t *testing.T) {
	dup := goodbyeBody(wire.CodeDuplicateLink, "a link already exists")
	for _, tc := range []struct {
		name     string
		t        wire.Type
		body     []byte
		lane     uint8
		closing  bool
		want     readStep
		wantCode wire.Code // of the *wire.FrameError or *PeerClosedError returned
	}{
		{"call on the data lane", wire.TypeCall, nil, wire.LaneData, false, stepDeliver, 0},
		{"member table on the control lane", wire.TypeMemberTable, nil, wire.LaneControl, false, stepDeliver, 0},
		{"goodbye on the control lane ends the link", wire.TypeGoodbye, dup, wire.LaneControl, false, stepFail, wire.CodeDuplicateLink},
		{"goodbye on the data lane waits for the control lane", wire.TypeGoodbye, dup, wire.LaneData, false, stepLaneGoodbye, wire.CodeDuplicateLink},
		{"goodbye on the large lane waits for the control lane", wire.TypeGoodbye, dup, wire.LaneLarge, false, stepLaneGoodbye, wire.CodeDuplicateLink},
		{"undecodable goodbye", wire.TypeGoodbye, []byte{1}, wire.LaneControl, false, stepFail, wire.CodeOK},
		{"hello after the handshake", wire.TypeHello, nil, wire.LaneData, false, stepBroken, wire.CodeUnexpected},
		{"reject after the handshake", wire.TypeReject, nil, wire.LaneControl, false, stepBroken, wire.CodeUnexpected},
		{"unknown critical type", wire.Type(0x7e), nil, wire.LaneData, false, stepBroken, wire.CodeUnknownType},
		{"unknown optional type is skipped", wire.Type(0xfe), nil, wire.LaneData, false, stepSkip, 0},
		{"closing: a call is not handled", wire.TypeCall, nil, wire.LaneData, true, stepSkip, 0},
		{"closing: a handshake message is not checked", wire.TypeHello, nil, wire.LaneData, true, stepSkip, 0},
		{"closing: the peer's goodbye ends the link", wire.TypeGoodbye, dup, wire.LaneData, true, stepFail, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.False(t, tc.t == wire.Type(0xfe) && tc.t.Critical(), "0xfe must be an optional type")
			step, err := messageStep(tc.t, tc.body, tc.lane, tc.closing)
			assert.Equal(t, tc.want, step)
			var fe *wire.FrameError
			var pc *PeerClosedError
			switch {
			case tc.want == stepDeliver || tc.want == stepSkip:
				assert.NoError(t, err)
			case tc.closing:
				assert.Same(t, ErrClosed, err)
			case errors.As(err, &pc):
				assert.Equal(t, tc.wantCode, pc.Code, "goodbye code")
			case errors.As(err, &fe):
				assert.Equal(t, tc.wantCode, fe.Code, "frame error code")
				assert.Equal(t, tc.t, fe.Type)
			default:
				t.Fatalf("error %v (%T), want a *PeerClosedError or *wire.FrameError", err, err)
			}
		})
	}
}

func TestGoodbyeError(t *testing.T) {
	pc := goodbyeError(goodbyeBody(wire.CodeShutdown, "node n1@h is stopping"))
	assert.Equal(t, wire.CodeShutdown, pc.Code)
	assert.Equal(t, "peer said goodbye ("+wire.CodeShutdown.String()+"): node n1@h is stopping", pc.Error())
	pc = goodbyeError(nil)
	assert.Equal(t, wire.CodeOK, pc.Code)
	assert.Equal(t, "peer closed the connection", pc.Error())
}

// TestReadErrorStep: what a failed read means, by the error, the lane, and
// whether this side is closing or the peer said goodbye elsewhere.
func TestReadErrorStep(t *testing.T) {
	broken := messageError{&wire.FrameError{Code: wire.CodeTooLarge, Msg: "too big"}}
	badHeader := &wire.FrameError{Code: wire.CodeVersion, Msg: "version 9"}
	truncated := &wire.FrameError{Code: wire.CodeTruncated, Msg: "cut"}
	reset := errors.New("connection reset by peer")
	bye := &PeerClosedError{Code: wire.CodeShutdown, Reason: "peer said goodbye (shutdown): bye"}
	for _, tc := range []struct {
		name    string
		err     error
		lane    uint8
		closing bool
		goodbye *PeerClosedError
		want    readStep
		wantErr error
	}{
		{"a message breaking a rule", broken, wire.LaneData, false, nil, stepBroken, broken.error},
		{"a message breaking a rule while closing", broken, wire.LaneData, true, nil, stepBroken, broken.error},
		{"a bad header", badHeader, wire.LaneControl, false, nil, stepBroken, badHeader},
		{"a bad header while closing", badHeader, wire.LaneControl, true, nil, stepFail, ErrClosed},
		{"closing: the peer closed its end", io.EOF, wire.LaneData, true, bye, stepFail, ErrClosed},
		{"data lane ended", io.EOF, wire.LaneData, false, nil, stepLaneEnded, io.EOF},
		{"large lane reset", reset, wire.LaneLarge, false, nil, stepLaneEnded, reset},
		{"data lane truncated frame", truncated, wire.LaneData, false, nil, stepLaneEnded, truncated},
		{"control lane ended after a goodbye elsewhere", io.EOF, wire.LaneControl, false, bye, stepFail, bye},
		{"control lane ended", io.EOF, wire.LaneControl, false, nil, stepFail, io.EOF},
		{"control lane ended, wrapped EOF", errors.Join(io.EOF), wire.LaneControl, false, nil, stepFail, io.EOF},
		{"control lane reset", reset, wire.LaneControl, false, nil, stepFail, reset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, err := readErrorStep(tc.err, tc.lane, tc.closing, tc.goodbye)
			assert.Equal(t, tc.want, step)
			assert.Equal(t, tc.wantErr, err)
		})
	}
}

// testReader is a messageReader over the frames in stream.
func testReader(stream []byte, sized bool, mem *memory) *messageReader {
	const limit = 1 << 16
	return &messageReader{r: wire.NewReader(bytes.NewReader(stream), limit, 512), maxMsg: 1 << 20, maxFrame: limit, sized: sized, mem: mem}
}

// TestReassemble: chunks become one message, each compressed piece decoded
// on its own; the announced size is kept to; what the message holds of the
// budget is released once handed.
func TestReassemble(t *testing.T) {
	body := bytes.Repeat([]byte("reassembled "), 1000) // 12000 bytes
	var stream []byte
	pieces := [][]byte{body[:5000], body[5000:10000], body[10000:]}
	for i, p := range pieces {
		flags := wire.FlagMore
		if i == len(pieces)-1 {
			flags = 0
		}
		if i == 0 {
			p = append(binary.BigEndian.AppendUint64(nil, uint64(len(body))), p...)
		}
		if i == 1 {
			flags |= wire.FlagCompressed
			p = s2.Encode(nil, p)
		}
		stream = wire.AppendFrame(stream, wire.TypeCast, flags, 9, p)
	}
	mem := &memory{limit: 1 << 20}
	m := testReader(stream, true, mem)
	for range 2 {
		hdr, got, _, err := m.next()
		require.NoError(t, err)
		require.Nil(t, got, "a chunk of an unfinished message")
		require.Equal(t, wire.TypeCast, hdr.Type)
	}
	require.Len(t, m.partial, 1)
	hdr, got, owned, err := m.next()
	require.NoError(t, err)
	assert.True(t, owned)
	assert.Equal(t, body, got)
	assert.Equal(t, wire.Header{Version: wire.Version, Type: wire.TypeCast, ID: 9, Length: uint32(len(body))}, hdr)
	assert.Empty(t, m.partial)
	assert.Positive(t, mem.held.Load(), "the message holds its buffer until handed")
	m.handed()
	assert.Zero(t, mem.held.Load())
}

func TestReassembleRefusals(t *testing.T) {
	sizeThen := func(n uint64, p []byte) []byte { return append(binary.BigEndian.AppendUint64(nil, n), p...) }
	for _, tc := range []struct {
		name   string
		sized  bool
		frames [][]byte
		code   wire.Code
	}{
		{"shorter than announced", true, [][]byte{
			wire.AppendFrame(nil, wire.TypeCast, wire.FlagMore, 1, sizeThen(100, make([]byte, 10))),
			wire.AppendFrame(nil, wire.TypeCast, 0, 1, make([]byte, 10)),
		}, wire.CodeMalformed},
		{"longer than announced", true, [][]byte{
			wire.AppendFrame(nil, wire.TypeCast, wire.FlagMore, 1, sizeThen(15, make([]byte, 10))),
			wire.AppendFrame(nil, wire.TypeCast, 0, 1, make([]byte, 10)),
		}, wire.CodeTooLarge},
		{"announced above the message limit", true, [][]byte{
			wire.AppendFrame(nil, wire.TypeCast, wire.FlagMore, 1, sizeThen(1<<30, make([]byte, 10))),
		}, wire.CodeTooLarge},
		{"first chunk too short for the announcement", true, [][]byte{
			wire.AppendFrame(nil, wire.TypeCast, wire.FlagMore, 1, make([]byte, 3)),
		}, wire.CodeMalformed},
		{"compressed chunk that does not decode", false, [][]byte{
			wire.AppendFrame(nil, wire.TypeCast, wire.FlagMore|wire.FlagCompressed, 1, []byte{4, 0xff, 0xff}),
		}, wire.CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := &memory{limit: 1 << 20}
			m := testReader(bytes.Join(tc.frames, nil), tc.sized, mem)
			var err error
			for err == nil {
				_, _, _, err = m.next()
			}
			fe := brokenRule(t, err)
			assert.Equal(t, tc.code, fe.Code, "%v", err)
			m.releaseAll()
			assert.Zero(t, mem.held.Load(), "the budget comes back whole")
		})
	}
}

// TestDecompress: a whole compressed body is decoded into a buffer of its
// own, counted against the budget; one that claims more than a frame's
// worth is refused before anything is decoded.
func TestDecompress(t *testing.T) {
	body := bytes.Repeat([]byte("squeeze "), 2000)
	mem := &memory{limit: 1 << 20}
	m := testReader(wire.AppendFrame(nil, wire.TypeCall, wire.FlagCompressed, 4, s2.Encode(nil, body)), false, mem)
	hdr, got, owned, err := m.next()
	require.NoError(t, err)
	assert.True(t, owned)
	assert.Equal(t, body, got)
	assert.Equal(t, uint32(len(body)), hdr.Length)
	assert.Zero(t, hdr.Flags)
	assert.Positive(t, mem.held.Load())
	m.handed()
	assert.Zero(t, mem.held.Load())

	// A tiny block claiming 1 MiB: above the 64 KiB frame limit.
	bomb := binary.AppendUvarint(nil, 1<<20)
	m = testReader(wire.AppendFrame(nil, wire.TypeCall, wire.FlagCompressed, 4, bomb), false, mem)
	_, _, _, err = m.next()
	fe := brokenRule(t, err)
	assert.Equal(t, wire.CodeTooLarge, fe.Code, "%v", err)
	assert.Zero(t, mem.held.Load(), "nothing reserved for a refused body")

	m = testReader(wire.AppendFrame(nil, wire.TypeCall, wire.FlagCompressed, 4, []byte{5, 0xff}), false, mem)
	_, _, _, err = m.next()
	fe = brokenRule(t, err)
	assert.Equal(t, wire.CodeMalformed, fe.Code, "%v", err)
}

// brokenRule returns the *wire.FrameError of a messageError: a message that
// breaks the rules, not a lane that failed.
func brokenRule(t *testing.T, err error) *wire.FrameError {
	t.Helper()
	me, ok := err.(messageError)
	require.True(t, ok, "error %v (%T), want a messageError", err, err)
	var fe *wire.FrameError
	require.ErrorAs(t, me.error, &fe)
	return fe
}
