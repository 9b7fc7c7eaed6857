package wire

import (
	"bytes"
	"testing"
)

func TestReaderGrowKeepsBufferedFrames(t *testing.T) {
	var stream []byte
	for i := range 10 {
		stream = AppendFrame(stream, TypeCast, 0, uint64(i+1), bytes.Repeat([]byte{byte(i)}, 100))
	}
	r := NewReader(bytes.NewReader(stream), 0, 512)
	if _, _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() == 0 {
		t.Fatal("want bytes buffered after the first frame")
	}
	r.Grow(64 << 10)
	if len(r.buf) != 64<<10 {
		t.Fatalf("buffer is %d bytes after Grow(64 KiB)", len(r.buf))
	}
	for i := 1; i < 10; i++ {
		h, p, err := r.ReadFrame()
		if err != nil || h.ID != uint64(i+1) || !bytes.Equal(p, bytes.Repeat([]byte{byte(i)}, 100)) {
			t.Fatalf("frame %d after Grow: %v %v", i, h, err)
		}
	}
	r.Grow(100) // never shrinks
	if len(r.buf) != 64<<10 {
		t.Fatal("Grow shrank the buffer")
	}
	small := NewReader(bytes.NewReader(nil), MinPayloadLimit, 0)
	small.Grow(1 << 30)
	if len(small.buf) != HeaderSize+MinPayloadLimit {
		t.Fatalf("Grow went past the limit: %d", len(small.buf))
	}
}
