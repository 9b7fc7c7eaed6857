package refclient

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// The smux v2 framing of the control lane (section 2.1). Unlike the rest of
// the protocol its integers are little-endian.
const (
	SmuxVersion    = 2
	SmuxSYN        = 0 // open a stream
	SmuxFIN        = 1 // close a stream (end of its data)
	SmuxPSH        = 2 // data for a stream
	SmuxNOP        = 3 // keepalive, stream id 0, no data
	SmuxUPD        = 4 // window update: consumed u32, window u32
	SmuxHeaderSize = 8

	// smuxMaxData is the most data this client puts in one PSH frame.
	smuxMaxData = 32 << 10
	// smuxWindow is the receive window this client announces per stream.
	smuxWindow = 1 << 20
	// smuxInitialPeerWindow is what a sender may have in flight on a
	// stream before the receiver's first window update.
	smuxInitialPeerWindow = 262144
	// ControlStreamID is the id of the control stream: the first stream the
	// dialer opens, odd ids from 3.
	ControlStreamID = 3
)

// AppendSmux appends one smux frame: version, command, data length (u16
// little-endian), stream id (u32 little-endian), data.
func AppendSmux(dst []byte, cmd uint8, sid uint32, data []byte) []byte {
	dst = append(dst, SmuxVersion, cmd)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(data)))
	dst = binary.LittleEndian.AppendUint32(dst, sid)
	return append(dst, data...)
}

// smuxSession is the dialer's side of the control lane: one stream, the
// control stream, carrying wire frames as a byte stream.
type smuxSession struct {
	w  io.Writer
	mu sync.Mutex // serializes writes and the window counters

	written      uint32 // bytes of control stream data sent
	peerConsumed uint32 // from the peer's last UPD
	peerWindow   uint32

	in       []byte // control stream bytes received, not yet a whole frame
	consumed uint32 // control stream bytes taken out of in
	lastUPD  uint32 // consumed when the last UPD was sent
	sentUPD  bool
}

func newSmuxSession(w io.Writer) *smuxSession {
	return &smuxSession{w: w, peerWindow: smuxInitialPeerWindow}
}

// open sends the SYN of the control stream.
func (s *smuxSession) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Write(AppendSmux(nil, SmuxSYN, ControlStreamID, nil))
	return err
}

// write sends b on the control stream in PSH frames of at most
// smuxMaxData bytes, within the window the peer granted.
func (s *smuxSession) write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inflight := s.written - s.peerConsumed; uint64(inflight)+uint64(len(b)) > uint64(s.peerWindow) {
		return fmt.Errorf("smux: %d bytes in flight and %d more exceed the window of %d the peer granted", inflight, len(b), s.peerWindow)
	}
	var out []byte
	for len(b) > 0 {
		n := min(len(b), smuxMaxData)
		out = AppendSmux(out, SmuxPSH, ControlStreamID, b[:n])
		b = b[n:]
		s.written += uint32(n)
	}
	_, err := s.w.Write(out)
	return err
}

// readFrame reads smux frames from r until the control stream holds one
// whole wire frame, and returns it. It answers the bookkeeping on the way:
// window updates from the peer, and its own window updates once it has
// consumed half its window (and after the first frame).
func (s *smuxSession) readFrame(r io.Reader, limit uint32) (Frame, error) {
	for {
		if f, n, err := parseFrame(s.in, limit); err != nil {
			return Frame{}, err
		} else if n > 0 {
			s.in = s.in[n:]
			if err := s.consume(uint32(n)); err != nil {
				return Frame{}, err
			}
			return f, nil
		}
		var hb [SmuxHeaderSize]byte
		if _, err := io.ReadFull(r, hb[:]); err != nil {
			return Frame{}, err
		}
		ver, cmd := hb[0], hb[1]
		length := binary.LittleEndian.Uint16(hb[2:4])
		sid := binary.LittleEndian.Uint32(hb[4:8])
		if ver != SmuxVersion {
			return Frame{}, fmt.Errorf("smux: frame version %d, want %d", ver, SmuxVersion)
		}
		data := make([]byte, length)
		if _, err := io.ReadFull(r, data); err != nil {
			return Frame{}, err
		}
		switch cmd {
		case SmuxPSH:
			if sid == ControlStreamID {
				s.in = append(s.in, data...)
			} // data of another stream: this client opens none and accepts none
		case SmuxUPD:
			if length != 8 {
				return Frame{}, fmt.Errorf("smux: UPD with %d bytes of data, want 8", length)
			}
			if sid == ControlStreamID {
				s.mu.Lock()
				s.peerConsumed = binary.LittleEndian.Uint32(data[0:4])
				s.peerWindow = binary.LittleEndian.Uint32(data[4:8])
				s.mu.Unlock()
			}
		case SmuxSYN:
			// The acceptor opened a byte stream; this client has no use
			// for one and closes it.
			s.mu.Lock()
			_, err := s.w.Write(AppendSmux(nil, SmuxFIN, sid, nil))
			s.mu.Unlock()
			if err != nil {
				return Frame{}, err
			}
		case SmuxFIN:
			if sid == ControlStreamID {
				return Frame{}, io.EOF
			}
		case SmuxNOP:
		default:
			return Frame{}, fmt.Errorf("smux: unknown command %d", cmd)
		}
	}
}

// consume counts n bytes taken off the control stream and sends a window
// update after the first bytes and then each time half the window was used.
func (s *smuxSession) consume(n uint32) error {
	s.consumed += n
	if s.sentUPD && s.consumed-s.lastUPD < smuxWindow/2 {
		return nil
	}
	s.sentUPD, s.lastUPD = true, s.consumed
	var d [8]byte
	binary.LittleEndian.PutUint32(d[0:4], s.consumed)
	binary.LittleEndian.PutUint32(d[4:8], smuxWindow)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Write(AppendSmux(nil, SmuxUPD, ControlStreamID, d[:]))
	return err
}

// parseFrame returns the first whole wire frame in b and its size, or a
// size of 0 when b does not hold one yet.
func parseFrame(b []byte, limit uint32) (Frame, int, error) {
	if len(b) < HeaderSize {
		return Frame{}, 0, nil
	}
	h, err := ParseHeader(b, limit)
	if err != nil {
		return Frame{}, 0, err
	}
	end := HeaderSize + int(h.Length)
	if len(b) < end {
		return Frame{}, 0, nil
	}
	return Frame{Type: h.Type, Flags: h.Flags, ID: h.ID, Body: append([]byte(nil), b[HeaderSize:end]...)}, end, nil
}
