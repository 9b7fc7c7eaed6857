package conn

import (
	"errors"
	"fmt"
	"io"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// readStep is what a lane's readLoop does after one read: the decision of
// readErrorStep or messageStep, which look at nothing but their arguments,
// so that the loop only sequences reading, deciding and acting.
type readStep uint8

const (
	// stepDeliver: hand the message to the handler and read on.
	stepDeliver readStep = iota
	// stepSkip: nothing to hand over (closing, or an optional type from a
	// newer peer): read on.
	stepSkip
	// stepBroken: the peer broke a rule or a limit; close with a goodbye
	// that says which (readFail), and no grace.
	stepBroken
	// stepFail: the connection is over, for the reason returned.
	stepFail
	// stepLaneEnded: a data or large lane ended; the control lane may still
	// hold the peer's last words, so the connection waits for it (laneEnded).
	stepLaneEnded
	// stepLaneGoodbye: the peer said goodbye on a data or large lane: it is
	// remembered as why the link ends, then as stepLaneEnded.
	stepLaneGoodbye
)

// readErrorStep decides what a failed read of lane means: err is what the
// message reader returned, closing whether this side said goodbye, goodbye
// the goodbye the peer sent on another lane (nil if none).
func readErrorStep(err error, lane uint8, closing bool, goodbye *PeerClosedError) (readStep, error) {
	if pe, ok := err.(messageError); ok {
		// A message that breaks the rules or a limit: a goodbye that says
		// which, and no grace.
		return stepBroken, pe.error
	}
	if fe := (*wire.FrameError)(nil); errors.As(err, &fe) && fe.Code != wire.CodeTruncated && !closing {
		// A header that breaks the rules (a length above the limit, unknown
		// flags, another version): the stream position of the next frame is
		// unknown.
		return stepBroken, err
	}
	if closing {
		// We said goodbye and the peer closed its end: done.
		return stepFail, ErrClosed
	}
	if lane != wire.LaneControl {
		// Whatever ended this lane (an orderly end, or a reset because the
		// peer closed with unread data), the control lane may still hold the
		// peer's last words: a goodbye that says why, a leave.
		return stepLaneEnded, readErr(err)
	}
	if goodbye != nil {
		// The peer said goodbye on another lane and then closed: its
		// goodbye is why the link ended, not the end of stream (or reset)
		// that followed it here.
		return stepFail, goodbye
	}
	return stepFail, readErr(err)
}

// messageStep decides what to do with a whole message of type t read from
// lane (the control-type policy after the handshake): a goodbye ends the
// link, a handshake message or an unknown critical type breaks the
// protocol, an unknown optional type is skipped, anything else goes to the
// handler. While this side is closing, nothing is handled: the lane only
// drains until the peer's goodbye.
func messageStep(t wire.Type, body []byte, lane uint8, closing bool) (readStep, error) {
	switch {
	case closing:
		if t == wire.TypeGoodbye {
			return stepFail, ErrClosed // both ends said goodbye
		}
		return stepSkip, nil
	case t == wire.TypeGoodbye:
		pc := goodbyeError(body)
		if lane != wire.LaneControl {
			return stepLaneGoodbye, pc
		}
		return stepFail, pc
	case t <= wire.TypeReject:
		return stepBroken, &wire.FrameError{Code: wire.CodeUnexpected, Type: t, Msg: "handshake message after the handshake"}
	case !t.Known():
		if t.Critical() {
			return stepBroken, &wire.FrameError{Code: wire.CodeUnknownType, Type: t, Msg: "unknown critical message type"}
		}
		return stepSkip, nil // optional type from a newer peer
	}
	return stepDeliver, nil
}

// goodbyeError is the connection error for the peer's goodbye body.
func goodbyeError(body []byte) *PeerClosedError {
	g := wire.Reject{T: wire.TypeGoodbye}
	if g.Decode(body) != nil {
		return &PeerClosedError{Reason: "peer closed the connection"}
	}
	return &PeerClosedError{Code: g.Code, Reason: fmt.Sprintf("peer said goodbye (%s): %s", g.Code, g.Reason)}
}

// PeerClosedError is the connection error after the peer said goodbye.
// Code is the goodbye's code (wire.CodeDuplicateLink: the peer keeps
// another link to this node; wire.CodeShutdown: it is stopping), or
// wire.CodeOK when the goodbye did not decode. Reason is the readable text,
// code and the peer's reason.
type PeerClosedError struct {
	Code   wire.Code
	Reason string
}

func (e *PeerClosedError) Error() string { return e.Reason }

func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return err
}
