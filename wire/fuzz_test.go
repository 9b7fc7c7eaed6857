package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
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

// refFrame is one frame as a reference parser, independent of Reader's
// buffering, cuts it out of a byte string.
type refFrame struct {
	h       Header
	payload []byte
}

// refFrames cuts data into frames the way the protocol defines them: a
// header that ParseHeader accepts, then exactly Length payload bytes. It
// stops at the first error, which is what a Reader must report there.
func refFrames(data []byte, limit uint32) (frames []refFrame, tail error) {
	for len(data) > 0 {
		h, err := ParseHeader(data, limit)
		if err != nil {
			return frames, err
		}
		if len(data) < HeaderSize+int(h.Length) {
			return frames, &FrameError{Code: CodeTruncated, Type: h.Type}
		}
		frames = append(frames, refFrame{h, data[HeaderSize : HeaderSize+int(h.Length)]})
		data = data[HeaderSize+int(h.Length):]
	}
	return frames, io.EOF
}

// FuzzReaderPaths reads the same stream through the two ways a receiver takes
// payloads: ReadBody (into the Reader's buffer) and AppendBody (straight into
// the caller's slice, with the lean header reads that follow a large
// payload), chosen frame by frame by the fuzzer, over a source that returns
// short reads. Every frame must come out exactly as the reference parser cuts
// it, the stream must end with the reference's error, AppendBody must keep
// what dst held, and the Reader's buffer must never outgrow one largest frame.
func FuzzReaderPaths(f *testing.F) {
	var all []byte
	for _, b := range goldenFrames(f) {
		f.Add(b, []byte{0}, uint16(32))
		f.Add(b, []byte{1}, uint16(16))
		all = append(all, b...)
	}
	f.Add(all, []byte{0, 1, 2, 3}, uint16(64))
	big := AppendFrame(nil, TypeCast, 0, 9, bytes.Repeat([]byte{7}, 5000))
	f.Add(append(bytes.Clone(big), all...), []byte{1, 0, 1}, uint16(16))
	f.Add(append(bytes.Clone(big), big[:len(big)-1]...), []byte{3, 3}, uint16(100))
	f.Fuzz(func(t *testing.T, data, choices []byte, bufSize uint16) {
		const limit = 8 << 10
		want, wantErr := refFrames(data, limit)
		r := NewReader(newChoppyReader(data), limit, int(bufSize))
		initial := int(bufSize)
		if initial == 0 {
			initial = DefaultReadBuffer
		}
		maxBuf := max(initial, HeaderSize+limit)
		for i := 0; ; i++ {
			h, err := r.ReadHeader()
			var p []byte
			if err == nil {
				c := byte(0)
				if len(choices) > 0 {
					c = choices[i%len(choices)]
				}
				switch c % 4 {
				case 0:
					p, err = r.ReadBody(h)
				default:
					// AppendBody behind a prefix the caller keeps, with
					// no spare room (1), some (2) or plenty (3).
					prefix := []byte("keep")
					dst := append(make([]byte, 0, len(prefix)+[]int{0, 0, 3, int(h.Length) + 10}[c%4]), prefix...)
					p, err = r.AppendBody(dst, h)
					if !bytes.HasPrefix(p, prefix) {
						t.Fatalf("frame %d: AppendBody lost the %q dst held: %q", i, prefix, p[:min(len(p), 8)])
					}
					p = p[len(prefix):]
				}
			}
			if len(r.buf) > maxBuf {
				t.Fatalf("frame %d: buffer grew to %d bytes; a frame is at most %d", i, len(r.buf), maxBuf)
			}
			if i == len(want) {
				if err == nil {
					t.Fatalf("frame %d: read a %s frame the reference parser did not find", i, h.Type)
				}
				if wantErr == io.EOF {
					if err != io.EOF {
						t.Fatalf("after %d whole frames: got %v, want io.EOF", i, err)
					}
					return
				}
				var fe, wantFE *FrameError
				errors.As(wantErr, &wantFE)
				if !errors.As(err, &fe) || fe.Code != wantFE.Code {
					t.Fatalf("after %d whole frames: got %v, want a %s error (%v)", i, err, wantFE.Code, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("frame %d of %d: %v", i, len(want), err)
			}
			if h != want[i].h || !bytes.Equal(p, want[i].payload) {
				t.Fatalf("frame %d: read %+v with %d payload bytes, want %+v with %d", i, h, len(p), want[i].h, len(want[i].payload))
			}
		}
	})
}

// fieldSource hands out field values from fuzz input, cycling through it, so
// that every message of every type can be built from a byte string.
type fieldSource struct {
	b []byte
	i int
}

func (s *fieldSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[s.i%len(s.b)]
	s.i++
	return v
}

func (s *fieldSource) bytes(n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = s.byte()
	}
	return out
}

// str gives a short string, or (when the input asks for it) one of the
// longest a str16 holds, so the limits of the length field are exercised.
func (s *fieldSource) str() []byte {
	n := int(s.byte())
	if n == 0xff {
		return bytes.Repeat([]byte{s.byte()}, 0xffff)
	}
	return s.bytes(n % 40)
}

// fill sets every exported field of the struct v points to.
func (s *fieldSource) fill(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanSet() || v.Type().Field(i).Name == "T" {
			continue
		}
		s.fillValue(f)
	}
}

func (s *fieldSource) fillValue(f reflect.Value) {
	switch f.Kind() {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		for range f.Type().Size() {
			u = u<<8 | uint64(s.byte())
		}
		switch f.Type() {
		case reflect.TypeFor[Status]():
			u = uint64(StatusJoining) + u%5
		case reflect.TypeFor[HealState]():
			u = uint64(HealUnknown) + u%4
		case reflect.TypeFor[LockType]():
			u = uint64(LockLocal) + u%4
		case reflect.TypeFor[LockRefusal]():
			u = uint64(LockHeld) + u%3
		}
		f.SetUint(u)
	case reflect.Bool:
		f.SetBool(s.byte()&1 == 1)
	case reflect.Array:
		reflect.Copy(f, reflect.ValueOf(s.bytes(f.Len())))
	case reflect.Slice:
		switch f.Type().Elem().Kind() {
		case reflect.Uint8:
			f.SetBytes(s.str())
		default: // a list: a few entries
			n := int(s.byte() % 6)
			l := reflect.MakeSlice(f.Type(), n, n)
			for j := range n {
				e := l.Index(j)
				if e.Kind() == reflect.Struct {
					s.fill(e)
				} else {
					s.fillValue(e)
				}
			}
			f.Set(l)
		}
	case reflect.Struct:
		s.fill(f)
	}
}

// FuzzEncodeDecode builds a message of every type from fuzzed field values
// (every enum a defined value, every string within its u16 length) and checks
// the encoder's side of the contract: what Append writes, Decode reads back
// to an equal value, and DecodeBody through a whole frame does too.
func FuzzEncodeDecode(f *testing.F) {
	f.Add(uint8(TypeHello), []byte{0})
	f.Add(uint8(TypeMemberTable), []byte{3, 5, 'a', '@', 'b', 1, 2})
	f.Add(uint8(TypeMemberTags), []byte{2, 4, 'r', 'o', 'l', 'e', 2, 'd', 'b'})
	f.Add(uint8(TypeMemberSuspended), []byte{4, 6, 'n', 'o', 'q', 'u', 'o', 'r'})
	f.Add(uint8(TypeViewReply), []byte{5, 0xff, 1, 2, 3})
	f.Add(uint8(TypeLockAcquire), []byte{9, 8, 7, 6, 5})
	f.Add(uint8(TypeCall), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 'x'})
	f.Fuzz(func(t *testing.T, typ uint8, fields []byte) {
		m, ok := New(Type(typ))
		if !ok {
			return
		}
		src := &fieldSource{b: fields}
		src.fill(reflect.ValueOf(m).Elem())
		if h, ok := m.(*Hello); ok && h.MinVersion > h.MaxVersion {
			h.MinVersion, h.MaxVersion = h.MaxVersion, h.MinVersion // Decode rightly refuses the other order
		}
		body := m.Append(nil)
		m2, _ := New(Type(typ))
		if err := m2.Decode(body); err != nil {
			t.Fatalf("%s: %#v encodes to a body Decode refuses: %v", m.Type(), m, err)
		}
		sameValue(t, m, m2, m.Type().String()+" decoded")
		frame := AppendMessage(nil, 0, 42, m)
		h, p, err := NewReader(bytes.NewReader(frame), MaxPayloadLimit, 0).ReadFrame()
		if err != nil {
			t.Fatalf("%s: a frame of it does not read back: %v", m.Type(), err)
		}
		m3, err := DecodeBody(h, p)
		if err != nil || h.ID != 42 || h.Type != m.Type() {
			t.Fatalf("%s: frame read back as %+v, %v", m.Type(), h, err)
		}
		sameValue(t, m, m3, m.Type().String()+" through a frame")
	})
}
