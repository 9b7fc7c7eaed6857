package conn

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/s2"

	"github.com/ekka-mesh/ekka-mesh/wire"
	"github.com/stretchr/testify/require"
)

// refMessage is one complete message as the reference reassembler sees it.
type refMessage struct {
	t    wire.Type
	id   uint64
	body []byte
}

// refReassemble is a model of messageReader written from PROTOCOL.md's
// rules on chunks and compression, without buffers, pools or in-place
// reads. For every frame of data it returns the message it completes (nil
// while a chunked message is unfinished) or the error code that must stop
// the lane there; partial is true when the stream ends inside that frame,
// where the reader may fail at any of its checks.
type refStep struct {
	msg     *refMessage
	code    wire.Code
	partial bool
	end     bool // a clean end of stream
	// inflated is how many bytes compressed chunks decoded to up to this
	// frame: what unfinished messages may hold beyond the bytes sent.
	inflated int
}

func refReassemble(data []byte, limit uint32, maxMsg int, sized bool) []refStep {
	type partialRef struct {
		buf  []byte
		size int
	}
	partial := map[chunkKey]*partialRef{}
	var steps []refStep
	inflated := 0 // bytes decoded from compressed chunks so far
	for {
		if len(data) == 0 {
			return append(steps, refStep{end: true})
		}
		h, err := wire.ParseHeader(data, limit)
		if err != nil {
			var fe *wire.FrameError
			errors.As(err, &fe)
			return append(steps, refStep{code: fe.Code, partial: fe.Code == wire.CodeTruncated})
		}
		if len(data) < wire.HeaderSize+int(h.Length) {
			return append(steps, refStep{code: wire.CodeTruncated, partial: true})
		}
		p := data[wire.HeaderSize : wire.HeaderSize+int(h.Length)]
		data = data[wire.HeaderSize+int(h.Length):]
		k := chunkKey{h.Type, h.ID}
		pm, chunked := partial[k]
		more := h.Flags&wire.FlagMore != 0
		var body []byte
		if more || chunked {
			if !chunked {
				pm = &partialRef{size: -1}
				if sized {
					if len(p) < wire.ChunkSizeLen {
						return append(steps, refStep{code: wire.CodeMalformed})
					}
					size := binary.BigEndian.Uint64(p)
					p = p[wire.ChunkSizeLen:]
					if size > uint64(maxMsg) || size < uint64(len(p)) {
						return append(steps, refStep{code: wire.CodeTooLarge})
					}
					pm.size = int(size)
				}
			}
			if h.Flags&wire.FlagCompressed != 0 {
				// Each chunk is an S2 block of its own, decoding to at
				// most one frame's worth.
				n, err := s2.DecodedLen(p)
				if err != nil {
					return append(steps, refStep{code: wire.CodeMalformed})
				}
				if n > int(limit) {
					return append(steps, refStep{code: wire.CodeTooLarge})
				}
				if len(pm.buf)+n > maxMsg || (pm.size >= 0 && len(pm.buf)+n > pm.size) {
					return append(steps, refStep{code: wire.CodeTooLarge})
				}
				if p, err = s2.Decode(nil, p); err != nil {
					return append(steps, refStep{code: wire.CodeMalformed})
				}
				inflated += len(p)
			} else if len(pm.buf)+len(p) > maxMsg || (pm.size >= 0 && len(pm.buf)+len(p) > pm.size) {
				return append(steps, refStep{code: wire.CodeTooLarge})
			}
			pm.buf = append(pm.buf, p...)
			if more {
				partial[k] = pm
				steps = append(steps, refStep{inflated: inflated})
				continue
			}
			delete(partial, k)
			if pm.size >= 0 && len(pm.buf) != pm.size {
				return append(steps, refStep{code: wire.CodeMalformed})
			}
			body = pm.buf
		} else if h.Flags&wire.FlagCompressed != 0 {
			n, err := s2.DecodedLen(p)
			if err != nil {
				return append(steps, refStep{code: wire.CodeMalformed})
			}
			if n > int(limit) || n > maxMsg {
				return append(steps, refStep{code: wire.CodeTooLarge})
			}
			if body, err = s2.Decode(nil, p); err != nil {
				return append(steps, refStep{code: wire.CodeMalformed})
			}
		} else {
			body = p
		}
		steps = append(steps, refStep{msg: &refMessage{h.Type, h.ID, bytes.Clone(body)}, inflated: inflated})
	}
}

// fuzzChunks returns frames that cut body into chunks of n bytes, with the
// size announcement (of the whole body) when sized, each chunk compressed
// on its own when compress.
func fuzzChunks(t wire.Type, id uint64, body []byte, n int, sized, compress bool) []byte {
	flags := uint8(0)
	if compress {
		flags = wire.FlagCompressed
	}
	var out []byte
	for i := 0; ; i += n {
		end := min(i+n, len(body))
		f := flags
		if end < len(body) {
			f |= wire.FlagMore
		}
		chunk := body[i:end]
		if compress {
			chunk = s2.Encode(nil, chunk)
		}
		if i == 0 && sized && f&wire.FlagMore != 0 {
			chunk = append(binary.BigEndian.AppendUint64(nil, uint64(len(body))), chunk...)
		}
		out = wire.AppendFrame(out, t, f, id, chunk)
		if end == len(body) {
			return out
		}
	}
}

// FuzzMessageReader feeds a lane's byte stream to messageReader, the code
// that reassembles chunked messages and decompresses bodies on every link,
// and compares what it delivers frame by frame with refReassemble: the same
// messages with the same bodies, and the lane stopped at the same frame for
// the same reason. It also bounds memory: what unfinished chunked messages
// hold stays within a small multiple of the bytes the peer actually sent.
func FuzzMessageReader(f *testing.F) {
	text := bytes.Repeat([]byte("ekka-mesh chunk "), 300)
	for _, sized := range []bool{false, true} {
		f.Add(fuzzChunks(wire.TypeCast, 1, text, 1000, sized, false), sized)
		f.Add(fuzzChunks(wire.TypeCall, 2, text, 700, sized, true), sized)
		f.Add(append(fuzzChunks(wire.TypeReply, 3, text[:100], 30, sized, false),
			wire.AppendFrame(nil, wire.TypePing, 0, 7, make([]byte, 8))...), sized)
	}
	// Two messages interleaved, as the large lane does with several senders.
	a := fuzzChunks(wire.TypeCast, 1, text[:3000], 1000, true, false)
	b := fuzzChunks(wire.TypeCast, 2, text[:2000], 1000, true, false)
	f.Add(append(append(append([]byte{}, a[:1016+8]...), b...), a[1016+8:]...), true)
	f.Add(wire.AppendFrame(nil, wire.TypeCast, wire.FlagCompressed, 0, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}), false)
	f.Add(wire.AppendFrame(nil, wire.TypeCast, wire.FlagMore, 5, binary.BigEndian.AppendUint64(nil, 1<<40)), true)
	f.Fuzz(func(t *testing.T, data []byte, sized bool) {
		const limit, maxMsg, budget = 1 << 16, 1 << 20, 4 << 20
		want := refReassemble(data, limit, maxMsg, sized)
		mem := &memory{limit: budget}
		m := messageReader{r: wire.NewReader(newFuzzSource(data), limit, 512), maxMsg: maxMsg, maxFrame: limit, sized: sized, mem: mem}
		defer func() {
			// However the lane ended, the budget it used comes back whole.
			m.releaseAll()
			h := mem.held.Load()
			require.Zero(t, h, "the lane ended holding %d bytes of the reassembly budget", h)
		}()
		for i, w := range want {
			hdr, body, _, err := nextWithin(t, &m, data)
			if me, ok := err.(messageError); ok {
				err = me.error
			}
			switch {
			case w.end:
				require.Equal(t, io.EOF, err, "frame %d: at the end of the stream got %v (body %d bytes), want io.EOF", i, err, len(body))
				return
			case err != nil && errors.As(err, new(*LimitError)):
				// The budget is not in the model: a refusal is right when
				// the unfinished messages hold most of it.
				var le *LimitError
				errors.As(err, &le)
				held := mem.held.Load()
				require.Equal(t, wire.CodeTooLarge, le.Code, "frame %d: %v with %d of %d bytes of the budget held", i, err, held, budget)
				require.GreaterOrEqual(t, held, int64(budget/2), "frame %d: %v with %d of %d bytes of the budget held", i, err, held, budget)
				return
			case w.msg != nil:
				require.NoError(t, err, "frame %d: want the %s %d of %d bytes", i, w.msg.t, w.msg.id, len(w.msg.body))
				require.True(t, hdr.Type == w.msg.t && hdr.ID == w.msg.id && hdr.Flags == 0 && int(hdr.Length) == len(body) && bytes.Equal(body, w.msg.body),
					"frame %d: delivered %+v with %d bytes, want %s %d with %d bytes", i, hdr, len(body), w.msg.t, w.msg.id, len(w.msg.body))
			case w.code == 0 && !w.partial:
				require.NoError(t, err, "frame %d: a chunk of an unfinished message gave %v and %d bytes, want neither", i, err, len(body))
				require.Nil(t, body, "frame %d: a chunk of an unfinished message gave %v and %d bytes, want neither", i, err, len(body))
			default:
				require.Error(t, err, "frame %d: accepted (%+v, %d bytes); want the lane to stop with %s", i, hdr, len(body), w.code)
				var fe *wire.FrameError
				if err != io.EOF {
					require.ErrorAs(t, err, &fe, "frame %d: error %v (%T) is not a *wire.FrameError", i, err, err)
				}
				if !w.partial {
					require.NotNil(t, fe, "frame %d: stopped with %v, want %s", i, err, w.code)
					require.Equal(t, w.code, fe.Code, "frame %d: stopped with %v, want %s", i, err, w.code)
				}
				return
			}
			var held, reserved int64
			for _, pm := range m.partial {
				held += int64(cap(pm.buf))
				reserved += pm.reserved
			}
			got := mem.held.Load()
			require.Equal(t, reserved+m.held, got, "frame %d: the budget counts %d bytes; unfinished messages reserve %d and the message handed out %d (limit %d)", i, got, reserved, m.held, budget)
			require.LessOrEqual(t, got, int64(budget), "frame %d: the budget counts %d bytes; unfinished messages reserve %d and the message handed out %d (limit %d)", i, got, reserved, m.held, budget)
			bound := int64(2 * (16*(len(data)+w.inflated) + len(m.partial)*(64<<10+4096)))
			require.LessOrEqual(t, held, bound, "frame %d: unfinished messages hold %d bytes for %d bytes sent that decode to %d more (bound %d)", i, held, len(data), w.inflated, bound)
			m.handed()
		}
	})
}

// nextWithin is m.next, failing the test if it does not return within
// ten seconds: nothing in it waits for anything but the bytes of data.
func nextWithin(t *testing.T, m *messageReader, data []byte) (wire.Header, []byte, bool, error) {
	type result struct {
		hdr   wire.Header
		body  []byte
		owned bool
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.hdr, r.body, r.owned, r.err = m.next()
		done <- r
	}()
	select {
	case r := <-done:
		return r.hdr, r.body, r.owned, r.err
	case <-time.After(10 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("messageReader.next hangs on a %d-byte stream %x; goroutines:\n%s", len(data), data[:min(len(data), 256)], buf[:runtime.Stack(buf, true)])
		return wire.Header{}, nil, false, nil
	}
}

// fuzzSource serves data in short reads of varying sizes, so that frames
// straddle the reader's buffer as they do on a socket.
type fuzzSource struct {
	data []byte
	n    int
}

func newFuzzSource(data []byte) *fuzzSource { return &fuzzSource{data: data} }

func (s *fuzzSource) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	s.n = s.n%13 + 1
	k := copy(p[:min(len(p), s.n*97)], s.data)
	s.data = s.data[k:]
	return k, nil
}

// tamper relays one direction of a connection through a man in the middle
// that applies edits at stream offsets: XOR a byte with a non-zero value,
// or, for a zero value, cut the connection there.
func tamper(dst, src net.Conn, edits map[int]byte, both func()) {
	defer both()
	buf := make([]byte, 4096)
	off := 0
	for {
		n, err := src.Read(buf)
		for i := range n {
			x, ok := edits[off+i]
			if !ok {
				continue
			}
			if x == 0 {
				dst.Write(buf[:i])
				return
			}
			buf[i] ^= x
		}
		off += n
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// FuzzHandshakeTamper runs a real dialer and a real acceptor against each
// other through a man in the middle who edits bytes of either direction at
// fuzzed offsets (three bytes an edit: direction and offset, then the XOR
// value, zero cutting the stream). Whatever is edited, neither side may
// end up believing in an identity that is not the other's (name, cluster,
// GUID, hidden, lane, link id), the two must agree on every capability the
// proofs bind, the dialer may not succeed unless the acceptor did, both
// must return promptly, and a handshake nobody touched must succeed.
func FuzzHandshakeTamper(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 4, 0x01})   // the dialer's version
	f.Add([]byte{0, 40, 0x80})  // inside the dialer's GUID
	f.Add([]byte{1, 100, 0x01}) // inside the acceptor's challenge
	f.Add([]byte{0, 10, 0})     // cut inside the hello
	f.Add([]byte{2, 60, 0x10})  // the dialer's auth
	f.Add([]byte{0, 1, 0x01})   // the hello's length
	// The first handshake derives the key from the cookie (argon2id, slow
	// on purpose); later ones find it cached, so the fuzzed ones can have
	// short step deadlines.
	require.NoError(f, runTampered([2]map[int]byte{{}, {}}, 30*time.Second))
	f.Fuzz(func(t *testing.T, spec []byte) {
		edits := [2]map[int]byte{{}, {}}
		for i := 0; i+2 < len(spec) && i < 3*8; i += 3 {
			dir := int(spec[i] & 1)
			off := int(spec[i]>>1)<<8 | int(spec[i+1])
			edits[dir][off] = spec[i+2]
		}
		timeout := 200 * time.Millisecond
		if len(edits[0])+len(edits[1]) == 0 {
			timeout = 5 * time.Second // must succeed, even on a busy machine
		}
		require.NoError(t, runTampered(edits, timeout))
	})
}

// runTampered runs one handshake through tamper with edits, with timeout
// as each step's deadline, and says what went wrong, if anything.
func runTampered(edits [2]map[int]byte, timeout time.Duration) error {
	d := hsConfig("a@127.0.0.1", 1)
	a := hsConfig("b@127.0.0.1", 2)
	d.HandshakeTimeout, a.HandshakeTimeout = timeout, timeout
	d.Logger, a.Logger = slog.New(slog.DiscardHandler), slog.New(slog.DiscardHandler)

	cD, pD := net.Pipe()
	pA, cA := net.Pipe()
	var once sync.Once
	closeAll := func() { once.Do(func() { pD.Close(); pA.Close() }) }
	go tamper(pA, pD, edits[0], closeAll)
	go tamper(pD, pA, edits[1], closeAll)

	ctx, cancel := context.WithTimeout(context.Background(), 10*timeout+10*time.Second)
	defer cancel()
	var (
		wg                 sync.WaitGroup
		dPeer, aPeer       Peer
		dErr, aErr         error
		lane               uint8
		linkID             uint64
		wantLane, wantLink = wire.LaneData, uint64(77)
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer cD.Close()
		dPeer, dErr = clientHandshake(ctx, cD, wire.NewReader(cD, 0, 0), d, a.Name, wantLane, wantLink)
	}()
	go func() {
		defer wg.Done()
		defer cA.Close()
		aPeer, lane, linkID, aErr = serverHandshake(ctx, cA, wire.NewReader(cA, 0, 0), a)
	}()
	start := time.Now()
	wg.Wait()
	closeAll()
	if el := time.Since(start); el > 10*timeout+2*time.Second {
		return fmt.Errorf("the handshake took %v with per-step timeouts of %v", el, timeout)
	}
	for _, err := range []error{dErr, aErr} {
		var he *HandshakeError
		if errors.As(err, &he) && (strings.ContainsAny(he.Reason, "\n\r") || !utf8.ValidString(he.Reason)) {
			return fmt.Errorf("reason %q is not clean", he.Reason)
		}
	}
	if len(edits[0]) == 0 && len(edits[1]) == 0 && (dErr != nil || aErr != nil) {
		return fmt.Errorf("an untouched handshake failed: dialer %v, acceptor %v", dErr, aErr)
	}
	if dErr == nil && aErr != nil {
		return fmt.Errorf("the dialer accepted an acceptor that failed: %v", aErr)
	}
	if aErr == nil {
		if aPeer.Name != d.Name || aPeer.Cluster != d.Cluster || aPeer.GUID != d.GUID || aPeer.Hidden || lane != wantLane || linkID != wantLink {
			return fmt.Errorf("the acceptor authenticated a dialer that is not the one: %+v lane %d link %d", aPeer, lane, linkID)
		}
	}
	if dErr == nil {
		if dPeer.Name != a.Name || dPeer.Cluster != a.Cluster || dPeer.GUID != a.GUID {
			return fmt.Errorf("the dialer authenticated an acceptor that is not the one: %+v", dPeer)
		}
		if dPeer.Compress != aPeer.Compress || dPeer.ChunkSize != aPeer.ChunkSize || dPeer.Version != aPeer.Version {
			return fmt.Errorf("the two sides agreed on different capabilities: dialer %+v, acceptor %+v", dPeer, aPeer)
		}
	}
	return nil
}
