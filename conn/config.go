package conn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Config describes this side of every connection: who we are and how we
// talk. The same Config serves the listener and the dialer.
type Config struct {
	// Name is this node's full name, short@host.
	Name string
	// Cluster is the cluster name; peers of another cluster are refused.
	Cluster string
	// Cookie is the shared secret. It never crosses the wire.
	Cookie string
	// CookiePrevious are cookies this side still accepts from a dialer
	// (and tries, after Cookie, when it dials a node that refuses Cookie),
	// so that a cluster can change its cookie one node at a time
	// (wire/PROTOCOL.md section 8.4). At most MaxPreviousCookies.
	CookiePrevious []string
	// Keyring, when set, holds the cookies instead of Cookie and
	// CookiePrevious, and lets them change while the node runs.
	Keyring *Keyring
	// GUID identifies this incarnation of the node (see mesh.NewGUID).
	GUID [wire.GUIDSize]byte
	// Hidden marks a control client (ekka-mesh ctl): it authenticates like a
	// node but never listens and never becomes a member.
	Hidden bool
	// RefuseMembers, when not empty, makes the acceptor refuse every dialer
	// that is not hidden, with a Reject CodeRefused carrying this text as
	// the reason, once the dialer's proof has verified (so only a holder
	// of the cookie learns it). A node that never clusters (a singleton)
	// sets it; hidden clients (ekka-mesh ctl) are accepted as usual.
	RefuseMembers string

	// TLS, when set, wraps every TCP connection. The listener uses it as a
	// server config, the dialer as a client config (ServerName is filled in
	// from the peer's host when empty). Mutual TLS: set ClientAuth and
	// Certificates as usual. The cookie is checked inside TLS all the same.
	TLS *tls.Config

	// Compression says when to compress (S2): CompressAuto (the zero
	// value: only where it pays), CompressOn or CompressOff. It is used on a
	// link only when both sides offer it (any mode but off). Payloads
	// shorter than CompressThreshold bytes are always sent as they are.
	Compression       Compression
	CompressThreshold int

	// MaxPayload is the largest frame payload this side accepts; larger
	// application messages are chunked by the sender.
	MaxPayload uint32

	// HandshakeTimeout bounds each handshake step so that a silent or slow
	// peer cannot hold a connection slot.
	HandshakeTimeout time.Duration

	// Listener admission (see Listener). Zero means the default; negative
	// values are refused by Validate. Refusals and evictions are counted
	// by reason in Listener.Stats and logged at most once per
	// RefusalLogInterval.
	//
	// MaxHandshakes caps the handshakes in progress (default 2048). A new
	// connection past the cap is still accepted: the oldest handshake
	// whose Hello has not arrived goes instead (then the oldest waiting
	// for the dialer's proof), so idle connections push out each other,
	// not a real peer's handshake.
	MaxHandshakes int
	// MaxHandshakesPerAddr caps the handshakes in progress from one source
	// IP address (default 1024); past it the oldest from that address is
	// closed, so one host's flood leaves other hosts' handshakes alone.
	// The limits are high on purpose: an idle connection costs little
	// (a descriptor and a parked goroutine, closed after FirstByteTimeout),
	// while every eviction lets a flooder reconnect, and reconnects queue in
	// the kernel's accept queue ahead of real peers.
	MaxHandshakesPerAddr int
	// MaxListenerConns caps the connections the listener holds before they
	// become a link: handshakes plus the lanes of incomplete links
	// (default a quarter of the process's open-file limit RLIMIT_NOFILE,
	// at least 64 and at most 16384; 1024 when the limit is unknown).
	// Past it the oldest handshake is closed, or when there is none the
	// oldest incomplete link, so the process keeps descriptors for its
	// links and outgoing dials.
	MaxListenerConns int
	// MaxIncompleteLinksPerPeer caps the links a peer name may have
	// waiting for their lanes (default 4); past it the oldest of that
	// peer's incomplete links is dropped.
	MaxIncompleteLinksPerPeer int
	// FirstByteTimeout is how long an accepted connection may stay silent
	// (default 2s): a real peer speaks at once, so a connection that sends
	// nothing by then is closed without waiting for HandshakeTimeout.
	FirstByteTimeout time.Duration
	// RefusalLogInterval is the most often the listener logs refused
	// connections (default 10s): the first refusal after a quiet interval
	// is logged at once, later ones are counted and summed up in one line
	// per interval.
	RefusalLogInterval time.Duration

	// Dial, when set, replaces net.Dialer for outgoing TCP connections (the
	// fault-injection network uses it). LocalAddr is ignored then.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// LocalIP, when set, is the source address of outgoing connections.
	LocalIP net.IP

	// Logger receives handshake rejections and connection errors.
	Logger *slog.Logger

	// Memory bounds of a link (see limits.go). Zero means the default;
	// negative values are refused by Validate.

	// MaxMessage is the largest message body this side sends or accepts,
	// after reassembly and decompression (default and maximum
	// DefaultMaxMessage, 256 MiB; set the same on every node). Send refuses
	// a larger body locally with a *MessageTooLargeError and the link stays
	// up; a peer that sends one (or a compressed body that claims to decode
	// to more) gets a goodbye with code "too large" and the link is closed.
	MaxMessage int
	// LaneBudget is how many bytes of outgoing frames may queue on one lane
	// (default DefaultLaneBudget, 4 MiB). When it is full, senders wait for
	// room (bounded by their context): replies to a peer that does not read
	// hold their call's slot, so the node stops reading that peer's
	// requests and TCP pushes back on it.
	LaneBudget int
	// StallTimeout is how long a lane may stay backed up (senders waiting
	// for room) while draining slower than MinDrainRate (default
	// DefaultStallTimeout, 30 s); it is also the deadline of one write to
	// the socket. When it passes, the link is closed with a goodbye (code
	// "timeout") and a log line naming the peer, the lane, the bytes queued
	// and how long.
	StallTimeout time.Duration
	// MinDrainRate is the drain rate, in bytes per second, a backed-up lane
	// must keep up over each StallTimeout (default DefaultMinDrainRate,
	// 256 KiB/s); a peer that reads slower while this node has data for it
	// is closed as stalled.
	MinDrainRate int
	// MaxReassembly is how many bytes one link may hold of chunked messages
	// being reassembled and of bodies being decompressed (default
	// DefaultMaxReassembly, 256 MiB: one message at the message limit; at
	// least MaxMessage). A peer that would make the link hold more gets a
	// goodbye with code "too large", and the link is closed.
	MaxReassembly int64
	// Budget, when set, is shared by every connection of a node and bounds
	// what they hold together of chunked and decompressed messages (package
	// mesh makes one per node, DefaultNodeReassembly, 512 MiB, by default).
	// A connection that would exceed it is closed like one over
	// MaxReassembly. Nil: only MaxReassembly applies.
	Budget *Budget
	// ChunkTimeout is how long a chunked message may go without its next
	// chunk (default DefaultChunkTimeout, 30 s). When it passes, the link is
	// closed with a goodbye (code "timeout") and a log line, and what the
	// message held is released.
	ChunkTimeout time.Duration
}

// DefaultConfig returns a Config with the defaults filled in; the caller sets
// Name, Cluster, Cookie and GUID.
func DefaultConfig() Config {
	return Config{
		Cluster:           "ekka",
		Compression:       CompressAuto,
		CompressThreshold: 4096,
		MaxPayload:        wire.DefaultMaxPayload,
		HandshakeTimeout:  5 * time.Second,
	}
}

// Validate reports the first field that is wrong, naming it.
func (c *Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("conn config: Name is empty, want short@host")
	case c.Cluster == "" && !c.Hidden:
		return errors.New("conn config: Cluster is empty, want a cluster name (only a hidden client may leave it empty)")
	case c.Keyring == nil && c.Cookie == "":
		return errors.New("conn config: Cookie is empty, want the cluster's shared secret")
	case c.Keyring == nil && len(c.CookiePrevious) > 0 && CheckCookies(c.Cookie, c.CookiePrevious) != nil:
		return fmt.Errorf("conn config: %w", CheckCookies(c.Cookie, c.CookiePrevious))
	case c.MaxPayload != 0 && (c.MaxPayload < wire.MinPayloadLimit || c.MaxPayload > wire.MaxPayloadLimit):
		return fmt.Errorf("conn config: MaxPayload %d out of range, want %d..%d", c.MaxPayload, wire.MinPayloadLimit, wire.MaxPayloadLimit)
	case c.Compression > CompressOn:
		return fmt.Errorf("conn config: Compression %v unknown, want CompressAuto, CompressOff or CompressOn", c.Compression)
	case c.CompressThreshold < 0:
		return fmt.Errorf("conn config: CompressThreshold %d is negative, want >= 0", c.CompressThreshold)
	case c.HandshakeTimeout < 0:
		return fmt.Errorf("conn config: HandshakeTimeout %v is negative", c.HandshakeTimeout)
	case c.MaxHandshakes < 0 || c.MaxHandshakesPerAddr < 0 || c.MaxListenerConns < 0 || c.MaxIncompleteLinksPerPeer < 0:
		return fmt.Errorf("conn config: MaxHandshakes %d, MaxHandshakesPerAddr %d, MaxListenerConns %d, MaxIncompleteLinksPerPeer %d: want 0 (the default) or a positive count",
			c.MaxHandshakes, c.MaxHandshakesPerAddr, c.MaxListenerConns, c.MaxIncompleteLinksPerPeer)
	case c.FirstByteTimeout < 0 || c.RefusalLogInterval < 0:
		return fmt.Errorf("conn config: FirstByteTimeout %v, RefusalLogInterval %v: want 0 (the default) or a positive duration", c.FirstByteTimeout, c.RefusalLogInterval)
	}
	return c.validateLimits()
}

func (c *Config) maxPayload() uint32 {
	if c.MaxPayload == 0 {
		return wire.DefaultMaxPayload
	}
	return c.MaxPayload
}

func (c *Config) handshakeTimeout() time.Duration {
	if c.HandshakeTimeout <= 0 {
		return 5 * time.Second
	}
	return c.HandshakeTimeout
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Peer is what the handshake established about the other side.
type Peer struct {
	Name       string
	Cluster    string
	GUID       [wire.GUIDSize]byte
	Hidden     bool
	Version    uint8
	Compress   bool   // both sides agreed on S2
	ChunkSize  bool   // both sides announce the size of a chunked message up front
	MaxPayload uint32 // the peer's receive limit: never send more in one frame
}

// HandshakeError is returned when a handshake fails: Code says why (for
// example wire.CodeBadCookie), Remote says whether the peer refused us (true)
// or we refused the peer (false), Reason is the readable text.
type HandshakeError struct {
	Code   wire.Code
	Remote bool
	Reason string
}

func (e *HandshakeError) Error() string {
	if e.Remote {
		return fmt.Sprintf("handshake refused by peer (%s): %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("handshake failed (%s): %s", e.Code, e.Reason)
}

// Is lets errors.Is(err, ErrBadCookie) and friends match by code.
func (e *HandshakeError) Is(target error) bool {
	t, ok := target.(*HandshakeError)
	return ok && t.Reason == "" && t.Code == e.Code
}

// Sentinels for errors.Is on handshake failures, from either side.
var (
	ErrBadCookie        error = &HandshakeError{Code: wire.CodeBadCookie}
	ErrWrongCluster     error = &HandshakeError{Code: wire.CodeWrongCluster}
	ErrWrongNode        error = &HandshakeError{Code: wire.CodeWrongNode}
	ErrVersion          error = &HandshakeError{Code: wire.CodeVersion}
	ErrHandshakeTimeout error = &HandshakeError{Code: wire.CodeTimeout}
	// ErrRefused: a refusal for the reason given, such as a node that
	// accepts no members (Config.RefuseMembers).
	ErrRefused error = &HandshakeError{Code: wire.CodeRefused}
)
