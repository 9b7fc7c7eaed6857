package config

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ekka-mesh/ekka-mesh/internal/suggest"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// KeyInfo describes one configuration key, for documentation and help.
type KeyInfo struct {
	Key         string // such as "node.name"
	Type        string // such as "duration" or "one of manual, static, ..."
	Default     string // the default, written as it would be in a file
	Description string
	// Family is set when Key names a family of keys, such as
	// node.tags.KEY: the word KEY stands for any name (node.tags.role).
	Family bool
}

// familyName is the word that stands for any name in a family's Key.
const familyName = "KEY"

// keyDef is one key: how to read it into Settings and write it back. A
// family (KeyInfo.Family) reads and writes one entry, named by the part of
// the key after the family's prefix, with setIn and getIn instead.
type keyDef struct {
	KeyInfo
	secret bool // hide the value in errors
	set    func(s *Settings, v string) error
	get    func(s *Settings) string
	setIn  func(s *Settings, name, v string) error
	getIn  func(s *Settings, name string) string
	keysIn func(s *Settings) []string // the family's keys s sets, sorted
}

// lookupKey finds key's definition: a key of the table, or one of a family
// with the name it gives (node.tags.role: node.tags.KEY and "role").
func lookupKey(key string) (k *keyDef, name string, ok bool) {
	if k, ok := keyIndex[key]; ok {
		return k, "", true
	}
	for i := range keyTable {
		k := &keyTable[i]
		if !k.Family {
			continue
		}
		if name, ok := strings.CutPrefix(key, strings.TrimSuffix(k.Key, familyName)); ok {
			return k, name, true
		}
	}
	return nil, "", false
}

// FamilyKeys returns the keys of the family family (such as
// "node.tags.KEY") that s sets, such as node.tags.role, sorted; none for a
// key that is not a family's.
func (s *Settings) FamilyKeys(family string) []string {
	k, ok := lookupFamily(family)
	if !ok {
		return nil
	}
	return k.keysIn(s)
}

// lookupFamily finds the family whose Key is family.
func lookupFamily(family string) (*keyDef, bool) {
	for i := range keyTable {
		if keyTable[i].Family && keyTable[i].Key == family {
			return &keyTable[i], true
		}
	}
	return nil, false
}

// mapFamily is a family whose entries are the entries of a map of Settings:
// a name is a word without blanks or control characters, a value is text.
// Setting an entry copies the map, so settings copied before do not change.
func mapFamily(key, desc string, ptr func(*Settings) *map[string]string) keyDef {
	return keyDef{
		KeyInfo: KeyInfo{Key: key, Type: "string, one key per name", Description: desc, Family: true},
		setIn: func(s *Settings, name, v string) error {
			if _, err := parseToken(name); err != nil {
				return fmt.Errorf("the name after %s: %w", strings.TrimSuffix(key, familyName), err)
			}
			v, err := parseText(v)
			if err != nil {
				return err
			}
			m := maps.Clone(*ptr(s))
			if m == nil {
				m = make(map[string]string)
			}
			m[name] = v
			*ptr(s) = m
			return nil
		},
		getIn: func(s *Settings, name string) string { return (*ptr(s))[name] },
		keysIn: func(s *Settings) []string {
			prefix := strings.TrimSuffix(key, familyName)
			keys := make([]string, 0, len(*ptr(s)))
			for _, name := range slices.Sorted(maps.Keys(*ptr(s))) {
				keys = append(keys, prefix+name)
			}
			return keys
		},
	}
}

// field builds the set/get pair for one field of Settings.
func field[T any](key, typ, desc string, ptr func(*Settings) *T, parse func(string) (T, error), format func(T) string) keyDef {
	return keyDef{
		KeyInfo: KeyInfo{Key: key, Type: typ, Description: desc},
		set: func(s *Settings, v string) error {
			x, err := parse(v)
			if err != nil {
				return err
			}
			*ptr(s) = x
			return nil
		},
		get: func(s *Settings) string { return format(*ptr(s)) },
	}
}

func str[T ~string](v T) string { return string(v) }

// strategyNames are the values of cluster.split_brain.strategy.
func strategyNames() []string {
	names := make([]string, len(SplitBrainStrategies))
	for i, st := range SplitBrainStrategies {
		names[i] = string(st)
	}
	return names
}

func durationField(key, desc string, ptr func(*Settings) *time.Duration, parse func(string) (time.Duration, error)) keyDef {
	return field(key, "duration", desc, ptr, parse, formatDuration)
}

// sizeField is a byte size in lo..hi (see parseSize).
func sizeField(key string, lo, hi int64, desc string, ptr func(*Settings) *int64) keyDef {
	typ := fmt.Sprintf("size (%s to %s; KB, MB, GB are 1024-based, a bare number is bytes)", formatSize(lo), formatSize(hi))
	return field(key, typ, desc, ptr, parseSize(lo, hi), formatSize)
}

// countField is a whole number in lo..hi.
func countField(key string, lo, hi int, desc string, ptr func(*Settings) *int) keyDef {
	return field(key, fmt.Sprintf("whole number (%d-%d)", lo, hi), desc, ptr, parseCount(lo, hi), strconv.Itoa)
}

// Upper bounds of the limit keys: high enough for any real node, low
// enough that no sum or conversion of them overflows (a count fits an int32,
// a size held by an int in package mesh fits 1GB).
const (
	maxCount   = 1<<31 - 1
	maxSize    = 1024 * gib // sizes held by an int64 in package mesh
	maxMembers = 65535      // a member table's count is 16 bits (wire.MaxMembers)
	minRate    = 0.001      // per second: one every 1000 seconds
	maxRate    = 1e6        // per second: a token bucket faster than that bounds nothing
)

func boolField(key, desc string, ptr func(*Settings) *bool) keyDef {
	return field(key, "bool (on/off/true/false)", desc, ptr, parseBool, formatBool)
}

func textField(key, desc string, ptr func(*Settings) *string) keyDef {
	return field(key, "string", desc, ptr, parseText, str[string])
}

// keyTable lists every key in documentation order.
var keyTable = []keyDef{
	field("node.name", "node name (short@host)",
		"This node's name. The digits at the end of the short name pick the port (base_port + digits mod 60000); an IP host is also the listen and source address.",
		func(s *Settings) *portmap.Name { return &s.Node.Name }, parseNodeName, portmap.Name.String),
	func() keyDef {
		k := textField("node.cookie",
			"The shared secret every node of the cluster must hold. Empty: read ~/.ekka-mesh.cookie, creating it if missing.",
			func(s *Settings) *string { return &s.Node.Cookie })
		k.secret = true
		return k
	}(),
	func() keyDef {
		k := field("node.cookie_previous", "comma-separated cookies (at most 8)",
			"Cookies the node still accepts, and tries after node.cookie when a node refuses it, so that a cluster changes its cookie one node at a time without a restart (SIGHUP reloads this key and node.cookie). ekka-mesh ctl and multicast discovery use it too. Empty: none.",
			func(s *Settings) *[]string { return &s.Node.CookiePrevious }, parseCookieList, func(v []string) string { return strings.Join(v, ",") })
		k.secret = true
		return k
	}(),
	field("node.base_port", "port (1-65535)",
		"The base of the name-to-port rule. Every node of a cluster must use the same base port.",
		func(s *Settings) *int { return &s.Node.BasePort }, parsePort, strconv.Itoa),
	field("node.bind", "IP address or empty",
		"The address to listen on when node.name has a hostname. Empty: all interfaces.",
		func(s *Settings) *netip.Addr { return &s.Node.Bind }, parseOptionalIP, formatAddr),
	mapFamily("node.tags.KEY",
		"A tag of this node, KEY = value (node.tags.role = db, node.tags.zone = eu-1): every member sees the node's tags (ctl status, ctl members), and ctl call --tags role=db calls the nodes that carry them. At most 32 tags; KEY is 1 to 64 bytes of A-Z a-z 0-9 _ . -, a value at most 256 bytes of printable ASCII without spaces or commas. Change them at run time with ctl tags, or in the file and SIGHUP. In the environment, EKKA_MESH_NODE__TAGS__ROLE sets node.tags.role (the name in lower case). Empty: none.",
		func(s *Settings) *map[string]string { return &s.Node.Tags }),
	boolField("node.tls.enable", "Use TLS between nodes (the cookie is still checked).",
		func(s *Settings) *bool { return &s.Node.TLS.Enable }),
	textField("node.tls.certfile", "PEM certificate of this node. Required when node.tls.enable is on.",
		func(s *Settings) *string { return &s.Node.TLS.CertFile }),
	textField("node.tls.keyfile", "PEM private key of this node. Required when node.tls.enable is on.",
		func(s *Settings) *string { return &s.Node.TLS.KeyFile }),
	textField("node.tls.cacertfile", "PEM CA certificates that peers' certificates must chain to. Empty: the system roots.",
		func(s *Settings) *string { return &s.Node.TLS.CACertFile }),
	field("node.tls.verify", "one of verify_peer, verify_none",
		"verify_peer checks the peer's certificate; verify_none accepts any.",
		func(s *Settings) *TLSVerify { return &s.Node.TLS.Verify }, parseEnum(VerifyPeer, VerifyNone), str[TLSVerify]),
	boolField("node.tls.fail_if_no_peer_cert", "Refuse peers that present no certificate (mutual TLS). Off, as in Erlang, by default.",
		func(s *Settings) *bool { return &s.Node.TLS.FailIfNoPeerCert }),
	durationField("node.heartbeat_interval", "The heartbeat's beat, aligned to the wall clock. One end of each link pings, the other answers; an idle link carries one ping and pong every one or two beats.",
		func(s *Settings) *time.Duration { return &s.Node.HeartbeatInterval }, parsePositiveDuration),
	durationField("node.heartbeat_timeout", "Silence after which a peer is marked down. Must exceed node.heartbeat_interval.",
		func(s *Settings) *time.Duration { return &s.Node.HeartbeatTimeout }, parsePositiveDuration),
	field("node.compression", "one of auto, off, on",
		"When to compress what the node sends (S2). auto: only where it pays, on a link slower than the compressor, for payloads that shrink; never slower than off. on: every payload of 4 KiB or more that shrinks (costs throughput on loopback and fast LANs). off: never.",
		func(s *Settings) *Compression { return &s.Node.Compression }, parseEnum(CompressionAuto, CompressionOff, CompressionOn), str[Compression]),
	textField("node.hooks.start", "A command run (with /bin/sh -c) once the node is up, before autocluster begins; a failure (an exit status other than 0, or node.hooks.timeout passing) stops the node. It gets EKKA_MESH_NODE (this node), EKKA_MESH_EVENT (start, stop, join, leave, prepare, reboot, down, up) and EKKA_MESH_REASON, and, for join, EKKA_MESH_PEER (the nodes about to be linked, comma-separated). Empty: none.",
		func(s *Settings) *string { return &s.Node.Hooks.Start }),
	textField("node.hooks.stop", "A command run first thing when the node stops (SIGTERM), its links still up; a failure is logged and makes the exit status 1, and the node stops all the same. It also ends with the 10 s bound of a stop. Empty: none.",
		func(s *Settings) *string { return &s.Node.Hooks.Stop }),
	textField("node.hooks.join", "A command run before the node joins a cluster (ctl join, or an autocluster pass that links a lone node); a failure aborts that join. Empty: none.",
		func(s *Settings) *string { return &s.Node.Hooks.Join }),
	textField("node.hooks.leave", "A command run when the node leaves its cluster (ctl leave), before it tells its members; a failure is reported and the node leaves all the same. Empty: none.",
		func(s *Settings) *string { return &s.Node.Hooks.Leave }),
	textField("node.hooks.prepare", "A command run on a node that autoheal makes give way (cluster.autoheal), before it drops its links; a failure stops that heal, which the leader retries. Empty: none.",
		func(s *Settings) *string { return &s.Node.Hooks.Prepare }),
	textField("node.hooks.reboot", "A command run on that node once it has rejoined, or once its rejoin failed (it serves again where it is; EKKA_MESH_REASON says so): every prepare is followed by a reboot. A failure is logged and reported to the coordinator. Empty: none.",
		func(s *Settings) *string { return &s.Node.Hooks.Reboot }),
	textField("node.hooks.down", "A command run on a node whose side lost a split-brain decision (cluster.split_brain.strategy other than autoheal), after the node stopped serving calls (it stays suspended whatever the command does); EKKA_MESH_REASON is the decision's reason. A failure is logged. Empty: none.",
		func(s *Settings) *string { return &s.Node.Hooks.Down }),
	textField("node.hooks.up", "A command run on that node once its side serves again, before it serves calls again; a failure keeps it suspended, and it runs again after cluster.split_brain.stable_after. Empty: none.",
		func(s *Settings) *string { return &s.Node.Hooks.Up }),
	durationField("node.hooks.timeout", "How long a node.hooks.* command may run; past it the command and its process group are killed and the hook fails.",
		func(s *Settings) *time.Duration { return &s.Node.Hooks.Timeout }, parsePositiveDuration),
	sizeField("node.limits.max_message", 1, maxMessage,
		"The largest message (call, reply or cast) the node sends or accepts, after reassembly and decompression; at most 256MB, the protocol's limit. Set the same on every node. A larger call or cast is refused to the caller and a larger reply becomes an error reply, with the link kept up; a peer that sends one is disconnected.",
		func(s *Settings) *int64 { return &s.Node.Limits.MaxMessage }),
	sizeField("node.limits.lane_budget", 1, gib,
		"How many bytes of outgoing frames may queue on one lane of a link. Past it senders wait, so a peer that does not read its replies holds its calls' slots (node.limits.serving_calls) and the node stops reading its requests.",
		func(s *Settings) *int64 { return &s.Node.Limits.LaneBudget }),
	durationField("node.limits.stall_timeout", "How long a lane may stay backed up while draining slower than node.limits.min_drain_rate, and the deadline of one socket write. Past it the link is closed with a logged reason (the peer, the lane, the bytes queued); the peer is marked down and redialed.",
		func(s *Settings) *time.Duration { return &s.Node.Limits.StallTimeout }, parsePositiveDuration),
	sizeField("node.limits.min_drain_rate", 1, gib,
		"The bytes per second a backed-up lane must drain over each node.limits.stall_timeout, or the link is closed (so a peer reading a trickle cannot hold memory forever).",
		func(s *Settings) *int64 { return &s.Node.Limits.MinDrainRate }),
	sizeField("node.limits.reassembly_per_link", 1, maxSize,
		"The bytes one link may hold of chunked messages being reassembled and bodies being decompressed; at least node.limits.max_message. A peer that would exceed it is disconnected with a logged reason.",
		func(s *Settings) *int64 { return &s.Node.Limits.ReassemblyPerLink }),
	sizeField("node.limits.reassembly_per_node", 1, maxSize,
		"The same bytes over all links of the node together; at least node.limits.reassembly_per_link. The link that would exceed it is disconnected with a logged reason.",
		func(s *Settings) *int64 { return &s.Node.Limits.ReassemblyPerNode }),
	durationField("node.limits.chunk_timeout", "How long a chunked message may wait for its next chunk. Past it the link is closed with a logged reason and what the message held is freed.",
		func(s *Settings) *time.Duration { return &s.Node.Limits.ChunkTimeout }, parsePositiveDuration),
	countField("node.limits.serving_calls", 1, maxCount,
		"How many calls of one peer are served at once. At the limit the node reads nothing more from that peer until a call finishes (TCP pushes back on the peer).",
		func(s *Settings) *int { return &s.Node.Limits.ServingCalls }),
	sizeField("node.limits.serving_bytes", 1, maxSize,
		"The bytes the calls of one peer being served may hold: their payloads, and their replies until sent. Past it the node stops reading that peer as at node.limits.serving_calls; one call is always admitted when none is served.",
		func(s *Settings) *int64 { return &s.Node.Limits.ServingBytes }),
	countField("node.limits.cast_queue", 1, maxCount,
		"How many casts of one peer may wait for their handler. Past it the node stops reading that peer until there is room.",
		func(s *Settings) *int { return &s.Node.Limits.CastQueue }),
	sizeField("node.limits.cast_queue_bytes", 1, maxSize,
		"The payload bytes of those casts, the batch being handled included. Past it the node stops reading that peer; one cast is always queued when none is.",
		func(s *Settings) *int64 { return &s.Node.Limits.CastQueueBytes }),
	countField("node.limits.handshakes", 1, maxCount,
		"How many connections may be in their handshake at once. A newcomer is always let in: past the limit the oldest silent (then the oldest slow) handshake is closed, so idle connections cannot lock peers and ctl out.",
		func(s *Settings) *int { return &s.Node.Limits.Handshakes }),
	countField("node.limits.handshakes_per_addr", 1, maxCount,
		"How many handshakes one IP address may have at once; past it that address's oldest handshake is closed.",
		func(s *Settings) *int { return &s.Node.Limits.HandshakesPerAddr }),
	field("node.limits.listener_conns", fmt.Sprintf("auto or whole number (1-%d)", maxCount),
		"How many connections the listener may hold before they become links (handshakes and incomplete links), so a flood cannot use up the process's file descriptors; past it the oldest is closed. auto: a quarter of the descriptor limit (ulimit -n), within 64 to 16384.",
		func(s *Settings) *int { return &s.Node.Limits.ListenerConns }, parseAutoCount(1, maxCount), formatAutoCount),
	countField("node.limits.incomplete_links_per_peer", 1, maxCount,
		"How many links one peer name may have begun but not completed; past it the oldest is dropped.",
		func(s *Settings) *int { return &s.Node.Limits.IncompleteLinksPerPeer }),
	durationField("node.limits.first_byte_timeout", "A connection that has sent nothing this long after it was accepted is closed (a real peer speaks at once).",
		func(s *Settings) *time.Duration { return &s.Node.Limits.FirstByteTimeout }, parsePositiveDuration),
	durationField("node.limits.refusal_log_interval", "The most often refused connections are logged: the first refusal after a quiet interval at once, then one line per interval counting refusals by reason.",
		func(s *Settings) *time.Duration { return &s.Node.Limits.RefusalLogInterval }, parsePositiveDuration),
	field("node.admin.listen", "host:port or empty",
		"The HTTP admin endpoint: /metrics (Prometheus), /healthz, /readyz, /status and the live status page /. Empty: off. It is unauthenticated: bind it to loopback or a private network, or set node.admin.tls.*.",
		func(s *Settings) *string { return &s.Node.Admin.Listen }, parseHostPort, str[string]),
	countField("node.admin.ready_min_members", 1, maxMembers,
		"/readyz answers 200 once at least this many members (this node included) are up, the node is not joining, no partition is recorded and it is not suspended (cluster.split_brain.strategy).",
		func(s *Settings) *int { return &s.Node.Admin.ReadyMinMembers }),
	boolField("node.admin.pprof", "Serve Go's profiler under /debug/pprof/ on the admin endpoint.",
		func(s *Settings) *bool { return &s.Node.Admin.Pprof }),
	textField("node.admin.tls.certfile", "PEM certificate of the admin endpoint. Set with node.admin.tls.keyfile to serve HTTPS.",
		func(s *Settings) *string { return &s.Node.Admin.TLS.CertFile }),
	textField("node.admin.tls.keyfile", "PEM private key of the admin endpoint. Set with node.admin.tls.certfile.",
		func(s *Settings) *string { return &s.Node.Admin.TLS.KeyFile }),
	textField("node.admin.tls.cacertfile", "PEM CA certificates: when set, an admin client must present a certificate that chains to them (mutual TLS).",
		func(s *Settings) *string { return &s.Node.Admin.TLS.CACertFile }),
	field("cluster.name", "name (1-64 of A-Z a-z 0-9 _ . -)",
		"The cluster's name. Nodes of different clusters refuse each other.",
		func(s *Settings) *string { return &s.Cluster.Name }, parseClusterName, str[string]),
	field("cluster.discovery", "one of manual, static, mcast, dns, etcd, k8s, singleton",
		"How the node finds the others. manual: only by ekka-mesh ctl join. singleton: never; the node stays out of every cluster (ctl join on it, or of it by another node, fails saying so).",
		func(s *Settings) *Discovery { return &s.Cluster.Discovery },
		parseEnum(DiscoveryManual, DiscoveryStatic, DiscoveryMcast, DiscoveryDNS, DiscoveryEtcd, DiscoveryK8s, DiscoverySingleton), str[Discovery]),
	field("cluster.autoheal", "on, off or duration",
		"Heal network partitions automatically, after reports have been quiet this long. on means 15s.",
		func(s *Settings) *time.Duration { return &s.Cluster.Autoheal }, parseOffDuration(15*time.Second), formatOffDuration),
	field("cluster.split_brain.strategy", "one of "+strings.Join(strategyNames(), ", "),
		"Which side of a split (members that cannot reach each other) serves. autoheal: both sides serve, and cluster.autoheal heals the partitions once the network is whole. keep-majority: the side with more than half of the members, on a tie the side of the oldest member. keep-oldest: the side of the oldest member (see cluster.split_brain.down_if_alone). static-quorum: a side of at least cluster.split_brain.quorum_size members. down-all: no side. A node on a losing side stops serving calls (they fail with the suspended error; its locks are given up; ctl status shows why) until the split is over, and runs node.hooks.down and node.hooks.up. Every node of a cluster must use the same strategy.",
		func(s *Settings) *SplitBrainStrategy { return &s.Cluster.SplitBrain.Strategy }, parseEnum(SplitBrainStrategies...), str[SplitBrainStrategy]),
	durationField("cluster.split_brain.stable_after", "How long who reaches whom must hold still before a node acts on the strategy's decision; a split shorter than that is not decided, and both sides serve through it. The same on every node.",
		func(s *Settings) *time.Duration { return &s.Cluster.SplitBrain.StableAfter }, parsePositiveDuration),
	countField("cluster.split_brain.quorum_size", 0, maxMembers,
		"For static-quorum (required with it, at least 1): the least number of members a side needs to serve. With more than 2*quorum_size-1 members no side serves at a split, so grow it with the cluster. 0: not set.",
		func(s *Settings) *int { return &s.Cluster.SplitBrain.QuorumSize }),
	boolField("cluster.split_brain.down_if_alone", "For keep-oldest: the oldest member, alone on its side, gives way to a side of two or more, so that one cut-off node cannot stop the rest. off: the oldest member's side serves even when it is alone.",
		func(s *Settings) *bool { return &s.Cluster.SplitBrain.DownIfAlone }),
	field("cluster.split_brain.down_all_when_unstable", "on, off or duration",
		"When who reaches whom keeps changing with a split (a flapping link) for stable_after plus this long, every node in it stops serving, whatever the strategy. on: 3/4 of stable_after. off: never.",
		func(s *Settings) *time.Duration { return &s.Cluster.SplitBrain.DownAllWhenUnstable }, parseOnOffDuration, formatOnOffDuration),
	field("cluster.autoclean", "off or duration",
		"Remove members that have been down longer than this.",
		func(s *Settings) *time.Duration { return &s.Cluster.Autoclean }, parseOffDuration(0), formatOffDuration),
	durationField("cluster.autocluster.interval", "How often autocluster retries discovery until the node is clustered.",
		func(s *Settings) *time.Duration { return &s.Cluster.AutoclusterInterval }, parsePositiveDuration),
	countField("cluster.max_members", 2, maxMembers,
		"The most members the node knows, itself included (at most 65535, what a member table can carry). When full, members announced by peers are dropped (a rate-limited warning counts them), and a node that links to this one replaces a member learned second-hand and never reached, or is refused.",
		func(s *Settings) *int { return &s.Cluster.MaxMembers }),
	field("cluster.learn_rate", fmt.Sprintf("members per second (%s-%s)", formatRate(minRate), formatRate(maxRate)),
		"How many new members per second the node learns from its peers' member tables and join announcements, in bursts of up to cluster.learn_burst. Members beyond it are dropped with a rate-limited warning, and learned from a later table or when they link to this node.",
		func(s *Settings) *float64 { return &s.Cluster.LearnRate }, parseRate("members", minRate, maxRate), formatRate),
	countField("cluster.learn_burst", 1, maxCount,
		"The most new members one message or one burst teaches the node (the default lets a node joining a full cluster learn every member from one table).",
		func(s *Settings) *int { return &s.Cluster.LearnBurst }),
	field("cluster.forget_unreached", "off or duration",
		"A member learned from a peer that this node has never reached is removed (logged, with a node-leaving event) once it was learned this long ago, instead of being redialed until cluster.autoclean. A real member is learned again from the next table. off: only cluster.autoclean removes it.",
		func(s *Settings) *time.Duration { return &s.Cluster.ForgetUnreached }, parseOffDuration(0), formatOffDuration),
	field("cluster.redial_rate", fmt.Sprintf("dials per second (%s-%s)", formatRate(minRate), formatRate(maxRate)),
		"How many redials of down members the node starts per second. Members it has reached before go first, so announced members that do not exist can neither flood the node with dials nor delay a real member's redial.",
		func(s *Settings) *float64 { return &s.Cluster.RedialRate }, parseRate("dials", minRate, maxRate), formatRate),
	field("cluster.static.seeds", "comma-separated node names",
		"The seed nodes for static discovery, such as emqx1@10.0.0.1,emqx2@10.0.0.2.",
		func(s *Settings) *[]portmap.Name { return &s.Cluster.Static.Seeds }, parseSeeds, formatSeeds),
	field("cluster.mcast.addr", "IPv4 multicast address",
		"The multicast group nodes announce themselves on.",
		func(s *Settings) *netip.Addr { return &s.Cluster.Mcast.Addr }, parseMulticast, formatAddr),
	field("cluster.mcast.ports", "comma-separated ports",
		"The UDP ports of the multicast group.",
		func(s *Settings) *[]int { return &s.Cluster.Mcast.Ports }, parsePorts, formatInts),
	field("cluster.mcast.iface", "IPv4 address",
		"The address of the interface to send and receive multicast on. 0.0.0.0: the system's choice.",
		func(s *Settings) *netip.Addr { return &s.Cluster.Mcast.Iface }, parseIPv4, formatAddr),
	field("cluster.mcast.ttl", "integer (0-255)",
		"The multicast time-to-live: how many routers an announcement may cross.",
		func(s *Settings) *int { return &s.Cluster.Mcast.TTL }, parseIntRange(0, 255), strconv.Itoa),
	boolField("cluster.mcast.loop", "Deliver multicast to this host too (needed for several nodes on one host).",
		func(s *Settings) *bool { return &s.Cluster.Mcast.Loop }),
	field("cluster.mcast.sndbuf", "system or size (1KB to 64MB)",
		"The kernel send buffer (SO_SNDBUF) of the multicast sockets. system: the system's default. ekka's schema had the key (default 16KB) but never applied it, so system is what an ekka node used; the kernel may double or cap the size (Linux: net.core.wmem_max).",
		func(s *Settings) *int64 { return &s.Cluster.Mcast.SndBuf }, parseSystemSize(kib, 64*mib), formatSystemSize),
	field("cluster.mcast.recbuf", "system or size (1KB to 64MB)",
		"The kernel receive buffer (SO_RCVBUF) of the multicast sockets. system: the system's default (what an ekka node used: ekka never applied its 16KB). Raise it when many nodes answer an announcement at once; the kernel may double or cap the size (Linux: net.core.rmem_max).",
		func(s *Settings) *int64 { return &s.Cluster.Mcast.RecBuf }, parseSystemSize(kib, 64*mib), formatSystemSize),
	durationField("cluster.mcast.window", "How long discovery collects the answers to an announcement.",
		func(s *Settings) *time.Duration { return &s.Cluster.Mcast.Window }, parsePositiveDuration),
	field("cluster.dns.name", "DNS name",
		"The name whose records list the nodes, such as emqx.example.com or, for srv, _emqx._tcp.example.com; a trailing dot skips the search domains. Required for dns discovery.",
		func(s *Settings) *string { return &s.Cluster.DNS.Name }, parseOptionalDNSName, str[string]),
	field("cluster.dns.app", "short name",
		"The short name of the discovered nodes: an address a becomes app@a. Empty: this node's short name.",
		func(s *Settings) *string { return &s.Cluster.DNS.App }, parseShortName, str[string]),
	field("cluster.dns.type", "one of a, aaaa, srv",
		"The record type to look up.",
		func(s *Settings) *DNSType { return &s.Cluster.DNS.Type }, parseEnum(DNSTypeA, DNSTypeAAAA, DNSTypeSRV), str[DNSType]),
	field("cluster.dns.server", "host:port or empty",
		"The DNS server to ask. Empty: the system resolver.",
		func(s *Settings) *string { return &s.Cluster.DNS.Server }, parseHostPort, str[string]),
	field("cluster.etcd.server", "comma-separated URLs",
		"The etcd endpoints, such as http://10.0.0.1:2379,http://10.0.0.2:2379. Required for etcd discovery.",
		func(s *Settings) *[]string { return &s.Cluster.Etcd.Servers }, parseURLs, func(v []string) string { return strings.Join(v, ",") }),
	field("cluster.etcd.prefix", "word",
		"The key prefix under which nodes register (then the cluster name).",
		func(s *Settings) *string { return &s.Cluster.Etcd.Prefix }, parseToken, str[string]),
	durationField("cluster.etcd.node_ttl", "The lease of a node's registration; it is kept alive while the node runs. Whole seconds.",
		func(s *Settings) *time.Duration { return &s.Cluster.Etcd.NodeTTL }, parseNodeTTL),
	textField("cluster.etcd.ssl.keyfile", "PEM client key for etcd. Set together with certfile.",
		func(s *Settings) *string { return &s.Cluster.Etcd.SSL.KeyFile }),
	textField("cluster.etcd.ssl.certfile", "PEM client certificate for etcd. Set together with keyfile.",
		func(s *Settings) *string { return &s.Cluster.Etcd.SSL.CertFile }),
	textField("cluster.etcd.ssl.cacertfile", "PEM CA certificates for etcd's server certificate.",
		func(s *Settings) *string { return &s.Cluster.Etcd.SSL.CACertFile }),
	field("cluster.k8s.apiserver", "URL",
		"The Kubernetes API server, such as https://kubernetes.default.svc:443. Required for k8s discovery.",
		func(s *Settings) *string { return &s.Cluster.K8s.APIServer }, parseOptionalURL, str[string]),
	field("cluster.k8s.service_name", "DNS label",
		"The service whose endpoints are the nodes. Required for k8s discovery.",
		func(s *Settings) *string { return &s.Cluster.K8s.ServiceName }, parseOptionalDNSLabel, str[string]),
	field("cluster.k8s.address_type", "one of ip, dns, hostname",
		"How a discovered node's host is written: its pod IP, its dashed-IP DNS name, or its hostname, with the suffix.",
		func(s *Settings) *K8sAddressType { return &s.Cluster.K8s.AddressType },
		parseEnum(K8sAddressIP, K8sAddressDNS, K8sAddressHostname), str[K8sAddressType]),
	field("cluster.k8s.app_name", "short name",
		"The short name of the discovered nodes. Required for k8s discovery.",
		func(s *Settings) *string { return &s.Cluster.K8s.AppName }, parseShortName, str[string]),
	field("cluster.k8s.suffix", "DNS name or empty",
		"Appended to dns and hostname addresses.",
		func(s *Settings) *string { return &s.Cluster.K8s.Suffix }, parseOptionalHostname, str[string]),
	field("cluster.k8s.namespace", "DNS label or empty",
		"The namespace of the service. Empty: the one in cluster.k8s.namespace_file (the pod's own), else default.",
		func(s *Settings) *string { return &s.Cluster.K8s.Namespace }, parseOptionalDNSLabel, str[string]),
	textField("cluster.k8s.token_file", "The service-account bearer token, read before each request. Empty, missing or empty file: no Authorization header (a missing file is logged).",
		func(s *Settings) *string { return &s.Cluster.K8s.TokenFile }),
	textField("cluster.k8s.cacert_file", "PEM CA certificates for the API server's certificate. Empty or missing file: the system roots.",
		func(s *Settings) *string { return &s.Cluster.K8s.CACertFile }),
	textField("cluster.k8s.namespace_file", "Holds the namespace used when cluster.k8s.namespace is empty. Empty: not read.",
		func(s *Settings) *string { return &s.Cluster.K8s.NamespaceFile }),
	boolField("cluster.k8s.insecure_skip_verify", "Accept any API server certificate. Only for testing.",
		func(s *Settings) *bool { return &s.Cluster.K8s.InsecureSkipVerify }),
	field("log.level", "one of debug, info, warn, error",
		"The least severe level logged. The --log-level flag overrides it.",
		func(s *Settings) *LogLevel { return &s.Log.Level }, parseEnum(LogDebug, LogInfo, LogWarn, LogError), str[LogLevel]),
	field("log.format", "one of text, json",
		"text: key=value lines; json: one JSON object per line, for log collectors. The --log-format flag overrides it.",
		func(s *Settings) *LogFormat { return &s.Log.Format }, parseEnum(LogText, LogJSON), str[LogFormat]),
}

// keyIndex maps a key to its definition.
var keyIndex = func() map[string]*keyDef {
	m := make(map[string]*keyDef, len(keyTable))
	for i := range keyTable {
		if !keyTable[i].Family { // found by lookupKey
			m[keyTable[i].Key] = &keyTable[i]
		}
	}
	return m
}()

// Keys describes every key, in documentation order.
func Keys() []KeyInfo {
	d := Defaults()
	infos := make([]KeyInfo, len(keyTable))
	for i, k := range keyTable {
		infos[i] = k.KeyInfo
		if !k.Family { // a family has no entry by default
			infos[i].Default = k.get(&d)
		}
	}
	return infos
}

// Set validates value for key and stores it. It does not check other keys
// (call Validate for that). Errors are *Error.
func (s *Settings) Set(key, value string) error {
	return s.set("", key, value)
}

// set is Set with the source of the value, for error messages.
func (s *Settings) set(where, key, value string) error {
	k, name, ok := lookupKey(key)
	if !ok {
		if instead, refused := refused(key); refused {
			return refusedKeyError(where, key, value, instead)
		}
		return unknownKey(where, key, displayValue(key, value))
	}
	if err := checkValueLen(where, key, value, ErrBadValue); err != nil {
		return err
	}
	set := k.set
	if k.Family {
		set = func(s *Settings, v string) error { return k.setIn(s, name, v) }
	}
	if err := set(s, value); err != nil {
		return &Error{Where: where, Key: key, Value: displayValue(key, value), Msg: err.Error(), Err: ErrBadValue, Cause: err}
	}
	return nil
}

// Get returns the value of key written as in a configuration file.
func (s *Settings) Get(key string) (string, error) {
	k, name, ok := lookupKey(key)
	if !ok {
		return "", unknownKey("", key, "")
	}
	if k.Family {
		return k.getIn(s, name), nil
	}
	return k.get(s), nil
}

func unknownKey(where, key, value string) *Error {
	msg := ""
	if hint := closestKey(key); hint != "" {
		msg = "did you mean " + hint + "?"
	} else {
		msg = "see the list of keys in the documentation of package config or ekka-mesh run --help"
	}
	return &Error{Where: where, Key: key, Value: value, Msg: msg, Err: ErrUnknownKey}
}

// closestKey returns the known key closest to key, or "" when none is close.
func closestKey(key string) string {
	lower := strings.ToLower(strings.ReplaceAll(key, "-", "_"))
	best, bestDist := "", 4 // accept at most 3 edits
	for _, k := range keyTable {
		if k.Key == lower || strings.HasSuffix(k.Key, "."+lower) {
			return k.Key
		}
		if d := suggest.Distance(lower, k.Key); d < bestDist {
			best, bestDist = k.Key, d
		}
	}
	return best
}

// displayValue returns value, or "(hidden)" when key holds a secret.
func displayValue(key, value string) string {
	if k, ok := keyIndex[key]; ok && k.secret {
		return "(hidden)"
	}
	if head, long := shorten(value); long {
		return fmt.Sprintf("%s... (%d bytes)", head, len(value))
	}
	return value
}

// A text longer than shortenOver bytes is shown in errors by its first
// shortenTo bytes and its length.
const (
	shortenOver = 512
	shortenTo   = 64
)

// shorten returns s, or its first shortenTo bytes (cut at a character
// boundary) and true when s is longer than shortenOver bytes.
func shorten(s string) (string, bool) {
	if len(s) <= shortenOver {
		return s, false
	}
	cut := shortenTo
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], true
}

// parseOptionalDNSName accepts "" or a DNS name to look up: the host name
// rules (checkHostname), except that labels may also hold '_', as SRV
// names do (_emqx._tcp.example.com), and one trailing dot may make the
// name absolute (no search domains).
func parseOptionalDNSName(v string) (string, error) {
	if name, rooted := strings.CutSuffix(v, "."); rooted && name != "" && !strings.HasSuffix(name, ".") {
		if _, err := parseOptionalDNSName(name); err != nil {
			return "", err
		}
		return v, nil
	}
	if !strings.Contains(v, "_") {
		return parseOptionalHostname(v)
	}
	if len(v) > 253 {
		return "", fmt.Errorf("DNS name is %d characters long; want at most 253", len(v))
	}
	for i, label := range strings.Split(v, ".") {
		switch {
		case label == "":
			return "", fmt.Errorf("DNS name %q has an empty label (label %d); want labels separated by single dots, no leading or trailing dot", v, i+1)
		case len(label) > 63:
			return "", fmt.Errorf("DNS name label %q is %d characters long; want at most 63", label, len(label))
		case label[0] == '-' || label[len(label)-1] == '-':
			return "", fmt.Errorf("DNS name label %q starts or ends with '-'", label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return "", fmt.Errorf("DNS name %q contains %q; want letters, digits, '-', '_' and '.', such as _emqx._tcp.example.com", v, r)
			}
		}
	}
	return v, nil
}
