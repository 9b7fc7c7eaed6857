package mesh

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/discovery"
	"github.com/ekka-mesh/ekka-mesh/portmap"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Config describes a node. Start validates it up front; every error names
// the field, the value and what was expected.
type Config struct {
	// Name is the node's name, short@host. The port follows from it (see
	// package portmap): every node of a cluster must use the same BasePort.
	Name string
	// Cookie is the cluster's shared secret.
	Cookie string
	// CookiePrevious are cookies the node still accepts (at most 8), and
	// tries after Cookie when a node refuses it: they let a cluster change
	// its cookie one node at a time without a restart (see Node.SetCookie
	// and wire/PROTOCOL.md section 8.4).
	CookiePrevious []string
	// Cluster is the cluster name (default "ekka"); nodes of other clusters are refused.
	Cluster string
	// BasePort is the port of a name without trailing digits (default 4370).
	BasePort int
	// Bind, when set, is the IP to listen on instead of the name's host.
	Bind string
	// ListenAddr, when set, overrides the address the node listens on
	// (host:port). Tests use "127.0.0.1:0"; peers still dial name's port
	// unless Resolve says otherwise.
	ListenAddr string
	// Resolve, when set, maps a node name to the address to dial. The
	// default is the port rule: the name's host and portmap's port.
	Resolve func(node string) (string, error)
	// TLS, when set, wraps every connection (see conn.Config.TLS).
	TLS *tls.Config
	// GUID identifies this incarnation; zero means NewGUID().
	GUID GUID
	// Version, when set, is the software version this node runs, such as
	// "v1.2.3": it is announced to every member with the node's services
	// and shown in MemberInfo.Version (ekka-mesh ctl status shows it). At
	// most MaxVersionLen bytes of printable ASCII without spaces.
	Version string
	// Tags are this node's key/value tags (such as role=db, zone=eu-1),
	// announced to every member, shown in MemberInfo.Tags and used to
	// select nodes (Node.Select, Node.MulticallTagged); Node.SetTags
	// replaces them at run time. At most MaxTags; a key is 1 to
	// MaxTagKeyLen bytes of A-Z a-z 0-9 _ . -, a value at most
	// MaxTagValueLen bytes of printable ASCII without spaces or commas.
	Tags map[string]string

	// HeartbeatInterval is the heartbeat's beat (default 1s), aligned to the
	// wall clock so the nodes of a cluster beat together. One end of each
	// link pings and the other answers; with a timeout of at least four
	// intervals the pinging end skips a beat when it heard the peer since
	// its last one, so an idle link carries one ping and pong per two
	// intervals.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout marks a silent peer down (default 5s; must exceed the interval).
	HeartbeatTimeout time.Duration
	// Autoclean removes members down longer than this (0: never).
	Autoclean time.Duration
	// Redial is the backoff for redialing down members (default DefaultBackoff()).
	Redial Backoff

	// MaxMembers caps the member table, this node included (default
	// DefaultMaxMembers, 1024; at most wire.MaxMembers, 65535, so a table
	// always fits its message). When the table is full, members announced by
	// peers are dropped (a rate-limited warning counts them), and a node
	// that links to this one takes the place of a member learned second-hand
	// that this node never reached, or is refused (its link is closed with
	// the reason) when there is none.
	MaxMembers int
	// LearnRate is how many new members per second this node learns from
	// its peers' member tables and join announcements (default
	// DefaultLearnRate, 100), a token bucket holding LearnBurst. Members
	// beyond it are dropped, with a rate-limited warning; they are learned
	// from a later table or when they link to this node themselves.
	LearnRate float64
	// LearnBurst is the most new members one message or one burst teaches
	// this node (default DefaultLearnBurst, 1024: a node joining a full
	// cluster learns every member from one table).
	LearnBurst int
	// ForgetUnreached is how long a member learned from a peer may stay
	// unreached: one this node has never linked to is removed (with a log
	// line and a node-leaving event) once it was learned longer ago than
	// this, instead of being redialed until Autoclean (default
	// DefaultForgetUnreached, 30s; negative: never, only Autoclean removes
	// it). A real member that this node cannot reach yet is learned again
	// from the next table, or links to this node itself.
	ForgetUnreached time.Duration
	// RedialRate is how many redials of down members this node starts per
	// second, a token bucket holding one second's worth (default
	// DefaultRedialRate, 200). Members this node has reached before are
	// redialed first; those only learned from a peer wait for what is left,
	// so a peer announcing many members that do not exist cannot flood the
	// node with dials nor delay the redial of a real member.
	RedialRate float64

	// Discovery, when set, runs the autocluster loop with it (a strategy of
	// discovery/static, mcast, dns, etcd or k8s, or any discovery.Strategy);
	// nil is the "manual" strategy: the node joins only when told to. A
	// discovery.Standalone strategy (discovery/singleton) keeps the node
	// out of every cluster: no loop, no Join, no members (singleton.go).
	Discovery discovery.Strategy
	// AutoclusterInterval is the retry interval of the autocluster loop (default 5s).
	AutoclusterInterval time.Duration

	// Hooks are the application's lifecycle hooks: Start, Stop, Join and
	// Leave (hooks.go says when each runs and what its error does).
	Hooks Hooks

	// Compression says when this node compresses what it sends (S2):
	// CompressionAuto (the default, the zero value) only where it pays,
	// CompressionOn always, CompressionOff never (and it does not offer
	// compression, so peers send it nothing compressed either).
	Compression Compression
	// CompressThreshold is the body size from which payloads may be compressed (default 4096).
	CompressThreshold int
	// HandshakeTimeout bounds each handshake step (default 5s).
	HandshakeTimeout time.Duration

	// Dial, when set, opens outgoing TCP connections (meshtest's fault
	// injection network plugs in here).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Logger receives the node's log (default: discard).
	Logger *slog.Logger

	// ---- Memory bounds per link and per node (limits.go, SECURITY.md) ----
	// Zero means the default; negative values are refused by Validate.

	// MaxMessage is the largest message body (call, reply, cast) this node
	// sends or accepts, after reassembly and decompression (default and
	// maximum 256 MiB; set the same on every node). A larger Call, Cast or
	// reply is refused locally (errors.Is(err, ErrTooLarge); a reply
	// becomes an error reply "too large" to the caller) and the link stays
	// up; a peer that sends one is closed with a goodbye "too large".
	MaxMessage int
	// LaneBudget is how many bytes of outgoing frames may queue on one lane
	// of a link (default 4 MiB); past it senders wait, so replies to a peer
	// that does not read hold their calls' slots (MaxServingCalls) and the
	// node stops reading that peer's requests.
	LaneBudget int
	// StallTimeout is how long a lane may stay backed up while draining
	// slower than MinDrainRate (default 30s), and the deadline of one
	// socket write. Past it the link is closed with a goodbye "timeout"
	// and a log line naming the peer, the lane, the bytes queued and how
	// long; the member goes down and is redialed as usual.
	StallTimeout time.Duration
	// MinDrainRate is the rate in bytes per second a backed-up lane must
	// drain at over each StallTimeout (default 256 KiB/s).
	MinDrainRate int
	// MaxReassemblyPerLink bounds the bytes one link holds of chunked
	// messages being reassembled and bodies being decompressed (default
	// MaxMessage, 256 MiB: one message at the limit; at least MaxMessage).
	// A peer that would exceed it is closed with a goodbye "too large" and
	// a log line.
	MaxReassemblyPerLink int64
	// MaxReassemblyPerNode bounds the same bytes over all links of the node
	// together (default 512 MiB, twice the largest MaxMessage, or
	// MaxReassemblyPerLink if that is more; at least MaxReassemblyPerLink).
	// The link that would exceed it is closed like one over
	// MaxReassemblyPerLink.
	MaxReassemblyPerNode int64
	// ChunkTimeout is how long a chunked message may go without its next
	// chunk (default 30s); past it the link is closed with a goodbye
	// "timeout" and a log line, and what the message held is released.
	ChunkTimeout time.Duration
	// MaxServingCalls is how many calls of one peer are served at once
	// (default 1024). At the limit the link's reader waits for a call to
	// finish before it reads on (TCP pushes back on the peer); no
	// goroutine is started for a call that is not admitted. The peer's
	// service messages (partition, autoheal, lock) are bounded apart, by
	// the same two limits; a service message past them is refused at once
	// (a request gets an error answer), since the control lane's reader
	// must not wait.
	MaxServingCalls int
	// MaxServingBytes bounds the bytes the calls of one peer being served
	// hold: their payloads, and their replies until sent (default 64 MiB).
	// Past it the reader waits as at MaxServingCalls; a call is always
	// admitted when none of the peer's is being served, so one message up
	// to MaxMessage gets through.
	MaxServingBytes int64
	// MaxCastQueue is how many casts of one peer may wait for their handler
	// (default 4096); past it the link's reader waits for room.
	MaxCastQueue int
	// MaxCastQueueBytes bounds the payload bytes of those casts, including
	// the batch being handled (default 64 MiB); past it the reader waits,
	// except that a cast is always queued when nothing is.
	MaxCastQueueBytes int64
	// ---- end of memory bounds ----

	// ---- Connection admission (conn.Config's fields of the same names) ----
	// Zero means the default; negative values are refused by Validate.

	// MaxHandshakes bounds the connections in their handshake at once
	// (default 2048). A newcomer is always admitted: past the bound the
	// oldest connection of the earliest stage (silent, then spoken, then
	// greeted) is closed, so idle connections held open against the port
	// cannot lock real peers and ctl out.
	MaxHandshakes int
	// MaxHandshakesPerAddr bounds the handshakes from one IP address
	// (default 1024); past it that address's oldest handshake is closed.
	MaxHandshakesPerAddr int
	// MaxListenerConns bounds the connections the listener holds before
	// they become links (handshakes and incomplete links; default a quarter
	// of the process's descriptor limit, within 64..16384), so that a flood
	// cannot exhaust descriptors; past it the oldest is closed.
	MaxListenerConns int
	// MaxIncompleteLinksPerPeer bounds the links one peer name has begun
	// but not completed (default 4); past it the oldest is dropped.
	MaxIncompleteLinksPerPeer int
	// FirstByteTimeout closes a connection that has sent nothing this long
	// after it was accepted (default 2s): a real peer speaks at once.
	FirstByteTimeout time.Duration
	// RefusalLogInterval is the most often refused connections are logged
	// (default 10s): the first refusal after a quiet interval at once, then
	// one line per interval counting refusals by reason.
	RefusalLogInterval time.Duration
	// ---- end of connection admission ----
}

// Defaults of the membership bounds (Config.MaxMembers and the fields after it).
const (
	DefaultMaxMembers      = 1024
	DefaultLearnRate       = 100.0
	DefaultLearnBurst      = 1024
	DefaultForgetUnreached = 30 * time.Second
	DefaultRedialRate      = 200.0
)

// DefaultConfig returns a Config with every default filled in except Name and Cookie.
func DefaultConfig() Config {
	return Config{
		Cluster:             "ekka",
		BasePort:            portmap.DefaultBasePort,
		HeartbeatInterval:   time.Second,
		HeartbeatTimeout:    5 * time.Second,
		Redial:              DefaultBackoff(),
		AutoclusterInterval: 5 * time.Second,
		CompressThreshold:   4096,
		HandshakeTimeout:    5 * time.Second,
		MaxMembers:          DefaultMaxMembers,
		LearnRate:           DefaultLearnRate,
		LearnBurst:          DefaultLearnBurst,
		ForgetUnreached:     DefaultForgetUnreached,
		RedialRate:          DefaultRedialRate,
	}
}

// withDefaults fills zero fields with their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.Cluster = cmp.Or(c.Cluster, d.Cluster)
	c.BasePort = cmp.Or(c.BasePort, d.BasePort)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, d.HeartbeatInterval)
	c.HeartbeatTimeout = cmp.Or(c.HeartbeatTimeout, max(d.HeartbeatTimeout, 3*c.HeartbeatInterval))
	c.Redial = cmp.Or(c.Redial, d.Redial)
	c.AutoclusterInterval = cmp.Or(c.AutoclusterInterval, d.AutoclusterInterval)
	c.CompressThreshold = cmp.Or(c.CompressThreshold, d.CompressThreshold)
	c.HandshakeTimeout = cmp.Or(c.HandshakeTimeout, d.HandshakeTimeout)
	c.MaxMembers = cmp.Or(c.MaxMembers, d.MaxMembers)
	c.LearnRate = cmp.Or(c.LearnRate, d.LearnRate)
	c.LearnBurst = cmp.Or(c.LearnBurst, d.LearnBurst)
	c.ForgetUnreached = cmp.Or(c.ForgetUnreached, d.ForgetUnreached)
	c.RedialRate = cmp.Or(c.RedialRate, d.RedialRate)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c.limitDefaults()
}

// Validate reports the first bad field of c (after defaults), naming it.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Name == "" {
		return errors.New("mesh config: Name is empty, want short@host")
	}
	name, err := portmap.Parse(c.Name)
	if err != nil {
		return fmt.Errorf("mesh config: Name: %w", err)
	}
	if c.BasePort < 1 || c.BasePort > 65535 {
		return fmt.Errorf("mesh config: BasePort %d out of range, want 1..65535", c.BasePort)
	}
	if _, err := name.Port(c.BasePort); err != nil {
		return fmt.Errorf("mesh config: Name %q with BasePort %d: %w", c.Name, c.BasePort, err)
	}
	if err := checkVersion(c.Version); err != nil {
		return fmt.Errorf("mesh config: Version: %w", err)
	}
	if err := checkTags(c.Tags); err != nil {
		return fmt.Errorf("mesh config: Tags: %w", err)
	}
	if c.Cookie == "" {
		return errors.New("mesh config: Cookie is empty, want the cluster's shared secret")
	}
	if len(c.Cookie) > 1024 {
		return fmt.Errorf("mesh config: Cookie is %d bytes long, want at most 1024", len(c.Cookie))
	}
	if err := conn.CheckCookies(c.Cookie, c.CookiePrevious); err != nil {
		return fmt.Errorf("mesh config: Cookie, CookiePrevious: %w", err)
	}
	if c.Bind != "" && net.ParseIP(c.Bind) == nil {
		return fmt.Errorf("mesh config: Bind %q is not an IP address", c.Bind)
	}
	if c.HeartbeatInterval < 0 {
		return fmt.Errorf("mesh config: HeartbeatInterval %v is negative", c.HeartbeatInterval)
	}
	if c.HeartbeatTimeout <= c.HeartbeatInterval {
		return fmt.Errorf("mesh config: HeartbeatTimeout %v must be longer than HeartbeatInterval %v", c.HeartbeatTimeout, c.HeartbeatInterval)
	}
	if c.Autoclean < 0 {
		return fmt.Errorf("mesh config: Autoclean %v is negative, want 0 (off) or a duration", c.Autoclean)
	}
	if c.AutoclusterInterval < 0 {
		return fmt.Errorf("mesh config: AutoclusterInterval %v is negative", c.AutoclusterInterval)
	}
	if c.Compression > CompressionOn {
		return fmt.Errorf("mesh config: Compression %d unknown, want CompressionAuto, CompressionOff or CompressionOn", c.Compression)
	}
	if c.CompressThreshold < 0 {
		return fmt.Errorf("mesh config: CompressThreshold %d is negative", c.CompressThreshold)
	}
	if c.HandshakeTimeout < 0 {
		return fmt.Errorf("mesh config: HandshakeTimeout %v is negative", c.HandshakeTimeout)
	}
	if c.MaxMembers < 2 || c.MaxMembers > wire.MaxMembers {
		return fmt.Errorf("mesh config: MaxMembers %d out of range, want 2..%d (0 means %d)", c.MaxMembers, wire.MaxMembers, DefaultMaxMembers)
	}
	if !(c.LearnRate > 0) || math.IsInf(c.LearnRate, 0) {
		return fmt.Errorf("mesh config: LearnRate %v, want a positive number of members per second (0 means %v)", c.LearnRate, DefaultLearnRate)
	}
	if c.LearnBurst < 1 {
		return fmt.Errorf("mesh config: LearnBurst %d, want at least 1 (0 means %d)", c.LearnBurst, DefaultLearnBurst)
	}
	if !(c.RedialRate > 0) || math.IsInf(c.RedialRate, 0) {
		return fmt.Errorf("mesh config: RedialRate %v, want a positive number of dials per second (0 means %v)", c.RedialRate, DefaultRedialRate)
	}
	if c.Redial.Min < 0 || c.Redial.Max < c.Redial.Min {
		return fmt.Errorf("mesh config: Redial backoff min %v max %v, want 0 <= min <= max", c.Redial.Min, c.Redial.Max)
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	return nil
}

// listenAddr is where the node listens.
func (c *Config) listenAddr() (string, error) {
	if c.ListenAddr != "" {
		return c.ListenAddr, nil
	}
	name, err := portmap.Parse(c.Name)
	if err != nil {
		return "", err
	}
	return name.ListenAddr(c.BasePort, c.Bind)
}

// Addr returns the address a node name is dialed at under the port rule:
// the name's host and the port for basePort.
func Addr(node string, basePort int) (string, error) {
	name, err := portmap.Parse(node)
	if err != nil {
		return "", err
	}
	if basePort == 0 {
		basePort = portmap.DefaultBasePort
	}
	return name.Addr(basePort)
}

func (c *Config) resolve(node string) (string, error) {
	if c.Resolve != nil {
		return c.Resolve(node)
	}
	return Addr(node, c.BasePort)
}
