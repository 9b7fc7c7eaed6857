package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// goldenFrames returns every golden vector as raw bytes, to seed the fuzzers.
func goldenFrames(f *testing.F) [][]byte {
	var out [][]byte
	for _, c := range goldenCases() {
		out = append(out, readHex(f, c.name))
	}
	return append(out, readHex(f, "call_chunked"), readHex(f, "cast_compressed"))
}

// checkReencode is the property every decoder must keep: a body that decodes
// re-encodes to exactly the same bytes (every encoding is canonical), and
// those bytes decode to the same value.
func checkReencode(t *testing.T, typ Type, body []byte) {
	m, ok := New(typ)
	if !ok {
		return
	}
	if err := m.Decode(body); err != nil {
		var fe *FrameError
		if !errors.As(err, &fe) || fe.Type != typ {
			t.Fatalf("%s: Decode error %v is not a *FrameError naming the type", typ, err)
		}
		return
	}
	enc := m.Append(nil)
	if !bytes.Equal(enc, body) {
		t.Fatalf("%s: decoded %x re-encodes to %x", typ, body, enc)
	}
	m2, _ := New(typ)
	if err := m2.Decode(enc); err != nil {
		t.Fatalf("%s: re-encoded body does not decode: %v", typ, err)
	}
	sameValue(t, m, m2, "decoded again")
}

func FuzzReadFrame(f *testing.F) {
	var all []byte
	for _, b := range goldenFrames(f) {
		f.Add(b)
		f.Add(b[:len(b)/2])
		all = append(all, b...)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		r := NewReader(newChoppyReader(data), limit, 32)
		consumed := 0
		for {
			h, p, err := r.ReadFrame()
			if err != nil {
				var fe *FrameError
				if err != io.EOF && !errors.As(err, &fe) {
					t.Fatalf("ReadFrame error %v is neither io.EOF nor a *FrameError", err)
				}
				if err == io.EOF && consumed != len(data) {
					t.Fatalf("io.EOF after %d of %d bytes", consumed, len(data))
				}
				return
			}
			if h.Length > limit || int(h.Length) != len(p) {
				t.Fatalf("header %+v with a %d-byte payload and limit %d", h, len(p), limit)
			}
			frame := AppendFrame(nil, h.Type, h.Flags, h.ID, p)
			if !bytes.Equal(frame, data[consumed:consumed+len(frame)]) {
				t.Fatalf("frame re-encodes to %x, read from %x", frame, data[consumed:consumed+len(frame)])
			}
			consumed += len(frame)
			if h.Flags == 0 {
				if _, err := DecodeBody(h, p); err != nil && !errors.As(err, new(*FrameError)) {
					t.Fatalf("DecodeBody error %v is not a *FrameError", err)
				}
				checkReencode(t, h.Type, p)
			}
		}
	})
}

// newChoppyReader serves data in reads of varying sizes, to exercise the Reader's
// buffer handling as well as the parser.
func newChoppyReader(data []byte) io.Reader { return &choppyReader{data: data} }

type choppyReader struct {
	data []byte
	n    int
}

func (r *choppyReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	r.n = r.n%7 + 1
	k := copy(p[:min(len(p), r.n*r.n)], r.data)
	r.data = r.data[k:]
	return k, nil
}

func FuzzDecodeBody(f *testing.F) {
	for _, c := range goldenCases() {
		body := c.msg.Append(nil)
		f.Add(uint8(c.msg.Type()), body)
		f.Add(uint8(c.msg.Type()), body[:len(body)-1])
		f.Add(uint8(c.msg.Type()), append(bytes.Clone(body), 0))
	}
	for _, m := range edgeCases() {
		if b := m.Append(nil); len(b) < 4096 {
			f.Add(uint8(m.Type()), b)
		}
	}
	f.Add(uint8(0x7f), []byte{1})
	f.Add(uint8(0x80), []byte{1})
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		m, err := DecodeBody(Header{Type: Type(typ)}, body)
		switch {
		case !Type(typ).Known() && Type(typ).Critical():
			if m != nil || !errors.Is(err, ErrUnknownType) {
				t.Fatalf("unknown critical type %#x: got %v, %v", typ, m, err)
			}
		case !Type(typ).Known():
			if m != nil || err != nil {
				t.Fatalf("unknown optional type %#x: got %v, %v", typ, m, err)
			}
		case err == nil && m.Type() != Type(typ):
			t.Fatalf("DecodeBody(%#x) returned a %s", typ, m.Type())
		}
		checkReencode(t, Type(typ), body)
	})
}
