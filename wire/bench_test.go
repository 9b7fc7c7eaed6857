package wire

import (
	"bytes"
	"testing"
)

// Every benchmark here must report 0 allocs/op: the codec allocates nothing
// per frame once its buffers have grown. TestZeroAllocs pins the hot paths.
//
//	go test -run XXX -bench . -benchtime 200ms ./wire/

func benchCall() *Call {
	return &Call{TimeoutMillis: 5000, Method: []byte("svc.echo"), Payload: bytes.Repeat([]byte{'p'}, 64)}
}

func benchMemberTable() *MemberTable {
	m := &MemberTable{}
	for i := range 5 {
		m.Members = append(m.Members, MemberEntry{
			Name: []byte("emqx" + string(rune('0'+i)) + "@10.0.0.1"), GUID: guid(byte(i * 16)),
			Status: StatusUp, SinceMillis: 1700000000000 + uint64(i), Incarnation: uint64(i),
		})
	}
	return m
}

func benchLockAcquire() *LockAcquire {
	return &LockAcquire{Locker: []byte("ekka_locker"), Resource: []byte("session/client-42"),
		Owner: []byte("emqx1@10.0.0.1/conn-7"), Kind: LockQuorum, LeaseMillis: 30000}
}

var benchMessages = []struct {
	name string
	msg  func() Message
}{
	{"Call64", func() Message { return benchCall() }},
	{"Reply64", func() Message { return &Reply{Payload: bytes.Repeat([]byte{'r'}, 64)} }},
	{"Cast64", func() Message { return &Cast{Method: []byte("svc.log"), Payload: bytes.Repeat([]byte{'c'}, 64)} }},
	{"Ping", func() Message { return &Ping{SentNanos: 123456789} }},
	{"MemberTable5", func() Message { return benchMemberTable() }},
	{"LockAcquire", func() Message { return benchLockAcquire() }},
}

func BenchmarkEncode(b *testing.B) {
	for _, bm := range benchMessages {
		b.Run(bm.name, func(b *testing.B) {
			m := bm.msg()
			buf := AppendMessage(nil, 0, 1, m)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				buf = AppendMessage(buf[:0], 0, uint64(i), m)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bm := range benchMessages {
		b.Run(bm.name, func(b *testing.B) {
			src := bm.msg()
			body := src.Append(nil)
			m, _ := New(src.Type())
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// loopReader replays the same bytes forever, so ReadFrame runs in steady
// state without an allocation from the source.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

func frameStream(n int) []byte {
	var data []byte
	for i := range n {
		data = AppendFrame(data, TypeCast, 0, uint64(i), bytes.Repeat([]byte{byte(i)}, 64))
	}
	return data
}

func BenchmarkReadFrame64(b *testing.B) {
	data := frameStream(1000)
	r := NewReader(&loopReader{data: data}, 0, 0)
	b.SetBytes(HeaderSize + 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	call := benchCall()
	cast := &Cast{Method: []byte("svc.log"), Payload: bytes.Repeat([]byte{'c'}, 64)}
	reply := &Reply{Payload: bytes.Repeat([]byte{'r'}, 64)}
	hot := map[string]func(){
		"Call": func() {
			var s int
			buf, s = BeginFrame(buf[:0], TypeCall, 0, 7)
			buf = FinishFrame(call.Append(buf), s)
		},
		"Cast":            func() { buf = AppendMessage(buf[:0], 0, 0, cast) },
		"Reply":           func() { buf = AppendMessage(buf[:0], 0, 7, reply) },
		"Frame":           func() { buf = AppendFrame(buf[:0], TypeReply, 0, 7, reply.Payload) },
		"Transcript":      func() { buf = appendTestTranscript(buf[:0]) },
		"MemberTable":     func() { buf = AppendMessage(buf[:0], 0, 0, benchMemberTableFixed) },
		"LockAcquire":     func() { buf = AppendMessage(buf[:0], 0, 9, benchLockAcquireFixed) },
		"DecodeCall":      decodeInto(t, &Call{}, call),
		"DecodeCast":      decodeInto(t, &Cast{}, cast),
		"DecodeMembers":   decodeInto(t, &MemberTable{}, benchMemberTableFixed),
		"DecodeViewReply": decodeInto(t, &ViewReply{}, &ViewReply{Running: [][]byte{[]byte("a"), []byte("b")}, Stopped: [][]byte{[]byte("c")}, Partitions: [][]byte{[]byte("c")}}),
	}
	for name, fn := range hot {
		fn()
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}

	r := NewReader(&loopReader{data: frameStream(100)}, 0, 0)
	read := func() {
		if _, _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}
	for range 200 {
		read()
	}
	if n := testing.AllocsPerRun(1000, read); n != 0 {
		t.Errorf("ReadFrame: %v allocations per frame in steady state, want 0", n)
	}
}

var (
	benchMemberTableFixed = benchMemberTable()
	benchLockAcquireFixed = benchLockAcquire()
	testNonce             = nonce(1)
	testGUID              = guid(2)
)

func appendTestTranscript(dst []byte) []byte {
	return AppendTranscript(dst, LabelDialer, Version, &testNonce, &testNonce, &testGUID, &testGUID,
		benchLockAcquireFixed.Owner, benchLockAcquireFixed.Locker, benchLockAcquireFixed.Resource, LaneControl, 1, 2, 3)
}

// decodeInto returns a function that decodes src's body into m; the first
// call lets list capacities grow.
func decodeInto(t *testing.T, m Message, src Message) func() {
	body := src.Append(nil)
	return func() {
		if err := m.Decode(body); err != nil {
			t.Fatal(err)
		}
	}
}
