package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version this package speaks. It travels in every
// frame header and is negotiated in the handshake.
const Version uint8 = 2

// HeaderSize is the fixed size of a frame header in bytes.
const HeaderSize = 16

// Frame size limits. A reader rejects a frame whose declared payload length is
// above its limit before it reads a single payload byte.
const (
	// DefaultMaxPayload is the payload limit used when none is configured.
	// Larger application payloads are split into chunks (FlagMore).
	DefaultMaxPayload = 4 << 20
	// MaxPayloadLimit is the largest limit a peer may configure or announce.
	MaxPayloadLimit = 64 << 20
	// MinPayloadLimit is the smallest limit a peer may announce; every control
	// message fits in it.
	MinPayloadLimit = 64 << 10
)

// Header flags.
const (
	// FlagCompressed marks a payload compressed with the codec negotiated in
	// the handshake (S2 by default).
	FlagCompressed uint8 = 1 << 0
	// FlagMore marks a chunk of a larger message: more chunks with the same
	// type and id follow; the last chunk has FlagMore clear.
	FlagMore uint8 = 1 << 1
	// flagsKnown is the set of flags this version understands; others are an error.
	flagsKnown = FlagCompressed | FlagMore
)

// Header is the fixed 16-byte prefix of every frame.
//
//	offset size field
//	0      4    Length  payload length in bytes, big-endian, header excluded
//	4      1    Version protocol version (2)
//	5      1    Type    message type
//	6      1    Flags   FlagCompressed | FlagMore
//	7      1    Reserved, zero
//	8      8    ID      correlation id (call id, lock request id, chunked message id); 0 when unused
type Header struct {
	Length  uint32
	Version uint8
	Type    Type
	Flags   uint8
	ID      uint64
}

// PutHeader writes h into b, which must be at least HeaderSize long.
func PutHeader(b []byte, h Header) {
	_ = b[HeaderSize-1]
	binary.BigEndian.PutUint32(b[0:4], h.Length)
	b[4] = h.Version
	b[5] = uint8(h.Type)
	b[6] = h.Flags
	b[7] = 0
	binary.BigEndian.PutUint64(b[8:16], h.ID)
}

// ParseHeader decodes and validates a header. It checks the version, the
// reserved byte, the flags and the length against maxPayload. The type is not
// checked here; see Type.Critical for the rule on unknown types.
func ParseHeader(b []byte, maxPayload uint32) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, &FrameError{Code: CodeTruncated, Msg: fmt.Sprintf("header has %d bytes, want %d", len(b), HeaderSize)}
	}
	h := Header{
		Length:  binary.BigEndian.Uint32(b[0:4]),
		Version: b[4],
		Type:    Type(b[5]),
		Flags:   b[6],
		ID:      binary.BigEndian.Uint64(b[8:16]),
	}
	if h.Version != Version {
		return h, &FrameError{Code: CodeVersion, Type: h.Type, Msg: fmt.Sprintf("frame version %d, this node speaks version %d", h.Version, Version)}
	}
	if b[7] != 0 {
		return h, &FrameError{Code: CodeMalformed, Type: h.Type, Msg: fmt.Sprintf("reserved header byte is %#x, want 0", b[7])}
	}
	if h.Flags&^flagsKnown != 0 {
		return h, &FrameError{Code: CodeMalformed, Type: h.Type, Msg: fmt.Sprintf("unknown flags %#x (known: %#x)", h.Flags&^flagsKnown, flagsKnown)}
	}
	if h.Length > maxPayload {
		return h, &FrameError{Code: CodeTooLarge, Type: h.Type, Msg: fmt.Sprintf("payload of %d bytes exceeds the limit of %d", h.Length, maxPayload)}
	}
	return h, nil
}

// BeginFrame appends a header with a zero length to dst and returns the new
// slice and the offset of the header, for FinishFrame to patch the length once
// the body has been appended. It allocates only if dst lacks capacity.
func BeginFrame(dst []byte, t Type, flags uint8, id uint64) ([]byte, int) {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	PutHeader(dst[start:], Header{Version: Version, Type: t, Flags: flags, ID: id})
	return dst, start
}

// FinishFrame patches the length of the frame begun at start.
func FinishFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start:start+4], uint32(len(dst)-start-HeaderSize))
	return dst
}

// AppendFrame appends a whole frame with the given raw payload.
func AppendFrame(dst []byte, t Type, flags uint8, id uint64, payload []byte) []byte {
	dst, s := BeginFrame(dst, t, flags, id)
	dst = append(dst, payload...)
	return FinishFrame(dst, s)
}

// AppendMessage appends m as a whole frame. Hot paths call BeginFrame,
// the message's Append and FinishFrame directly to avoid the interface call.
func AppendMessage(dst []byte, flags uint8, id uint64, m Message) []byte {
	dst, s := BeginFrame(dst, m.Type(), flags, id)
	dst = m.Append(dst)
	return FinishFrame(dst, s)
}

// Message is implemented by every message body type in this package.
// Append appends the encoded body; Decode parses a body. Decoded []byte
// fields alias the input and are valid only as long as it is.
type Message interface {
	Type() Type
	Append(dst []byte) []byte
	Decode(b []byte) error
}

// Reader reads frames from an io.Reader through its own buffer. The payload it
// returns aliases that buffer and is valid only until the next call to
// ReadFrame. A Reader never allocates more than HeaderSize+MaxPayload for its
// buffer, and checks the limit before it reads any payload byte.
type Reader struct {
	r          io.Reader
	buf        []byte
	start, end int
	maxPayload uint32
	// lean is set while payloads are taken with AppendBody straight from
	// the stream: the next header is then read on its own, so that the
	// payload behind it is not read into buf only to be copied out again.
	lean bool
	// reads counts the Read calls made on the underlying reader.
	reads uint64
}

// Reads reports how many times the Reader has read from its source. A
// receiver that wants to know when it last heard from its peer can read
// the clock when this changes, rather than for every frame.
func (r *Reader) Reads() uint64 { return r.reads }

// DefaultReadBuffer is the initial buffer size of a Reader.
const DefaultReadBuffer = 64 << 10

// maxEmptyReads is how many reads in a row may return no data and no error
// before ReadFrame gives up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// NewReader returns a Reader with the given payload limit (0 means
// DefaultMaxPayload). bufSize is the initial buffer size (0 means
// DefaultReadBuffer); the buffer grows, up to the limit, for larger frames.
func NewReader(r io.Reader, maxPayload uint32, bufSize int) *Reader {
	if maxPayload == 0 {
		maxPayload = DefaultMaxPayload
	}
	if maxPayload > MaxPayloadLimit {
		maxPayload = MaxPayloadLimit
	}
	if bufSize <= 0 {
		bufSize = DefaultReadBuffer
	}
	if bufSize < HeaderSize {
		bufSize = HeaderSize
	}
	return &Reader{r: r, buf: make([]byte, bufSize), maxPayload: maxPayload}
}

// SetMaxPayload changes the payload limit, for example after a handshake.
func (r *Reader) SetMaxPayload(n uint32) {
	if n == 0 || n > MaxPayloadLimit {
		n = MaxPayloadLimit
	}
	r.maxPayload = n
}

// Grow makes the buffer at least n bytes long (within the limit), keeping
// what is buffered. Readers start small and grow for large frames on their
// own; Grow is for a stream known to carry many frames, where a larger
// buffer means fewer reads.
func (r *Reader) Grow(n int) {
	n = min(n, HeaderSize+int(r.maxPayload))
	if len(r.buf) >= n {
		return
	}
	nb := make([]byte, n)
	r.end = copy(nb, r.buf[r.start:r.end])
	r.start = 0
	r.buf = nb
}

// Buffered reports how many bytes are buffered but not yet returned.
func (r *Reader) Buffered() int { return r.end - r.start }

// fill makes at least n bytes available in buf[start:end].
func (r *Reader) fill(n int) error {
	if r.end-r.start >= n {
		return nil
	}
	if len(r.buf)-r.start < n {
		if len(r.buf) < n {
			// Grow geometrically, to room for a few frames of this size
			// (so large frames do not cost a compaction each), but never
			// past the largest frame the limit allows.
			nb := make([]byte, max(n, min(max(2*len(r.buf), 4*n), HeaderSize+int(r.maxPayload))))
			r.end = copy(nb, r.buf[r.start:r.end])
			r.buf = nb
		} else {
			r.end = copy(r.buf, r.buf[r.start:r.end])
		}
		r.start = 0
	} else if r.start > 0 && len(r.buf)-r.end < len(r.buf)/4 {
		// Little room left after the data: move the partial frame down
		// so the next read can fill most of the buffer in one system call.
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	return r.readUntil(n, len(r.buf))
}

// readUntil reads into buf[end:limit] until n bytes from start are buffered.
func (r *Reader) readUntil(n, limit int) error {
	m, err := r.readAtLeast(r.buf[r.end:limit], n-(r.end-r.start))
	r.end += m
	if err != nil {
		if errors.Is(err, io.EOF) {
			if r.end == r.start {
				return io.EOF
			}
			return &FrameError{Code: CodeTruncated, Msg: fmt.Sprintf("stream ended %d bytes into a frame that needs %d", r.end-r.start, n)}
		}
		return err
	}
	return nil
}

// readAtLeast reads from the source into p until at least atLeast bytes came,
// counting each read. An error is returned only when it ends the reads
// short of atLeast; a source that keeps returning nothing, which would spin
// forever, is io.ErrNoProgress.
func (r *Reader) readAtLeast(p []byte, atLeast int) (int, error) {
	n := 0
	for empty := 0; n < atLeast; {
		m, err := r.r.Read(p[n:])
		n += m
		r.reads++
		if m == 0 && err == nil {
			if empty++; empty >= maxEmptyReads {
				return n, io.ErrNoProgress
			}
			continue
		}
		empty = 0
		if err != nil && n < atLeast {
			return n, err
		}
	}
	return n, nil
}

// ReadFrame reads the next frame. At a clean end of stream it returns io.EOF;
// a stream that ends inside a frame yields a *FrameError with CodeTruncated.
// The returned payload is valid until the next call.
func (r *Reader) ReadFrame() (Header, []byte, error) {
	h, err := r.ReadHeader()
	if err != nil {
		return h, nil, err
	}
	p, err := r.ReadBody(h)
	return h, p, err
}

// ReadHeader reads and checks the next frame header without its payload; the
// payload must be taken next, with ReadBody or AppendBody, before another
// header is read. ReadFrame is ReadHeader and ReadBody in one call. The two
// steps let a receiver decide where a payload goes once it knows its type and
// length: a large payload can be read straight into a buffer the receiver
// keeps, without passing through the Reader's buffer.
func (r *Reader) ReadHeader() (Header, error) {
	if r.lean && r.end-r.start < HeaderSize {
		if err := r.fillExact(HeaderSize); err != nil {
			return Header{}, err
		}
	}
	if err := r.fill(HeaderSize); err != nil {
		return Header{}, err
	}
	h, err := ParseHeader(r.buf[r.start:r.start+HeaderSize], r.maxPayload)
	if err != nil {
		return h, err
	}
	r.start += HeaderSize
	return h, nil
}

// fillExact is fill that reads no further than n bytes past start, so that
// what follows stays in the stream for AppendBody to read in place.
func (r *Reader) fillExact(n int) error {
	if len(r.buf)-r.start < n {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	return r.readUntil(n, r.start+n)
}

// ReadBody reads the payload of the header ReadHeader returned into the
// Reader's buffer; it is valid until the next read.
func (r *Reader) ReadBody(h Header) ([]byte, error) {
	r.lean = false
	n := int(h.Length)
	if err := r.fill(n); err != nil {
		if err == io.EOF {
			// The header was read: an end of stream here is inside a frame.
			return nil, &FrameError{Code: CodeTruncated, Type: h.Type, Msg: fmt.Sprintf("stream ended %d bytes into a payload of %d", r.end-r.start, n)}
		}
		var fe *FrameError
		if errors.As(err, &fe) {
			fe.Type = h.Type
		}
		return nil, err
	}
	p := r.buf[r.start : r.start+n : r.start+n]
	r.start += n
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	return p, nil
}

// AppendBody appends the payload of the header ReadHeader returned to dst
// and returns the extended slice. What the Reader has buffered is copied;
// the rest is read from the underlying reader straight into dst's spare
// capacity, so a large payload is copied once, from the socket to dst. dst
// grows as append would when its capacity is short.
func (r *Reader) AppendBody(dst []byte, h Header) ([]byte, error) {
	n := int(h.Length)
	if cap(dst)-len(dst) < n {
		dst = append(dst[:cap(dst)], make([]byte, len(dst)+n-cap(dst))...)[:len(dst)]
	}
	buffered := min(n, r.end-r.start)
	dst = append(dst, r.buf[r.start:r.start+buffered]...)
	r.start += buffered
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	want := len(dst) + n - buffered
	// Reading in place pays for a large remainder: keep doing it, and read
	// the next header on its own, while payloads come this way.
	r.lean = want-len(dst) >= 4<<10
	m, err := r.readAtLeast(dst[len(dst):want], want-len(dst))
	dst = dst[:len(dst)+m]
	if err != nil {
		if errors.Is(err, io.EOF) {
			return dst, &FrameError{Code: CodeTruncated, Type: h.Type, Msg: fmt.Sprintf("stream ended %d bytes into a payload of %d", n-(want-len(dst)), n)}
		}
		return dst, err
	}
	return dst, nil
}
