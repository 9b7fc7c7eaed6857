package config

import (
	"net/netip"
	"time"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// Settings is a node's complete, typed configuration. Get one from Defaults
// or Load; change it with Set and check the result with Validate.
type Settings struct {
	Node    NodeSettings
	Cluster ClusterSettings
	Log     LogSettings
}

// LogSettings are the log.* keys.
type LogSettings struct {
	Level  LogLevel  // log.level
	Format LogFormat // log.format
}

// LogLevel is the value of log.level.
type LogLevel string

// The values of log.level.
const (
	LogDebug LogLevel = "debug"
	LogInfo  LogLevel = "info"
	LogWarn  LogLevel = "warn"
	LogError LogLevel = "error"
)

// LogFormat is the value of log.format.
type LogFormat string

// The values of log.format.
const (
	LogText LogFormat = "text" // logfmt-style key=value lines (slog's TextHandler)
	LogJSON LogFormat = "json" // one JSON object per line (slog's JSONHandler)
)

// AdminSettings are the node.admin.* keys: the HTTP admin endpoint.
type AdminSettings struct {
	Listen          string   // node.admin.listen: host:port; "" means off
	ReadyMinMembers int      // node.admin.ready_min_members
	Pprof           bool     // node.admin.pprof
	TLS             AdminTLS // node.admin.tls.*
}

// AdminTLS are the node.admin.tls.* keys. CertFile and KeyFile both set
// means the endpoint speaks HTTPS; CACertFile set means a client must
// present a certificate that chains to it.
type AdminTLS struct {
	CertFile   string // node.admin.tls.certfile
	KeyFile    string // node.admin.tls.keyfile
	CACertFile string // node.admin.tls.cacertfile
}

// NodeSettings are the node.* keys.
type NodeSettings struct {
	Name              portmap.Name  // node.name
	Cookie            string        // node.cookie; "" means ResolveCookie reads or creates the cookie file
	CookiePrevious    []string      // node.cookie_previous: cookies still accepted during a rotation
	BasePort          int           // node.base_port
	Bind              netip.Addr    // node.bind; the zero Addr means unset
	TLS               TLSSettings   // node.tls.*
	HeartbeatInterval time.Duration // node.heartbeat_interval
	HeartbeatTimeout  time.Duration // node.heartbeat_timeout
	Compression       Compression   // node.compression
	Limits            LimitSettings // node.limits.*
	Admin             AdminSettings // node.admin.*
	Hooks             HookSettings  // node.hooks.*
	// Tags are the node.tags.* keys: this node's tags, by name; nil when
	// none is set. Setting one replaces the map with a copy.
	Tags map[string]string
}

// HookSettings are the node.hooks.* keys: commands run at the node's
// lifecycle events (mesh.Hooks and autoheal.Hooks); "" runs none.
type HookSettings struct {
	Start   string        // node.hooks.start
	Stop    string        // node.hooks.stop
	Join    string        // node.hooks.join
	Leave   string        // node.hooks.leave
	Prepare string        // node.hooks.prepare
	Reboot  string        // node.hooks.reboot
	Down    string        // node.hooks.down
	Up      string        // node.hooks.up
	Timeout time.Duration // node.hooks.timeout
}

// LimitSettings are the node.limits.* keys: what one peer, or all of them
// together, may make the node hold, and how the listener admits
// connections. Sizes are in bytes.
type LimitSettings struct {
	MaxMessage             int64         // node.limits.max_message
	LaneBudget             int64         // node.limits.lane_budget
	StallTimeout           time.Duration // node.limits.stall_timeout
	MinDrainRate           int64         // node.limits.min_drain_rate: bytes per second
	ReassemblyPerLink      int64         // node.limits.reassembly_per_link
	ReassemblyPerNode      int64         // node.limits.reassembly_per_node
	ChunkTimeout           time.Duration // node.limits.chunk_timeout
	ServingCalls           int           // node.limits.serving_calls
	ServingBytes           int64         // node.limits.serving_bytes
	CastQueue              int           // node.limits.cast_queue
	CastQueueBytes         int64         // node.limits.cast_queue_bytes
	Handshakes             int           // node.limits.handshakes
	HandshakesPerAddr      int           // node.limits.handshakes_per_addr
	ListenerConns          int           // node.limits.listener_conns: 0 means auto
	IncompleteLinksPerPeer int           // node.limits.incomplete_links_per_peer
	FirstByteTimeout       time.Duration // node.limits.first_byte_timeout
	RefusalLogInterval     time.Duration // node.limits.refusal_log_interval
}

// TLSSettings are the node.tls.* keys.
type TLSSettings struct {
	Enable           bool      // node.tls.enable
	CertFile         string    // node.tls.certfile
	KeyFile          string    // node.tls.keyfile
	CACertFile       string    // node.tls.cacertfile
	Verify           TLSVerify // node.tls.verify
	FailIfNoPeerCert bool      // node.tls.fail_if_no_peer_cert
}

// Compression is the value of node.compression.
type Compression string

// The values of node.compression.
const (
	// CompressionAuto compresses only where it pays: a link slower than
	// the compressor and payloads that shrink. Never slower than off.
	CompressionAuto Compression = "auto"
	// CompressionOff never compresses.
	CompressionOff Compression = "off"
	// CompressionOn compresses every payload of 4 KiB or more that shrinks.
	CompressionOn Compression = "on"
)

// TLSVerify is the value of node.tls.verify.
type TLSVerify string

// The values of node.tls.verify.
const (
	VerifyPeer TLSVerify = "verify_peer"
	VerifyNone TLSVerify = "verify_none"
)

// ClusterSettings are the cluster.* keys.
type ClusterSettings struct {
	Name                string        // cluster.name
	Discovery           Discovery     // cluster.discovery
	Autoheal            time.Duration // cluster.autoheal: the autoheal delay; 0 means off
	Autoclean           time.Duration // cluster.autoclean: 0 means off
	AutoclusterInterval time.Duration // cluster.autocluster.interval
	MaxMembers          int           // cluster.max_members
	LearnRate           float64       // cluster.learn_rate: members per second
	LearnBurst          int           // cluster.learn_burst
	ForgetUnreached     time.Duration // cluster.forget_unreached: 0 means off
	RedialRate          float64       // cluster.redial_rate: dials per second
	SplitBrain          SplitBrainSettings
	Static              StaticSettings
	Mcast               McastSettings
	DNS                 DNSSettings
	Etcd                EtcdSettings
	K8s                 K8sSettings
}

// Discovery is the value of cluster.discovery.
type Discovery string

// The discovery strategies.
const (
	DiscoveryManual Discovery = "manual"
	DiscoveryStatic Discovery = "static"
	DiscoveryMcast  Discovery = "mcast"
	DiscoveryDNS    Discovery = "dns"
	DiscoveryEtcd   Discovery = "etcd"
	DiscoveryK8s    Discovery = "k8s"
	// DiscoverySingleton is ekka's singleton: the node never clusters.
	DiscoverySingleton Discovery = "singleton"
)

// SplitBrainSettings are the cluster.split_brain.* keys: how a node decides
// which side of a split serves (package splitbrain).
type SplitBrainSettings struct {
	Strategy    SplitBrainStrategy // cluster.split_brain.strategy
	StableAfter time.Duration      // cluster.split_brain.stable_after
	QuorumSize  int                // cluster.split_brain.quorum_size: 0 means unset
	DownIfAlone bool               // cluster.split_brain.down_if_alone
	// DownAllWhenUnstable is cluster.split_brain.down_all_when_unstable:
	// 0 means on (3/4 of StableAfter), a negative value off.
	DownAllWhenUnstable time.Duration
}

// SplitBrainStrategy is the value of cluster.split_brain.strategy: the
// names of package splitbrain's strategies.
type SplitBrainStrategy string

// The split-brain strategies.
const (
	SplitBrainAutoheal     SplitBrainStrategy = "autoheal"
	SplitBrainKeepMajority SplitBrainStrategy = "keep-majority"
	SplitBrainKeepOldest   SplitBrainStrategy = "keep-oldest"
	SplitBrainStaticQuorum SplitBrainStrategy = "static-quorum"
	SplitBrainDownAll      SplitBrainStrategy = "down-all"
)

// SplitBrainStrategies lists the values of cluster.split_brain.strategy,
// the default first.
var SplitBrainStrategies = []SplitBrainStrategy{SplitBrainAutoheal, SplitBrainKeepMajority, SplitBrainKeepOldest, SplitBrainStaticQuorum, SplitBrainDownAll}

// StaticSettings are the cluster.static.* keys.
type StaticSettings struct {
	Seeds []portmap.Name // cluster.static.seeds
}

// McastSettings are the cluster.mcast.* keys.
type McastSettings struct {
	Addr   netip.Addr    // cluster.mcast.addr: an IPv4 multicast group
	Ports  []int         // cluster.mcast.ports
	Iface  netip.Addr    // cluster.mcast.iface: IPv4 address of the interface
	TTL    int           // cluster.mcast.ttl
	Loop   bool          // cluster.mcast.loop
	SndBuf int64         // cluster.mcast.sndbuf: bytes; 0 means the system's default
	RecBuf int64         // cluster.mcast.recbuf: bytes; 0 means the system's default
	Window time.Duration // cluster.mcast.window: how long discovery collects answers
}

// DNSSettings are the cluster.dns.* keys.
type DNSSettings struct {
	Name   string  // cluster.dns.name: the DNS name to look up
	App    string  // cluster.dns.app: the short name of discovered nodes (app@address)
	Type   DNSType // cluster.dns.type
	Server string  // cluster.dns.server: host:port of the DNS server; "" means the system resolver
}

// DNSType is the value of cluster.dns.type.
type DNSType string

// The DNS record types.
const (
	DNSTypeA    DNSType = "a"
	DNSTypeAAAA DNSType = "aaaa"
	DNSTypeSRV  DNSType = "srv"
)

// EtcdSettings are the cluster.etcd.* keys.
type EtcdSettings struct {
	Servers []string      // cluster.etcd.server: http(s) URLs
	Prefix  string        // cluster.etcd.prefix
	NodeTTL time.Duration // cluster.etcd.node_ttl: whole seconds
	SSL     EtcdSSL       // cluster.etcd.ssl.*
}

// EtcdSSL are the cluster.etcd.ssl.* keys. All empty means no client TLS.
type EtcdSSL struct {
	KeyFile    string // cluster.etcd.ssl.keyfile
	CertFile   string // cluster.etcd.ssl.certfile
	CACertFile string // cluster.etcd.ssl.cacertfile
}

// K8sSettings are the cluster.k8s.* keys.
type K8sSettings struct {
	APIServer   string         // cluster.k8s.apiserver: http(s) URL
	ServiceName string         // cluster.k8s.service_name
	AddressType K8sAddressType // cluster.k8s.address_type
	AppName     string         // cluster.k8s.app_name: the short name of discovered nodes
	Suffix      string         // cluster.k8s.suffix
	Namespace   string         // cluster.k8s.namespace: "" means the namespace file's, else "default"
	// cluster.k8s.token_file, cacert_file, namespace_file: the
	// service-account files; "" means none.
	TokenFile          string
	CACertFile         string
	NamespaceFile      string
	InsecureSkipVerify bool // cluster.k8s.insecure_skip_verify
}

// K8sAddressType is the value of cluster.k8s.address_type.
type K8sAddressType string

// The Kubernetes address types.
const (
	K8sAddressIP       K8sAddressType = "ip"
	K8sAddressDNS      K8sAddressType = "dns"
	K8sAddressHostname K8sAddressType = "hostname"
)

// Defaults returns the settings used for every key that is not configured.
// Each call returns fresh slices.
func Defaults() Settings {
	return Settings{
		Node: NodeSettings{
			Name:              portmap.Name{Short: "ekka", Host: "127.0.0.1"},
			BasePort:          portmap.DefaultBasePort,
			TLS:               TLSSettings{Verify: VerifyPeer},
			HeartbeatInterval: time.Second,
			HeartbeatTimeout:  5 * time.Second,
			Compression:       CompressionAuto,
			Hooks:             HookSettings{Timeout: 5 * time.Second},
			Limits: LimitSettings{
				MaxMessage:             maxMessage,
				LaneBudget:             4 * mib,
				StallTimeout:           30 * time.Second,
				MinDrainRate:           256 * kib,
				ReassemblyPerLink:      maxMessage,     // one message at the limit
				ReassemblyPerNode:      2 * maxMessage, // two
				ChunkTimeout:           30 * time.Second,
				ServingCalls:           1024,
				ServingBytes:           64 * mib,
				CastQueue:              4096,
				CastQueueBytes:         64 * mib,
				Handshakes:             2048,
				HandshakesPerAddr:      1024,
				ListenerConns:          0, // auto
				IncompleteLinksPerPeer: 4,
				FirstByteTimeout:       2 * time.Second,
				RefusalLogInterval:     10 * time.Second,
			},
			Admin: AdminSettings{ReadyMinMembers: 1},
		},
		Log: LogSettings{Level: LogInfo, Format: LogText},
		Cluster: ClusterSettings{
			Name:                "ekka",
			Discovery:           DiscoveryManual,
			Autoheal:            15 * time.Second,
			Autoclean:           5 * time.Minute,
			AutoclusterInterval: 5 * time.Second,
			MaxMembers:          1024,
			LearnRate:           100,
			LearnBurst:          1024,
			ForgetUnreached:     30 * time.Second,
			RedialRate:          200,
			SplitBrain: SplitBrainSettings{
				Strategy:    SplitBrainAutoheal,
				StableAfter: 10 * time.Second,
				DownIfAlone: true,
			},
			Mcast: McastSettings{
				Addr:   netip.AddrFrom4([4]byte{239, 192, 0, 1}),
				Ports:  []int{4369},
				Iface:  netip.IPv4Unspecified(),
				TTL:    255,
				Loop:   true,
				Window: 3 * time.Second,
			},
			DNS:  DNSSettings{Type: DNSTypeA},
			Etcd: EtcdSettings{Prefix: "ekkacl", NodeTTL: time.Minute},
			K8s: K8sSettings{
				AddressType:   K8sAddressIP,
				Suffix:        "svc.cluster.local",
				TokenFile:     "/var/run/secrets/kubernetes.io/serviceaccount/token",
				CACertFile:    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
				NamespaceFile: "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
			},
		},
	}
}

// maxMessage is the largest message body a node accepts (node.limits.max_message's
// default and maximum): package conn's DefaultMaxMessage, which the protocol
// allows at most. The ekka-mesh command's tests check the two agree.
const maxMessage = 256 * mib
