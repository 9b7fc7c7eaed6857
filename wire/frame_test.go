package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// stream builds a byte stream of n frames with payloads of growing size.
func stream(n int) ([]byte, [][]byte) {
	var out []byte
	var payloads [][]byte
	for i := range n {
		p := bytes.Repeat([]byte{byte(i)}, i*37)
		payloads = append(payloads, p)
		out = AppendFrame(out, TypeCast, 0, uint64(i), p)
	}
	return out, payloads
}

func readAll(t *testing.T, r *Reader, payloads [][]byte) {
	t.Helper()
	for i, want := range payloads {
		h, p, err := r.ReadFrame()
		noErr(t, err, fmt.Sprintf("frame %d", i))
		if h.ID != uint64(i) || h.Type != TypeCast || int(h.Length) != len(want) {
			t.Fatalf("frame %d: header %+v, want id %d, type cast, length %d", i, h, i, len(want))
		}
		sameBytes(t, want, p, fmt.Sprintf("frame %d payload", i))
	}
	if _, _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after the last frame: got %v, want io.EOF", err)
	}
}

func TestReaderOneByteReads(t *testing.T) {
	data, payloads := stream(40)
	// A tiny initial buffer also makes the reader grow and compact.
	readAll(t, NewReader(iotest.OneByteReader(bytes.NewReader(data)), 0, 1), payloads)
}

func TestReaderHalfReadsAndDataWithEOF(t *testing.T) {
	data, payloads := stream(40)
	readAll(t, NewReader(iotest.HalfReader(bytes.NewReader(data)), 0, 64), payloads)
	readAll(t, NewReader(iotest.DataErrReader(bytes.NewReader(data)), 0, 0), payloads)
}

func TestReaderPayloadStableUntilNextCall(t *testing.T) {
	data := AppendFrame(nil, TypeCast, 0, 1, []byte("first"))
	data = AppendFrame(data, TypeCast, 0, 2, []byte("second"))
	r := NewReader(bytes.NewReader(data), 0, 0)
	_, p, err := r.ReadFrame()
	noErr(t, err, "first frame")
	if cap(p) != len(p) {
		t.Fatalf("payload capacity %d beyond its length %d: an append would overwrite the next frame", cap(p), len(p))
	}
	if r.Buffered() != HeaderSize+len("second") {
		t.Fatalf("Buffered() = %d, want %d", r.Buffered(), HeaderSize+len("second"))
	}
}

func TestReaderCleanEOF(t *testing.T) {
	_, _, err := NewReader(bytes.NewReader(nil), 0, 0).ReadFrame()
	if err != io.EOF {
		t.Fatalf("empty stream: got %v, want io.EOF", err)
	}
}

func TestReaderTruncatedHeader(t *testing.T) {
	frame := AppendFrame(nil, TypeCast, 0, 1, []byte("abc"))
	_, _, err := NewReader(bytes.NewReader(frame[:5]), 0, 0).ReadFrame()
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want ErrTruncated", err)
	}
}

func TestReaderTruncatedPayload(t *testing.T) {
	frame := AppendFrame(nil, TypeCast, 0, 1, []byte("abcdef"))
	_, _, err := NewReader(iotest.OneByteReader(bytes.NewReader(frame[:len(frame)-1])), 0, 0).ReadFrame()
	var fe *FrameError
	if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) || fe.Type != TypeCast {
		t.Fatalf("got %v, want a truncated cast *FrameError", err)
	}
}

// headerOnlyReader serves one header and fails the test if anyone reads on:
// a reader must reject a too-large frame from its header alone.
type headerOnlyReader struct {
	t      *testing.T
	header []byte
}

func (r *headerOnlyReader) Read(p []byte) (int, error) {
	if len(r.header) == 0 {
		r.t.Errorf("Read(%d bytes) after a header that declares a too-large payload", len(p))
		return 0, errors.New("payload must not be read")
	}
	n := copy(p, r.header)
	r.header = r.header[n:]
	return n, nil
}

func TestReaderRejectsOversizedBeforeReadingPayload(t *testing.T) {
	const limit = 1024
	hdr := make([]byte, HeaderSize)
	PutHeader(hdr, Header{Length: limit + 1, Version: Version, Type: TypeCall, ID: 3})
	for _, src := range []io.Reader{
		&headerOnlyReader{t: t, header: hdr},
		iotest.OneByteReader(&headerOnlyReader{t: t, header: hdr}),
	} {
		r := NewReader(src, limit, HeaderSize)
		_, _, err := r.ReadFrame()
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v, want ErrTooLarge", err)
		}
		if !strings.Contains(err.Error(), "1025") || !strings.Contains(err.Error(), "1024") {
			t.Fatalf("error %q should name the declared length and the limit", err)
		}
		if len(r.buf) > HeaderSize {
			t.Fatalf("buffer grew to %d bytes for a frame it rejected", len(r.buf))
		}
	}
}

func TestReaderAcceptsFrameAtLimit(t *testing.T) {
	const limit = 1000
	payload := bytes.Repeat([]byte{7}, limit)
	r := NewReader(bytes.NewReader(AppendFrame(nil, TypeReply, 0, 1, payload)), limit, 16)
	_, p, err := r.ReadFrame()
	noErr(t, err, "frame at the limit")
	sameBytes(t, payload, p, "payload")
	if len(r.buf) > HeaderSize+limit {
		t.Fatalf("buffer of %d bytes exceeds header plus limit %d", len(r.buf), HeaderSize+limit)
	}
}

func TestReaderSetMaxPayload(t *testing.T) {
	frame := AppendFrame(nil, TypeReply, 0, 1, make([]byte, 2000))
	r := NewReader(bytes.NewReader(frame), 1000, 0)
	r.SetMaxPayload(4000)
	_, _, err := r.ReadFrame()
	noErr(t, err, "after raising the limit")

	r = NewReader(bytes.NewReader(frame), 0, 0)
	r.SetMaxPayload(1000)
	if _, _, err := r.ReadFrame(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("after lowering the limit: got %v, want ErrTooLarge", err)
	}
	r.SetMaxPayload(0)
	if r.maxPayload != MaxPayloadLimit {
		t.Fatalf("SetMaxPayload(0) set %d, want MaxPayloadLimit", r.maxPayload)
	}
	if NewReader(nil, MaxPayloadLimit+1, 0).maxPayload != MaxPayloadLimit {
		t.Fatal("NewReader accepted a limit above MaxPayloadLimit")
	}
}

func TestReaderBadHeaders(t *testing.T) {
	good := AppendFrame(nil, TypeCast, 0, 1, []byte("abc"))
	cases := []struct {
		name  string
		patch func(b []byte)
		want  error
		text  string
	}{
		{"version 0", func(b []byte) { b[4] = 0 }, ErrVersion, "version 0"},
		{"version 3", func(b []byte) { b[4] = 3 }, ErrVersion, "version 3"},
		{"reserved byte", func(b []byte) { b[7] = 1 }, ErrMalformed, "reserved"},
		{"unknown flag", func(b []byte) { b[6] = 0x80 }, ErrMalformed, "unknown flags 0x80"},
		{"known and unknown flags", func(b []byte) { b[6] = FlagMore | 0x04 }, ErrMalformed, "unknown flags 0x4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(good)
			c.patch(b)
			_, _, err := NewReader(bytes.NewReader(b), 0, 0).ReadFrame()
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Fatalf("error %q does not mention %q", err, c.text)
			}
		})
	}
}

func TestReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	_, _, err := NewReader(iotest.ErrReader(boom), 0, 0).ReadFrame()
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the underlying error", err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	_, _, err := NewReader(emptyReader{}, 0, 0).ReadFrame()
	if !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("got %v, want io.ErrNoProgress", err)
	}
}

func TestParseHeaderShort(t *testing.T) {
	_, err := ParseHeader(make([]byte, HeaderSize-1), DefaultMaxPayload)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want ErrTruncated", err)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	want := Header{Length: 77, Version: Version, Type: TypeLockGrant, Flags: FlagCompressed | FlagMore, ID: 1<<63 | 5}
	b := make([]byte, HeaderSize)
	PutHeader(b, want)
	got, err := ParseHeader(b, 100)
	noErr(t, err, "ParseHeader")
	sameValue(t, want, got, "header")
}

func TestBeginFinishFrame(t *testing.T) {
	dst := []byte("prefix")
	dst, start := BeginFrame(dst, TypeCall, 0, 9)
	dst = (&Call{TimeoutMillis: 1, Method: []byte("m"), Payload: []byte("p")}).Append(dst)
	dst = FinishFrame(dst, start)
	sameBytes(t, []byte("prefix"), dst[:start], "bytes before the frame")
	sameBytes(t, AppendMessage(nil, 0, 9, &Call{TimeoutMillis: 1, Method: []byte("m"), Payload: []byte("p")}), dst[start:], "frame")
}

func TestErrorStrings(t *testing.T) {
	e := &FrameError{Code: CodeTooLarge, Type: TypeCall, Msg: "payload of 5 bytes exceeds the limit of 4"}
	if got := e.Error(); got != "wire: too large call frame: payload of 5 bytes exceeds the limit of 4" {
		t.Fatalf("Error() = %q", got)
	}
	e = &FrameError{Code: CodeTruncated, Msg: "x"}
	if got := e.Error(); got != "wire: truncated frame: x" {
		t.Fatalf("Error() = %q", got)
	}
	if errors.Is(e, ErrTooLarge) || !errors.Is(e, ErrTruncated) || errors.Is(e, io.EOF) {
		t.Fatal("errors.Is must match the sentinel of the same code only")
	}
	if ErrMalformed.Error() != "wire: malformed" {
		t.Fatalf("sentinel text %q", ErrMalformed.Error())
	}
	if Code(999).String() != "code(999)" || CodeWrongNode.String() != "wrong node" {
		t.Fatal("Code.String")
	}
	if Type(0x7f).String() != "type(0x7f)" || TypeLockRenew.String() != "lock-renew" {
		t.Fatalf("Type.String: %s %s", Type(0x7f), TypeLockRenew)
	}
}
