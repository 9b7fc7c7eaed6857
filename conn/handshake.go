package conn

// The handshake authenticates one TCP connection (one lane of a link) before
// any other frame may cross it. wire/PROTOCOL.md, "Handshake", is the byte-level
// spec; in short:
//
//	dialer                                        acceptor
//	Hello {versions, caps, max payload, lane,
//	       link id, GUID, nonceD, name,
//	       target, cluster}                  ->
//	                                         <-   Challenge {version, caps, max payload,
//	                                                         GUID, nonceA, name, cluster}
//	Auth {proofD}                            ->
//	                                         <-   Welcome {proofA}
//
// The acceptor refuses (Reject) a Hello with no version in common, from another
// cluster (a hidden client may leave its cluster empty), or aimed at another
// node's name (the usual symptom of nodes that do not share a base port).
// Both proofs are HMAC-SHA256 keyed with the cookie key (wire.CookieKey:
// argon2id of the cookie, salted with the acceptor's cluster name, derived
// once per process and kept in cookieKeys; a node that also accepts
// previous cookies tries each, see keyring.go) over a transcript of everything exchanged (wire.AppendTranscript) under
// different labels, so the cookie never crosses the wire, a dialer's proof
// cannot be reflected as an acceptor's, and fresh nonces from both sides make
// a recorded proof worthless on another connection. Proofs are compared in
// constant time. Either side may answer any step with a Reject that the other
// side reports as a *HandshakeError with Remote set.
//
// Each step (one read or one write) has its own deadline: the earlier of the
// context's deadline and Config.HandshakeTimeout. Cancelling the context
// aborts a blocked step at once.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// maxReasonLen bounds the reason text of a Reject we send or report, so a
// hostile peer cannot flood our logs through it.
const maxReasonLen = 512

// rejectWriteTimeout bounds the best-effort write of a Reject after a step
// has already failed.
const rejectWriteTimeout = time.Second

// aLongTimeAgo is a deadline in the past: setting it unblocks any pending
// read or write on a net.Conn at once.
var aLongTimeAgo = time.Unix(1, 0)

// clientHandshake runs the dialer side on an established (possibly TLS)
// connection, offering the current cookie.
func clientHandshake(ctx context.Context, nc net.Conn, r *wire.Reader, cfg *Config, target string, lane uint8, linkID uint64) (Peer, error) {
	return clientHandshakeWith(ctx, nc, r, cfg, target, lane, linkID, cfg.cookies(), 0)
}

// clientHandshakeWith runs the dialer side, keying its proof with cookie ck
// of set (0 is the current cookie; Dial tries the previous ones when the
// acceptor refuses it).
func clientHandshakeWith(ctx context.Context, nc net.Conn, r *wire.Reader, cfg *Config, target string, lane uint8, linkID uint64, set *cookieSet, ck int) (Peer, error) {
	h := newHandshake(ctx, nc, r, cfg, "dialer")
	defer h.finish()
	h.peer = target

	if err := checkStr16("this node's name", cfg.Name); err != nil {
		return Peer{}, err
	}
	if err := checkStr16("target node name", target); err != nil {
		return Peer{}, err
	}
	if err := checkStr16("cluster name", cfg.Cluster); err != nil {
		return Peer{}, err
	}

	hello := wire.Hello{
		MinVersion: wire.Version,
		MaxVersion: wire.Version,
		Caps:       localCaps(cfg),
		MaxPayload: cfg.maxPayload(),
		Lane:       lane,
		LinkID:     linkID,
		GUID:       cfg.GUID,
		Name:       []byte(cfg.Name),
		Target:     []byte(target),
		Cluster:    []byte(cfg.Cluster),
	}
	if _, err := rand.Read(hello.Nonce[:]); err != nil {
		return Peer{}, fmt.Errorf("handshake with %s: drawing the dialer nonce: %w", h.who(), err)
	}
	if err := h.send(&hello); err != nil {
		return Peer{}, err
	}

	var ch wire.Challenge
	if err := h.expect(&ch); err != nil {
		return Peer{}, err
	}
	// ch's byte fields alias the reader's buffer: take copies before the next read.
	acceptor, cluster := string(ch.Name), string(ch.Cluster)
	switch {
	case ch.Version != wire.Version:
		return Peer{}, h.reject(wire.CodeVersion, fmt.Sprintf("acceptor chose protocol version %d, this node speaks only version %d", ch.Version, wire.Version), nil)
	case cluster != cfg.Cluster && !(cfg.Hidden && cfg.Cluster == ""):
		return Peer{}, h.reject(wire.CodeWrongCluster, fmt.Sprintf("node %s is in cluster %q, this node is in cluster %q", acceptor, cluster, cfg.Cluster), nil)
	case acceptor != target:
		return Peer{}, h.reject(wire.CodeWrongNode, fmt.Sprintf("dialed node %s but node %s answered; all nodes of a cluster must use the same base port", target, acceptor), nil)
	case ch.Caps&wire.CapHidden != 0:
		return Peer{}, h.reject(wire.CodeRefused, fmt.Sprintf("node %s announces itself hidden, but hidden nodes never accept connections", acceptor), nil)
	}
	if err := checkMaxPayload(ch.MaxPayload); err != nil {
		return Peer{}, h.reject(wire.CodeMalformed, "challenge: "+err.Error(), nil)
	}

	t := transcript{
		version: ch.Version, nonceD: &hello.Nonce, nonceA: &ch.Nonce, guidD: &cfg.GUID, guidA: &ch.GUID,
		dialer: hello.Name, acceptor: []byte(acceptor), cluster: hello.Cluster,
		lane: lane, linkID: linkID, capsD: hello.Caps, capsA: ch.Caps,
	}
	peer := Peer{
		Name:       acceptor,
		Cluster:    cluster,
		GUID:       ch.GUID,
		Version:    ch.Version,
		Compress:   hello.Caps&ch.Caps&wire.CapCompressS2 != 0,
		ChunkSize:  hello.Caps&ch.Caps&wire.CapChunkSize != 0,
		MaxPayload: effectiveMaxPayload(ch.MaxPayload),
	}
	// The key is salted with the acceptor's cluster, which a hidden client
	// that left its own cluster empty learns only from the Challenge.
	key := set.key(ck, cluster)
	wantA := t.proof(key, wire.LabelAcceptor)

	if err := h.send(&wire.Proof{T: wire.TypeAuth, MAC: t.proof(key, wire.LabelDialer)}); err != nil {
		return Peer{}, err
	}
	welcome := wire.Proof{T: wire.TypeWelcome}
	if err := h.expect(&welcome); err != nil {
		return Peer{}, err
	}
	if !hmac.Equal(welcome.MAC[:], wantA[:]) {
		return Peer{}, h.reject(wire.CodeBadCookie, fmt.Sprintf("cookie mismatch: node %s's welcome proof does not verify with this node's cookie", acceptor), nil)
	}
	return peer, nil
}

// serverHandshake runs the acceptor side; it returns the lane and link id from the Hello.
func serverHandshake(ctx context.Context, nc net.Conn, r *wire.Reader, cfg *Config) (p Peer, lane uint8, linkID uint64, err error) {
	return serverHandshakeHooks(ctx, nc, r, cfg, acceptHooks{})
}

// acceptHooks let the listener follow a server handshake.
type acceptHooks struct {
	// hello, when set, runs once the Hello has passed its checks.
	hello func()
	// quiet keeps failures out of the log: the listener counts them and
	// logs a rate-limited summary instead (see rateLog).
	quiet bool
}

func serverHandshakeHooks(ctx context.Context, nc net.Conn, r *wire.Reader, cfg *Config, hooks acceptHooks) (p Peer, lane uint8, linkID uint64, err error) {
	h := newHandshake(ctx, nc, r, cfg, "acceptor")
	h.quiet = hooks.quiet
	defer h.finish()

	if cfg.Hidden {
		return Peer{}, 0, 0, h.reject(wire.CodeRefused, fmt.Sprintf("node %s is hidden and does not accept connections", cfg.Name), nil)
	}
	if err := checkStr16("this node's name", cfg.Name); err != nil {
		return Peer{}, 0, 0, err
	}
	if err := checkStr16("cluster name", cfg.Cluster); err != nil {
		return Peer{}, 0, 0, err
	}

	payload, err := h.next(wire.TypeHello)
	if err != nil {
		return Peer{}, 0, 0, err
	}
	// The version range leads the body in every protocol version, so check it
	// before the rest: a newer dialer's Hello may not parse as ours.
	if len(payload) >= 2 && (payload[0] > wire.Version || payload[1] < wire.Version) {
		return Peer{}, 0, 0, h.reject(wire.CodeVersion, fmt.Sprintf("dialer speaks protocol versions %d..%d, this node speaks only version %d", payload[0], payload[1], wire.Version), nil)
	}
	var hello wire.Hello
	if err := h.decode(&hello, payload); err != nil {
		return Peer{}, 0, 0, err
	}
	dialer, target, cluster := string(hello.Name), string(hello.Target), string(hello.Cluster)
	h.peer = dialer
	switch {
	case dialer == "":
		return Peer{}, 0, 0, h.reject(wire.CodeMalformed, "hello carries an empty dialer name, want short@host", nil)
	case cluster != cfg.Cluster && !(hello.Caps&wire.CapHidden != 0 && cluster == ""):
		// A hidden client (ekka-mesh ctl) may leave the cluster empty: it
		// only wants to talk to this node, and the cookie still decides.
		return Peer{}, 0, 0, h.reject(wire.CodeWrongCluster, fmt.Sprintf("node %s is in cluster %q, this node is in cluster %q", dialer, cluster, cfg.Cluster), nil)
	case target != cfg.Name:
		return Peer{}, 0, 0, h.reject(wire.CodeWrongNode, fmt.Sprintf("this is node %s, not %s; all nodes of a cluster must use the same base port", cfg.Name, target), nil)
	case dialer == cfg.Name && hello.GUID == cfg.GUID:
		return Peer{}, 0, 0, h.reject(wire.CodeRefused, fmt.Sprintf("node %s dialed itself", dialer), nil)
	case hello.Lane > wire.LaneLarge:
		return Peer{}, 0, 0, h.reject(wire.CodeMalformed, fmt.Sprintf("hello asks for lane %d, want %d..%d", hello.Lane, wire.LaneControl, wire.LaneLarge), nil)
	}
	if err := checkMaxPayload(hello.MaxPayload); err != nil {
		return Peer{}, 0, 0, h.reject(wire.CodeMalformed, "hello: "+err.Error(), nil)
	}
	if hooks.hello != nil {
		hooks.hello()
	}

	ch := wire.Challenge{
		Version:    wire.Version,
		Caps:       localCaps(cfg),
		MaxPayload: cfg.maxPayload(),
		GUID:       cfg.GUID,
		Name:       []byte(cfg.Name),
		Cluster:    []byte(cfg.Cluster),
	}
	if _, err := rand.Read(ch.Nonce[:]); err != nil {
		return Peer{}, 0, 0, fmt.Errorf("handshake with %s: drawing the acceptor nonce: %w", h.who(), err)
	}
	t := transcript{
		version: ch.Version, nonceD: &hello.Nonce, nonceA: &ch.Nonce, guidD: &hello.GUID, guidA: &cfg.GUID,
		dialer: []byte(dialer), acceptor: ch.Name, cluster: hello.Cluster,
		lane: hello.Lane, linkID: hello.LinkID, capsD: hello.Caps, capsA: ch.Caps,
	}
	peer := Peer{
		Name:       dialer,
		Cluster:    cluster,
		GUID:       hello.GUID,
		Hidden:     hello.Caps&wire.CapHidden != 0,
		Version:    ch.Version,
		Compress:   hello.Caps&ch.Caps&wire.CapCompressS2 != 0,
		ChunkSize:  hello.Caps&ch.Caps&wire.CapChunkSize != 0,
		MaxPayload: effectiveMaxPayload(hello.MaxPayload),
	}
	// Every cookie this node accepts (the current one, then the previous
	// ones) is tried, each compared in constant time and all of them
	// every time; the Welcome is keyed with the one that verified, so a
	// dialer that has only an older cookie verifies it (PROTOCOL.md 8.4).
	set := cfg.cookies()
	var key *[wire.KeySize]byte
	wantD := make([][wire.ProofSize]byte, len(set.cookies))
	for i := range set.cookies {
		wantD[i] = t.proof(set.key(i, cfg.Cluster), wire.LabelDialer)
	}

	if err := h.send(&ch); err != nil {
		return Peer{}, 0, 0, err
	}
	auth := wire.Proof{T: wire.TypeAuth}
	if err := h.expect(&auth); err != nil {
		return Peer{}, 0, 0, err
	}
	for i := range wantD {
		if hmac.Equal(auth.MAC[:], wantD[i][:]) && key == nil {
			key = set.key(i, cfg.Cluster)
		}
	}
	if key == nil {
		return Peer{}, 0, 0, h.reject(wire.CodeBadCookie, "cookie mismatch", nil)
	}
	if cfg.RefuseMembers != "" && !peer.Hidden {
		return Peer{}, 0, 0, h.reject(wire.CodeRefused, cfg.RefuseMembers, nil)
	}
	if err := h.send(&wire.Proof{T: wire.TypeWelcome, MAC: t.proof(key, wire.LabelAcceptor)}); err != nil {
		return Peer{}, 0, 0, err
	}
	return peer, hello.Lane, hello.LinkID, nil
}

// transcript holds the values both proofs bind (see wire.AppendTranscript).
type transcript struct {
	version                   uint8
	nonceD, nonceA            *[wire.NonceSize]byte
	guidD, guidA              *[wire.GUIDSize]byte
	dialer, acceptor, cluster []byte
	lane                      uint8
	linkID                    uint64
	capsD, capsA              uint32
}

// proof is HMAC-SHA256(cookie key, transcript under label).
func (t *transcript) proof(key *[wire.KeySize]byte, label string) [wire.ProofSize]byte {
	return wire.TranscriptProof(key, wire.AppendTranscript(nil, label, t.version, t.nonceD, t.nonceA, t.guidD, t.guidA,
		t.dialer, t.acceptor, t.cluster, t.lane, t.linkID, t.capsD, t.capsA))
}

// maxCookieKeys bounds the cache of derived cookie keys. A process normally
// needs one entry (its own cookie and cluster); a hidden client that left
// its cluster empty adds one per cluster it reaches.
const maxCookieKeys = 32

type cookieKeyID struct{ cookie, cluster string }

type cookieKeyEntry struct {
	once sync.Once
	key  [wire.KeySize]byte
}

// cookieKeys caches wire.CookieKey per (cookie, cluster) for the whole
// process, so that a node pays the slow derivation once, not per lane, and
// many nodes or clients in one process (tests, ctl) share it.
var cookieKeys = struct {
	mu sync.Mutex
	m  map[cookieKeyID]*cookieKeyEntry
}{m: make(map[cookieKeyID]*cookieKeyEntry)}

// cookieKey returns the proof key for cookie and cluster, deriving it on
// first use. Concurrent first users wait for one derivation.
func cookieKey(cookie, cluster string) *[wire.KeySize]byte {
	id := cookieKeyID{cookie, cluster}
	cookieKeys.mu.Lock()
	e := cookieKeys.m[id]
	if e == nil {
		if len(cookieKeys.m) >= maxCookieKeys {
			for k := range cookieKeys.m {
				delete(cookieKeys.m, k)
				break
			}
		}
		e = &cookieKeyEntry{}
		cookieKeys.m[id] = e
	}
	cookieKeys.mu.Unlock()
	e.once.Do(func() {
		e.key = wire.CookieKey([]byte(cookie), []byte(cluster))
		// The derivation allocated wire.KDFMemoryKiB of scratch memory
		// that is garbage now; hand it back to the OS instead of letting
		// it linger in the process's resident size.
		debug.FreeOSMemory()
	})
	return &e.key
}

func localCaps(cfg *Config) uint32 {
	caps := wire.CapChunkSize
	if cfg.Compression != CompressOff {
		caps |= wire.CapCompressS2
	}
	if cfg.Hidden {
		caps |= wire.CapHidden
	}
	return caps
}

func checkStr16(what, s string) error {
	if len(s) > math.MaxUint16 {
		return fmt.Errorf("handshake: %s is %d bytes long, want at most %d", what, len(s), math.MaxUint16)
	}
	return nil
}

// checkMaxPayload validates a payload limit announced by a peer; 0 means the default.
func checkMaxPayload(n uint32) error {
	if n != 0 && (n < wire.MinPayloadLimit || n > wire.MaxPayloadLimit) {
		return fmt.Errorf("max payload %d out of range, want 0 or %d..%d", n, wire.MinPayloadLimit, wire.MaxPayloadLimit)
	}
	return nil
}

func effectiveMaxPayload(n uint32) uint32 {
	if n == 0 {
		return wire.DefaultMaxPayload
	}
	return n
}

// handshake is the state one side keeps while it runs the handshake: the
// step deadlines, the context watch, and who the peer is for errors and logs.
type handshake struct {
	ctx     context.Context
	nc      net.Conn
	r       *wire.Reader
	cfg     *Config
	log     *slog.Logger
	role    string // "dialer" or "acceptor"
	quiet   bool   // do not log failures: the caller counts them
	addr    string // the peer's address
	peer    string // the peer's node name, once known
	timeout time.Duration
	buf     []byte

	stopWatch func() bool

	mu       sync.Mutex
	aborted  bool // the context ended and the conn's deadline was forced into the past
	finished bool // the handshake returned; the context no longer matters
	ctxBound bool // the current step's deadline is the context's deadline
}

func newHandshake(ctx context.Context, nc net.Conn, r *wire.Reader, cfg *Config, role string) *handshake {
	h := &handshake{
		ctx:     ctx,
		nc:      nc,
		r:       r,
		cfg:     cfg,
		log:     cfg.logger(),
		role:    role,
		addr:    "unknown address",
		timeout: cfg.handshakeTimeout(),
	}
	if a := nc.RemoteAddr(); a != nil {
		h.addr = a.String()
	}
	// Handshake frames are small: refuse anything larger before reading it.
	r.SetMaxPayload(wire.MinPayloadLimit)
	h.stopWatch = context.AfterFunc(ctx, h.abort)
	return h
}

// abort runs when the context ends: it unblocks the pending step.
func (h *handshake) abort() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finished {
		return
	}
	h.aborted = true
	h.nc.SetDeadline(aLongTimeAgo)
}

// finish stops watching the context, clears the deadline and restores the
// reader's limit for the frames that follow the handshake.
func (h *handshake) finish() {
	h.mu.Lock()
	h.finished = true
	h.mu.Unlock()
	h.stopWatch()
	h.nc.SetDeadline(time.Time{})
	h.r.SetMaxPayload(h.cfg.maxPayload())
}

// step arms the deadline for one read or write.
func (h *handshake) step(what string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.aborted || h.ctx.Err() != nil {
		return h.ctxFailure(what)
	}
	d := time.Now().Add(h.timeout)
	h.ctxBound = false
	if dl, ok := h.ctx.Deadline(); ok && !dl.After(d) {
		d, h.ctxBound = dl, true
	}
	if err := h.nc.SetDeadline(d); err != nil {
		return fmt.Errorf("handshake with %s: setting the deadline for %s: %w", h.who(), what, err)
	}
	return nil
}

// who names the other side in errors: its address, and on the acceptor's
// side the name the dialer gave. The dialer's caller knows the node it
// dialed and names it in its own context (mesh: "mesh: join NODE: ...").
func (h *handshake) who() string {
	if h.peer == "" || h.role == "dialer" {
		return h.addr
	}
	return h.addr + " (node " + h.peer + ")"
}

// send writes m as one frame.
func (h *handshake) send(m wire.Message) error {
	what := "sending " + m.Type().String()
	if err := h.step(what); err != nil {
		return err
	}
	h.buf = wire.AppendMessage(h.buf[:0], 0, 0, m)
	if _, err := h.nc.Write(h.buf); err != nil {
		if isTimeout(err) {
			return h.timedOut(what, err)
		}
		return fmt.Errorf("handshake with %s: %s: %w", h.who(), what, err)
	}
	return nil
}

// expect reads the next frame, which must be m's type, and decodes it into m.
func (h *handshake) expect(m wire.Message) error {
	payload, err := h.next(m.Type())
	if err != nil {
		return err
	}
	return h.decode(m, payload)
}

// next reads the next frame and returns its payload if it has type want. A
// Reject or Goodbye becomes a remote *HandshakeError; anything else out of
// place is answered with a Reject.
func (h *handshake) next(want wire.Type) ([]byte, error) {
	what := "waiting for " + want.String()
	if err := h.step(what); err != nil {
		return nil, err
	}
	hdr, payload, err := h.r.ReadFrame()
	if err != nil {
		return nil, h.readFailure(want, what, err)
	}
	switch {
	case hdr.Type == wire.TypeReject || hdr.Type == wire.TypeGoodbye:
		return nil, h.refused(hdr.Type, payload)
	case hdr.Type != want:
		return nil, h.reject(wire.CodeUnexpected, fmt.Sprintf("got a %s frame, want %s", hdr.Type, want), nil)
	case hdr.Flags != 0 || hdr.ID != 0:
		return nil, h.reject(wire.CodeMalformed, fmt.Sprintf("%s frame has flags %#x and id %d, want no flags and id 0", want, hdr.Flags, hdr.ID), nil)
	}
	return payload, nil
}

func (h *handshake) decode(m wire.Message, payload []byte) error {
	if err := m.Decode(payload); err != nil {
		return h.reject(wire.CodeMalformed, fmt.Sprintf("%s does not decode: %v", m.Type(), err), err)
	}
	return nil
}

func (h *handshake) readFailure(want wire.Type, what string, err error) error {
	var fe *wire.FrameError
	switch {
	case errors.As(err, &fe):
		code := wire.CodeMalformed
		if fe.Code == wire.CodeTooLarge {
			// A length over the handshake's frame limit: PROTOCOL.md
			// section 5 answers it "too large", not "malformed".
			code = wire.CodeTooLarge
		}
		if fe.Code == wire.CodeVersion && (fe.Type == want || fe.Type == wire.TypeReject) {
			// A frame of another protocol version: the expected message,
			// or the Reject with which an older or newer peer refuses
			// this node's Hello.
			code = wire.CodeVersion
		}
		return h.reject(code, fmt.Sprintf("got bytes that are not a valid frame while %s: %v", what, fe), err)
	case errors.Is(err, io.EOF):
		he := &HandshakeError{Code: wire.CodeTruncated, Reason: cleanReason(fmt.Sprintf("%s closed the connection while this node was %s", h.who(), what))}
		h.logFailure("handshake failed", he)
		return &causedError{he, err}
	case isTimeout(err):
		return h.timedOut(what, err)
	}
	return fmt.Errorf("handshake with %s: %s: %w", h.who(), what, err)
}

// timedOut reports a step that hit its deadline: the handshake timeout, the
// context's deadline, or the context's cancellation.
func (h *handshake) timedOut(what string, err error) error {
	h.mu.Lock()
	aborted, ctxBound := h.aborted, h.ctxBound
	h.mu.Unlock()
	cerr := h.ctx.Err()
	if aborted || cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			ctxBound = true
		} else {
			return h.ctxFailure(what)
		}
	}
	if ctxBound {
		he := &HandshakeError{Code: wire.CodeTimeout, Reason: cleanReason(fmt.Sprintf("%s from %s: context deadline exceeded", what, h.who()))}
		h.logFailure("handshake failed", he)
		return &causedError{he, context.DeadlineExceeded}
	}
	return h.reject(wire.CodeTimeout, fmt.Sprintf("%s from %s took longer than the handshake timeout of %v", what, h.who(), h.timeout), err)
}

// ctxFailure reports a handshake that stopped because its context ended.
func (h *handshake) ctxFailure(what string) error {
	cerr := h.ctx.Err()
	if cerr == nil {
		cerr = context.Canceled
	}
	if errors.Is(cerr, context.DeadlineExceeded) {
		he := &HandshakeError{Code: wire.CodeTimeout, Reason: cleanReason(fmt.Sprintf("%s from %s: context deadline exceeded", what, h.who()))}
		h.logFailure("handshake failed", he)
		return &causedError{he, cerr}
	}
	return fmt.Errorf("handshake with %s aborted while %s: %w", h.who(), what, cerr)
}

// refused turns a Reject or Goodbye from the peer into a remote *HandshakeError.
func (h *handshake) refused(t wire.Type, payload []byte) error {
	rj := wire.Reject{T: t}
	if err := rj.Decode(payload); err != nil {
		he := &HandshakeError{Code: wire.CodeMalformed, Reason: cleanReason(fmt.Sprintf("%s sent a %s that does not decode: %v", h.who(), t, err))}
		h.logFailure("handshake failed", he)
		return &causedError{he, err}
	}
	code := rj.Code
	if code == wire.CodeOK {
		code = wire.CodeRefused
	}
	reason := cleanReason(string(rj.Reason))
	if reason == "" {
		reason = "no reason given"
	}
	he := &HandshakeError{Code: code, Remote: true, Reason: cleanReason(fmt.Sprintf("%s: %s", h.who(), reason))}
	if h.quiet {
		return he
	}
	h.log.Warn("handshake refused by peer", "role", h.role, "peer_addr", h.addr, "peer", h.peer,
		"code", code.String(), "reason", reason)
	return he
}

// reject logs the refusal, tells the peer why (best effort) and returns the
// local *HandshakeError, wrapping cause when there is one.
func (h *handshake) reject(code wire.Code, reason string, cause error) error {
	reason = cleanReason(reason)
	he := &HandshakeError{Code: code, Reason: reason}
	h.logFailure("handshake rejected", he)
	h.sendReject(code, reason)
	if cause != nil {
		return &causedError{he, cause}
	}
	return he
}

func (h *handshake) logFailure(msg string, he *HandshakeError) {
	if h.quiet {
		return
	}
	h.log.Warn(msg, "role", h.role, "peer_addr", h.addr, "peer", h.peer,
		"code", he.Code.String(), "reason", he.Reason)
}

// sendReject writes a Reject under a short deadline of its own, since the
// step deadline may be what just expired. It does nothing once the context
// has ended: the caller wants out now.
func (h *handshake) sendReject(code wire.Code, reason string) {
	h.mu.Lock()
	if h.aborted || h.ctx.Err() != nil {
		h.mu.Unlock()
		return
	}
	d := time.Now().Add(min(h.timeout, rejectWriteTimeout))
	if dl, ok := h.ctx.Deadline(); ok && dl.Before(d) {
		d = dl
	}
	err := h.nc.SetWriteDeadline(d)
	h.mu.Unlock()
	if err != nil {
		return
	}
	h.buf = wire.AppendMessage(h.buf[:0], 0, 0, &wire.Reject{T: wire.TypeReject, Code: code, Reason: []byte(reason)})
	h.nc.Write(h.buf) // best effort: the handshake has failed either way
}

// cleanReason makes reason text safe to log and to send: valid UTF-8, no
// control characters, at most maxReasonLen bytes.
func cleanReason(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxReasonLen {
		cut := maxReasonLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// causedError is a *HandshakeError that also wraps the error that caused it,
// so that errors.Is works for both (ErrHandshakeTimeout and
// context.DeadlineExceeded, ErrMalformed-like wire errors, io.EOF).
type causedError struct {
	*HandshakeError
	cause error
}

func (e *causedError) Unwrap() []error { return []error{e.HandshakeError, e.cause} }
