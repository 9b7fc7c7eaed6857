package conn

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// messageReader turns a lane's frames into messages: it reassembles chunks,
// decompresses, and reads large application bodies straight into buffers
// of their own. What chunked messages and decompressed bodies hold is
// counted against the link's and the node's budgets (mem).
type messageReader struct {
	r      *wire.Reader
	maxMsg int
	// maxFrame is this side's payload limit: no compressed frame may
	// decode to more (PROTOCOL.md 4.1).
	maxFrame int
	sized    bool // a first chunk opens with the body's size (CapChunkSize)
	mem      *memory
	onChunk  func()        // called when a chunked message starts (arms the watchdog)
	count    *laneCounters // the lane's received frames and bytes (stats.go)
	// held is what the message returned last holds of the budgets, until
	// the handler is done with it (handed).
	held int64

	mu      sync.Mutex // guards partial against the watchdog; only the reader writes it
	partial map[chunkKey]*partialMsg
}

// partialMsg is a chunked message being reassembled.
type partialMsg struct {
	buf      []byte
	size     int       // the announced size; -1 when the peer does not announce it
	reserved int64     // bytes of the budgets buf holds (its capacity)
	last     time.Time // when its last chunk came (guarded by messageReader.mu)
}

type chunkKey struct {
	t  wire.Type
	id uint64
}

// ownedType reports whether bodies of type t are handed to the handler to
// keep (the application's payloads), so reading them into a buffer of their
// own saves the handler a copy.
func ownedType(t wire.Type) bool {
	return t == wire.TypeCall || t == wire.TypeReply || t == wire.TypeCast
}

// bodyCap is the capacity newBody(n) returns.
func bodyCap(n int) int {
	if _, size, ok := bodyClass(n); ok {
		return size
	}
	return n
}

// reserveBody reserves the memory of a buffer for n bytes and returns it
// empty, or the *LimitError of the budget that has no room.
func (m *messageReader) reserveBody(n int) ([]byte, int64, error) {
	c := int64(bodyCap(n))
	if err := m.mem.reserve(c); err != nil {
		return nil, 0, err
	}
	return newBody(n), c, nil
}

// firstChunk starts the reassembly of a chunked message whose first frame
// hdr is: it reads the size announcement when the peer makes one (and
// takes it off hdr.Length), and returns an empty buffer with room for the
// whole message, or, without an announcement, for a few chunks like this
// one (plus a little for a call's or cast's head before a payload of a
// round size).
func (m *messageReader) firstChunk(hdr *wire.Header) (*partialMsg, error) {
	room, size := min(4*int(hdr.Length)+4096, m.maxMsg), -1
	if m.sized {
		if hdr.Length < wire.ChunkSizeLen {
			return nil, messageError{&wire.FrameError{Code: wire.CodeMalformed, Type: hdr.Type, Msg: fmt.Sprintf("first chunk of %d bytes cannot hold the %d-byte size announcement", hdr.Length, wire.ChunkSizeLen)}}
		}
		b, err := m.r.ReadBody(wire.Header{Type: hdr.Type, Length: wire.ChunkSizeLen})
		if err != nil {
			return nil, err
		}
		announced := binary.BigEndian.Uint64(b)
		hdr.Length -= wire.ChunkSizeLen
		if announced > uint64(m.maxMsg) || announced < uint64(hdr.Length) {
			return nil, messageError{&wire.FrameError{Code: wire.CodeTooLarge, Type: hdr.Type, Msg: fmt.Sprintf("chunked message announced at %d bytes, want %d..%d", announced, hdr.Length, m.maxMsg)}}
		}
		// Trust the announcement only so far: room for the whole message,
		// but at most sixteen times what the first chunk brings, so that a
		// peer cannot make this node hold 256 MiB for a few bytes sent.
		// Larger messages grow as their chunks come.
		size = int(announced)
		room = min(size, 16*int(hdr.Length)+64<<10)
	}
	buf, reserved, err := m.reserveBody(room)
	if err != nil {
		return nil, messageError{err}
	}
	return &partialMsg{buf: buf, size: size, reserved: reserved}, nil
}

// grow makes room in pm for need bytes, doubling its buffer (up to the
// announced size or the message limit) and counting the new buffer
// against the budgets.
func (m *messageReader) grow(pm *partialMsg, need int) error {
	if need <= cap(pm.buf) {
		return nil
	}
	limit := m.maxMsg
	if pm.size >= 0 {
		limit = pm.size
	}
	nb, reserved, err := m.reserveBody(max(need, min(2*cap(pm.buf), limit)))
	if err != nil {
		return err
	}
	nb = append(nb, pm.buf...)
	ReleaseBody(pm.buf)
	m.mem.release(pm.reserved)
	pm.buf, pm.reserved = nb, reserved
	return nil
}

// store files pm as the unfinished message k (or, with pm nil, removes it).
func (m *messageReader) store(k chunkKey, pm *partialMsg, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if pm == nil {
		delete(m.partial, k)
		return
	}
	if m.partial == nil {
		m.partial = make(map[chunkKey]*partialMsg)
	}
	pm.last = now
	m.partial[k] = pm
}

// oldest reports how many chunked messages are unfinished and when the
// one that waited longest last made progress.
func (m *messageReader) oldest() (n int, last time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, pm := range m.partial {
		if n == 0 || pm.last.Before(last) {
			last = pm.last
		}
		n++
	}
	return n, last
}

// handed releases what the message returned last held of the budgets.
func (m *messageReader) handed() {
	m.mem.release(m.held)
	m.held = 0
}

// releaseAll releases every budget the reader holds, when its lane ends.
// The buffers of unfinished messages go back to the body pools: a peer
// closed for the budget that redials and starts over is then served from
// the same memory, rather than from fresh memory while the old buffers
// wait for the garbage collector (which would let the process hold about
// twice the budget).
func (m *messageReader) releaseAll() {
	m.handed()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, pm := range m.partial {
		m.mem.release(pm.reserved)
		ReleaseBody(pm.buf)
		delete(m.partial, k)
	}
}

// messageError is a message the peer should not have sent (a chunked
// message above the limit, a compressed body that does not decode, a
// budget it would exceed), as opposed to a lane that failed while reading.
type messageError struct{ error }

// next reads one frame: a whole message, or a chunk that completes one, or
// a chunk of a message that is not complete yet (then body is nil). The
// header returned has Flags 0 and the Length of the whole message. The
// caller calls handed once it is done with the message.
//
// It only sequences the steps: a chunk goes to reassemble, a compressed
// whole message to decompress, a large application body into a buffer of
// its own, anything else is read in place.
func (m *messageReader) next() (hdr wire.Header, body []byte, owned bool, err error) {
	hdr, err = m.r.ReadHeader()
	if err != nil {
		return hdr, nil, false, err
	}
	m.count.received(hdr)
	k := chunkKey{hdr.Type, hdr.ID}
	pm, chunked := m.partial[k] // only this goroutine writes the map
	switch {
	case hdr.Flags&wire.FlagMore != 0 || chunked:
		if body, err = m.reassemble(&hdr, k, pm); err != nil || body == nil {
			return hdr, nil, false, err
		}
		owned = true
	case hdr.Flags&wire.FlagCompressed != 0:
		src, err := m.r.ReadBody(hdr)
		if err != nil {
			return hdr, nil, false, err
		}
		if body, err = m.decompress(hdr, src); err != nil {
			return hdr, nil, false, err
		}
		owned = true
	case ownedType(hdr.Type) && hdr.Length >= ownedThreshold:
		if body, err = m.r.AppendBody(newBody(int(hdr.Length)), hdr); err != nil {
			return hdr, nil, false, err
		}
		owned = true
	default:
		if body, err = m.r.ReadBody(hdr); err != nil {
			return hdr, nil, false, err
		}
	}
	hdr.Flags = 0
	hdr.Length = uint32(len(body))
	return hdr, body, owned, nil
}

// reassemble adds the chunk whose header is hdr to the message k (pm, or a
// new one when pm is nil) and returns the whole message once its last
// chunk came, nil before. The message is the caller's to keep: what it
// holds of the budgets is released by handed.
func (m *messageReader) reassemble(hdr *wire.Header, k chunkKey, pm *partialMsg) ([]byte, error) {
	more := hdr.Flags&wire.FlagMore != 0
	if pm == nil {
		var err error
		if pm, err = m.firstChunk(hdr); err != nil {
			return nil, err
		}
		m.store(k, pm, time.Now()) // from now on releaseAll frees it
		if m.onChunk != nil {
			m.onChunk()
		}
	}
	if err := m.appendChunk(*hdr, pm); err != nil {
		return nil, err
	}
	if more {
		m.store(k, pm, time.Now())
		return nil, nil
	}
	m.store(k, nil, time.Time{})
	m.held = pm.reserved // handed over with the message
	if pm.size >= 0 && len(pm.buf) != pm.size {
		return nil, messageError{&wire.FrameError{Code: wire.CodeMalformed, Type: hdr.Type, Msg: fmt.Sprintf("chunked message of %d bytes, announced %d", len(pm.buf), pm.size)}}
	}
	return pm.buf, nil
}

// appendChunk reads one chunk's piece onto pm.buf. Each chunk is decoded
// on its own as it comes (PROTOCOL.md 4.2): a compressed piece is checked
// against the limits by its decoded length before the buffer grows for it.
func (m *messageReader) appendChunk(hdr wire.Header, pm *partialMsg) error {
	n, compressed := int(hdr.Length), hdr.Flags&wire.FlagCompressed != 0
	var src []byte
	if compressed {
		var err error
		if src, err = m.r.ReadBody(hdr); err != nil {
			return err
		}
		if n, err = m.decodedLen(hdr, src); err != nil {
			return err
		}
	}
	need := len(pm.buf) + n
	if need > m.maxMsg || (pm.size >= 0 && need > pm.size) {
		return messageError{&wire.FrameError{Code: wire.CodeTooLarge, Type: hdr.Type, Msg: fmt.Sprintf("chunked message above its announced size %d or the limit %d", pm.size, m.maxMsg)}}
	}
	if err := m.grow(pm, need); err != nil {
		return messageError{err}
	}
	if !compressed {
		var err error
		pm.buf, err = m.r.AppendBody(pm.buf, hdr)
		return err
	}
	// dst is exactly n long, so S2 decodes in place.
	if err := decodeBlock(hdr, pm.buf[len(pm.buf):need], src, "compressed chunk"); err != nil {
		return err
	}
	pm.buf = pm.buf[:need]
	return nil
}

// decodeBlock decodes the S2 block src into dst, which is exactly as long
// as src decodes to; what says what src is, for the error.
func decodeBlock(hdr wire.Header, dst, src []byte, what string) error {
	if _, err := s2.Decode(dst, src); err != nil {
		return messageError{&wire.FrameError{Code: wire.CodeMalformed, Type: hdr.Type, Msg: what + " does not decode: " + err.Error()}}
	}
	return nil
}

// decodedLen reads the decoded length of the compressed frame src and
// checks it against this side's payload limit before anything is decoded:
// a frame of a hundred bytes may claim hundreds of MiB, and no compressed
// frame may decode to more than one frame's worth (PROTOCOL.md 4.1).
func (m *messageReader) decodedLen(hdr wire.Header, src []byte) (int, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return 0, messageError{&wire.FrameError{Code: wire.CodeMalformed, Type: hdr.Type, Msg: "compressed frame has no valid decoded length: " + err.Error()}}
	}
	maxFrame := m.maxFrame
	if maxFrame <= 0 {
		maxFrame = wire.DefaultMaxPayload
	}
	if n > maxFrame {
		return 0, messageError{&wire.FrameError{Code: wire.CodeTooLarge, Type: hdr.Type, Msg: fmt.Sprintf("compressed frame of %d bytes claims to decode to %d bytes, above the payload limit of %d (a compressed frame decodes to at most one frame's worth)", len(src), n, maxFrame)}}
	}
	return n, nil
}

// decompress decodes the S2 body of a whole (not chunked) message. The
// decoded length is checked against the payload and message limits and
// reserved from the budgets before a byte is decoded.
func (m *messageReader) decompress(hdr wire.Header, src []byte) ([]byte, error) {
	n, err := m.decodedLen(hdr, src)
	if err != nil {
		return nil, err
	}
	if n > m.maxMsg {
		return nil, messageError{&wire.FrameError{Code: wire.CodeTooLarge, Type: hdr.Type, Msg: fmt.Sprintf("compressed frame of %d bytes claims to decode to %d bytes, above the message limit of %d", len(src), n, m.maxMsg)}}
	}
	buf, reserved, err := m.reserveBody(n)
	if err != nil {
		return nil, messageError{err}
	}
	m.held = reserved
	if err := decodeBlock(hdr, buf[:n], src, "compressed body"); err != nil {
		return nil, err
	}
	return buf[:n], nil
}
