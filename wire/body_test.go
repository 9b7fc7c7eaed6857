package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestAppendBody reads a stream of frames of many sizes through a reader
// that returns a few bytes at a time, taking some payloads with ReadBody and
// the others with AppendBody (straight into a buffer of the caller's), and
// checks that both give every payload as sent.
func TestAppendBody(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i, size := range []int{0, 1, 15, 16, 17, 100, 4096, 70000, 3, 300000} {
		p := bytes.Repeat([]byte{byte(i + 1)}, size)
		want = append(want, p)
		stream = AppendFrame(stream, TypeCast, 0, uint64(i), p)
	}
	r := NewReader(newChoppyReader(stream), 1<<20, 32)
	for i, w := range want {
		h, err := r.ReadHeader()
		if err != nil {
			t.Fatalf("frame %d: ReadHeader: %v", i, err)
		}
		var got []byte
		if i%2 == 0 {
			got, err = r.ReadBody(h)
		} else {
			prefix := []byte("prefix")
			got, err = r.AppendBody(prefix, h)
			if err == nil && !bytes.HasPrefix(got, prefix) {
				t.Fatalf("frame %d: AppendBody lost what dst held", i)
			}
			got = got[len(prefix):]
		}
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("frame %d: payload of %d bytes differs from the %d sent", i, len(got), len(w))
		}
	}
	if _, err := r.ReadHeader(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

// TestAppendBodyTruncated: a stream that ends inside a payload read with
// AppendBody is a truncated frame, not a clean end.
func TestAppendBodyTruncated(t *testing.T) {
	frame := AppendFrame(nil, TypeCast, 0, 1, make([]byte, 1000))
	r := NewReader(bytes.NewReader(frame[:500]), 0, 32)
	h, err := r.ReadHeader()
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.AppendBody(nil, h)
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Code != CodeTruncated {
		t.Fatalf("AppendBody on a cut stream: %v, want a truncated-frame error", err)
	}
}
