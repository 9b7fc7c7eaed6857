package wire

import "encoding/binary"

// Body encoding primitives. All integers are big-endian. Strings and short
// byte strings carry a uint16 length prefix (str16); lists of them a uint16
// count (list16); a field at the end of a body may instead run to the end of
// the body (rest). Decoding never allocates: []byte results alias the input.

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func appendStr16(b []byte, s []byte) []byte {
	b = appendU16(b, uint16(len(s)))
	return append(b, s...)
}

// cursor decodes a body field by field, remembering the first error.
type cursor struct {
	b   []byte
	t   Type
	err error
}

func (c *cursor) fail(field string) {
	if c.err == nil {
		c.err = truncated(c.t, field)
	}
	c.b = nil
}

func (c *cursor) u8(field string) uint8 {
	if len(c.b) < 1 {
		c.fail(field)
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *cursor) u16(field string) uint16 {
	if len(c.b) < 2 {
		c.fail(field)
		return 0
	}
	v := binary.BigEndian.Uint16(c.b)
	c.b = c.b[2:]
	return v
}

func (c *cursor) u32(field string) uint32 {
	if len(c.b) < 4 {
		c.fail(field)
		return 0
	}
	v := binary.BigEndian.Uint32(c.b)
	c.b = c.b[4:]
	return v
}

func (c *cursor) u64(field string) uint64 {
	if len(c.b) < 8 {
		c.fail(field)
		return 0
	}
	v := binary.BigEndian.Uint64(c.b)
	c.b = c.b[8:]
	return v
}

func (c *cursor) fixed(field string, n int) []byte {
	if len(c.b) < n {
		c.fail(field)
		return nil
	}
	v := c.b[:n:n]
	c.b = c.b[n:]
	return v
}

func (c *cursor) str16(field string) []byte {
	n := int(c.u16(field))
	if c.err != nil {
		return nil
	}
	return c.fixed(field, n)
}

func (c *cursor) rest() []byte {
	v := c.b
	c.b = nil
	return v
}

// done returns the first error, or a malformed error if bytes are left over.
func (c *cursor) done() error {
	if c.err != nil {
		return c.err
	}
	if len(c.b) != 0 {
		return malformed(c.t, "%d trailing bytes after the last field", len(c.b))
	}
	return nil
}

func appendStr16List(b []byte, list [][]byte) []byte {
	b = appendU16(b, uint16(len(list)))
	for _, s := range list {
		b = appendStr16(b, s)
	}
	return b
}

// str16List decodes a u16 count followed by that many str16 values into dst,
// reusing its capacity: it allocates only when dst is too short, so a caller
// that keeps the message between decodes reaches zero allocations. The count
// is checked against the bytes left before dst grows, so a forged count cannot
// make it allocate more than the body could hold.
func (c *cursor) str16List(field string, dst [][]byte) [][]byte {
	n := int(c.u16(field + " count"))
	dst = dst[:0]
	if c.err != nil {
		return dst
	}
	if n*2 > len(c.b) {
		c.fail(field)
		return dst
	}
	for range n {
		s := c.str16(field)
		if c.err != nil {
			return dst[:0]
		}
		dst = append(dst, s)
	}
	return dst
}
