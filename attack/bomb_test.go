package attack

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/s2"
)

// TestS2Bomb checks the decompression bomb TestAttackDecompressionBomb
// sends: about a hundred bytes that S2 decodes to the size announced, all
// zeros.
func TestS2Bomb(t *testing.T) {
	for _, size := range []int{5, 9, 300, 70000, 20<<20 + 3, 1<<24 + 65540 + 2} {
		b := s2Bomb(size)
		got, err := s2.Decode(nil, b)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if len(got) != size || !bytes.Equal(got, make([]byte, size)) {
			t.Fatalf("size %d: decoded %d bytes, not all zero", size, len(got))
		}
	}
	b := s2Bomb(255 << 20)
	n, err := s2.DecodedLen(b)
	if err != nil || n != 255<<20 {
		t.Fatalf("255 MiB bomb: decoded length %d, %v", n, err)
	}
	if len(b) > 128 {
		t.Fatalf("255 MiB bomb is %d bytes, want about 100", len(b))
	}
	t.Logf("a %d-byte S2 block decodes to 255 MiB", len(b))
}
