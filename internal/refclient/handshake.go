package refclient

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/crypto/argon2"
)

// Proof labels (section 8.2).
const (
	LabelDialer   = "ekka-mesh dialer"
	LabelAcceptor = "ekka-mesh acceptor"
)

// kdfSalt is the label the cookie key's salt starts with (section 8.2).
const kdfSalt = "ekka-mesh/2 cookie key, cluster:"

// CookieKey is K of section 8.2: argon2id of the cookie, salted with the
// label and the acceptor's cluster name; 3 passes, 32 MiB, 1 lane, 32 bytes.
func CookieKey(cookie, cluster string) []byte {
	return argon2.IDKey([]byte(cookie), []byte(kdfSalt+cluster), 3, 32*1024, 1, 32)
}

// Transcript is T(label) of section 8.2.
type Transcript struct {
	Version                 uint8
	NonceD, NonceA          [32]byte
	GUIDD, GUIDA            [16]byte
	Dialer, Acceptor, Clust string
	Lane                    uint8
	LinkID                  uint64
	CapsD, CapsA            uint32
}

// Append appends T(label).
func (t *Transcript) Append(dst []byte, label string) []byte {
	e := Enc{dst}
	e.Str16(label).U8(t.Version).Fixed(t.NonceD[:]).Fixed(t.NonceA[:]).Fixed(t.GUIDD[:]).Fixed(t.GUIDA[:]).
		Str16(t.Dialer).Str16(t.Acceptor).Str16(t.Clust).U8(t.Lane).U64(t.LinkID).U32(t.CapsD).U32(t.CapsA)
	return e.B
}

// Proof is HMAC-SHA256(key, T(label)).
func (t *Transcript) Proof(key []byte, label string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(t.Append(nil, label))
	return mac.Sum(nil)
}

// laneConn is one lane's TCP connection with its buffered reader.
type laneConn struct {
	lane uint8
	nc   net.Conn
	r    *bufio.Reader
}

// readFrame reads one whole frame, checking its header against limit.
func (l *laneConn) readFrame(limit uint32) (Frame, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(l.r, hb[:]); err != nil {
		return Frame{}, err
	}
	h, err := ParseHeader(hb[:], limit)
	if err != nil {
		return Frame{}, err
	}
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(l.r, body); err != nil {
		return Frame{}, err
	}
	return Frame{Type: h.Type, Flags: h.Flags, ID: h.ID, Body: body}, nil
}

// handshake runs the dialer's side of section 8 on one lane and returns
// what Challenge said. step bounds each step (section 8.3).
func (c *Client) handshake(l *laneConn, step time.Duration) (Challenge, error) {
	hello := Hello{
		MinVersion: Version, MaxVersion: Version,
		Caps: c.caps(), MaxPayload: c.maxPayload(),
		Lane: l.lane, LinkID: c.linkID, GUID: c.cfg.GUID,
		Name: c.cfg.Name, Target: c.cfg.Target, Cluster: c.cfg.Cluster,
	}
	if _, err := randRead(hello.Nonce[:]); err != nil {
		return Challenge{}, err
	}
	l.nc.SetDeadline(time.Now().Add(step))
	if _, err := l.nc.Write(AppendFrame(nil, TypeHello, 0, 0, hello.Append(nil))); err != nil {
		return Challenge{}, fmt.Errorf("lane %d: sending hello: %w", l.lane, err)
	}
	l.nc.SetDeadline(time.Now().Add(step))
	f, err := l.expect(TypeChallenge)
	if err != nil {
		return Challenge{}, err
	}
	var ch Challenge
	if err := ch.Decode(f.Body); err != nil {
		return Challenge{}, l.reject(CodeMalformed, "challenge: "+err.Error(), err)
	}
	// The dialer's checks on Challenge, in order (section 8.1).
	switch {
	case ch.Version != Version:
		return ch, l.reject(CodeVersion, fmt.Sprintf("chosen version %d, this client speaks %d", ch.Version, Version), nil)
	case ch.Cluster != c.cfg.Cluster && !(c.cfg.Hidden && c.cfg.Cluster == ""):
		return ch, l.reject(CodeWrongCluster, fmt.Sprintf("node is in cluster %q, want %q", ch.Cluster, c.cfg.Cluster), nil)
	case ch.Name != c.cfg.Target:
		return ch, l.reject(CodeWrongNode, fmt.Sprintf("dialed %s, %s answered", c.cfg.Target, ch.Name), nil)
	case ch.Caps&CapHidden != 0:
		return ch, l.reject(25, "acceptor claims to be hidden", nil)
	case ch.MaxPayload != 0 && (ch.MaxPayload < MinPayloadLimit || ch.MaxPayload > 64<<20):
		return ch, l.reject(CodeMalformed, fmt.Sprintf("challenge max payload %d out of range", ch.MaxPayload), nil)
	}
	t := Transcript{
		Version: ch.Version, NonceD: hello.Nonce, NonceA: ch.Nonce, GUIDD: hello.GUID, GUIDA: ch.GUID,
		Dialer: hello.Name, Acceptor: ch.Name, Clust: hello.Cluster,
		Lane: l.lane, LinkID: c.linkID, CapsD: hello.Caps, CapsA: ch.Caps,
	}
	key := c.key(ch.Cluster)
	l.nc.SetDeadline(time.Now().Add(step))
	if _, err := l.nc.Write(AppendFrame(nil, TypeAuth, 0, 0, t.Proof(key, LabelDialer))); err != nil {
		return ch, fmt.Errorf("lane %d: sending auth: %w", l.lane, err)
	}
	l.nc.SetDeadline(time.Now().Add(step))
	f, err = l.expect(TypeWelcome)
	if err != nil {
		return ch, err
	}
	if len(f.Body) != 32 {
		return ch, l.reject(CodeMalformed, fmt.Sprintf("welcome body of %d bytes, want 32", len(f.Body)), nil)
	}
	if !hmac.Equal(f.Body, t.Proof(key, LabelAcceptor)) {
		return ch, l.reject(CodeBadCookie, "the welcome proof does not verify with this cookie", nil)
	}
	l.nc.SetDeadline(time.Time{})
	return ch, nil
}

// expect reads the next handshake frame: want, or a Reject.
func (l *laneConn) expect(want uint8) (Frame, error) {
	f, err := l.readFrame(MinPayloadLimit)
	if err != nil {
		return f, fmt.Errorf("lane %d: waiting for message type %#x: %w", l.lane, want, err)
	}
	if f.Flags != 0 || f.ID != 0 {
		return f, l.reject(CodeMalformed, "handshake frame with flags or an id", nil)
	}
	switch f.Type {
	case want:
		return f, nil
	case TypeReject:
		var r Reject
		if err := r.Decode(f.Body); err != nil {
			return f, fmt.Errorf("lane %d: undecodable reject: %w", l.lane, err)
		}
		return f, &RejectedError{Type: TypeReject, Lane: l.lane, Code: r.Code, Reason: r.Reason}
	}
	return f, l.reject(CodeUnexpected, fmt.Sprintf("got message type %#x, want %#x", f.Type, want), nil)
}

// reject sends a Reject (best effort) and returns the error to report.
func (l *laneConn) reject(code uint16, reason string, cause error) error {
	l.nc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	l.nc.Write(AppendFrame(nil, TypeReject, 0, 0, (&Reject{Code: code, Reason: reason}).Append(nil)))
	if cause != nil {
		return fmt.Errorf("lane %d: refused the acceptor (code %d): %s: %w", l.lane, code, reason, cause)
	}
	return fmt.Errorf("lane %d: refused the acceptor (code %d): %s", l.lane, code, reason)
}
