package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Frames are appended to a reused buffer and read back with a Reader; one
// message value per type is reused for decoding, so nothing is allocated
// per frame.
func Example() {
	var stream bytes.Buffer
	var buf []byte
	buf = wire.AppendMessage(buf[:0], 0, 1, &wire.Call{TimeoutMillis: 500, Method: []byte("echo"), Payload: []byte("hi")})
	stream.Write(buf)
	buf = wire.AppendMessage(buf[:0], 0, 7, &wire.Ping{SentNanos: 42})
	stream.Write(buf)
	buf = wire.AppendFrame(buf[:0], 0xc0, 0, 0, []byte("from a newer peer"))
	stream.Write(buf)

	r := wire.NewReader(&stream, 0, 0)
	var call wire.Call
	var ping wire.Ping
	for {
		h, payload, err := r.ReadFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println("close the connection:", err)
			return
		}
		switch h.Type {
		case wire.TypeCall:
			if err := call.Decode(payload); err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("call %d: %s(%s)\n", h.ID, call.Method, call.Payload)
		case wire.TypePing:
			if err := ping.Decode(payload); err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("ping %d sent at %d\n", h.ID, ping.SentNanos)
		default:
			if h.Type.Critical() {
				fmt.Println("close the connection: unknown critical type", h.Type)
				return
			}
			fmt.Println("skipped optional", h.Type)
		}
	}
	// Output:
	// call 1: echo(hi)
	// ping 7 sent at 42
	// skipped optional type(0xc0)
}

func ExampleDecodeBody() {
	frame := wire.AppendMessage(nil, 0, 0, &wire.MemberStatus{Node: []byte("emqx1@10.0.0.1"), Status: wire.StatusUp})
	h, err := wire.ParseHeader(frame, wire.DefaultMaxPayload)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := wire.DecodeBody(h, frame[wire.HeaderSize:])
	if err != nil {
		fmt.Println(err)
		return
	}
	ms := m.(*wire.MemberStatus)
	fmt.Println(h.Type, string(ms.Node), ms.Status)

	frame[len(frame)-1] = 9 // an undefined status
	_, err = wire.DecodeBody(h, frame[wire.HeaderSize:])
	fmt.Println(errors.Is(err, wire.ErrMalformed), err)
	// Output:
	// member-status emqx1@10.0.0.1 up
	// true wire: malformed member-status frame: status is 9, want 1..5 (joining..down)
}
