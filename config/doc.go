// Package config reads the configuration of an ekka-mesh node: the
// cuttlefish-style keys of ekka and EMQX, written as "key = value" lines,
// into typed Settings.
//
// Load is the entry point: defaults, then a file, then environment
// variables, then overrides from the command line, then the checks between
// keys (Validate). ResolveCookie fills in the cookie from
// ~/.ekka-mesh.cookie when none is configured, creating the file on first
// use like Erlang's .erlang.cookie.
//
//	s, err := config.Load("/etc/ekka-mesh.conf", []string{"node.name=n1@10.0.0.1"}, os.Getenv)
//	if err != nil { ... }     // every error names file:line (or variable), key, value and what was expected
//	cookie, created, err := config.ResolveCookie(&s, os.Getenv("HOME"))
//
// # File syntax
//
// One "key = value" per line. Lines starting with '#' (by convention "##")
// are comments; blank lines are ignored; blanks around keys and values are
// ignored. A value may be written in double quotes to keep blanks; inside,
// \" is a quote and \\ a backslash. There are no comments after a value.
// A key may appear once: a second line for it is an error naming both lines
// (ErrDuplicateKey), since which one was meant cannot be guessed; no key
// repeats legitimately, lists take all their items on one line. Unknown
// keys are errors, with a suggestion when a known key is close ("did you
// mean cluster.static.seeds?").
//
// # Limits
//
// A line is at most MaxLineBytes (16 KiB), a key MaxKeyBytes (128), a value
// MaxValueBytes (4 KiB, from any source: file, environment, override), a
// file MaxFileBytes (1 MiB); node.name is at most 255 bytes. Beyond a limit
// the file, variable or override is refused with an error naming the file
// and line (or the variable), the key and the limit; a long value is shown
// by its start and its length only.
//
// # Value types
//
//   - bool: on, off, true or false (any case).
//   - duration: a number with a unit, or several (1m30s): ns, us, ms, s, m,
//     h, and cuttlefish's d (day) and w (week); decimals are fine (1.5s). A
//     bare number such as 30 is an error: it has no unit, and guessing
//     milliseconds or seconds would silently be wrong half the time.
//   - size: a whole number of bytes, or a whole number with the unit KB,
//     MB or GB (also written KiB, MiB, GiB; any case), 1024-based as in
//     cuttlefish and EMQX: 64MB is 67108864 bytes. No blank before the unit,
//     no decimals; a size is written back in the largest unit that divides
//     it exactly (1048576 reads back as 1MB, 1536KB stays 1536KB).
//   - lists: comma-separated, blanks around items ignored.
//
// # Environment
//
// Each key can be set with the variable EKKA_MESH_ followed by the key in
// upper case, each '.' written as "__" (keys contain '_' themselves):
// node.name is EKKA_MESH_NODE__NAME, cluster.static.seeds is
// EKKA_MESH_CLUSTER__STATIC__SEEDS. An empty variable counts as unset.
//
// # Keys
//
// The example file testdata/ekka-mesh.conf sets every key and explains it.
// Defaults are in parentheses.
//
//	node.name                     node name short@host (ekka@127.0.0.1); its trailing digits pick the port
//	node.cookie                   shared secret (empty: read or create ~/.ekka-mesh.cookie)
//	node.cookie_previous          comma-separated cookies still accepted during a rotation (none)
//	node.base_port                1-65535 (4370); the same on every node of a cluster
//	node.bind                     IP address to listen on for a hostname node name (empty: all)
//	node.tags.KEY                 a tag of this node, one key per tag: node.tags.role = db (none)
//	node.tls.enable               bool (off); needs certfile and keyfile
//	node.tls.certfile             PEM certificate
//	node.tls.keyfile              PEM private key
//	node.tls.cacertfile           PEM CA certificates (empty: system roots)
//	node.tls.verify               verify_peer | verify_none (verify_peer)
//	node.tls.fail_if_no_peer_cert bool (off)
//	node.heartbeat_interval       duration (1s)
//	node.heartbeat_timeout        duration (5s); must exceed the interval
//	node.compression              auto | off | on (auto: only where it pays, never slower than off)
//
// node.hooks.* are commands (/bin/sh -c) run at lifecycle events, with
// EKKA_MESH_NODE, EKKA_MESH_EVENT, EKKA_MESH_REASON and EKKA_MESH_PEER:
//
//	node.hooks.start              command (none): after the node is up; a failure stops it
//	node.hooks.stop               command (none): first thing in a stop
//	node.hooks.join               command (none): before a join; a failure aborts it
//	node.hooks.leave              command (none): before the node tells its members it leaves
//	node.hooks.prepare            command (none): autoheal, before the node gives way
//	node.hooks.reboot             command (none): autoheal, once the node rejoined
//	node.hooks.down               command (none): split brain, once the node's side lost and it stopped serving
//	node.hooks.up                 command (none): split brain, before it serves again; a failure keeps it down
//	node.hooks.timeout            duration (5s); past it the command is killed
//
// node.limits.* bound what one peer, or all peers together, can make the
// node hold, and how the listener admits connections (see SECURITY.md):
//
//	node.limits.max_message       size, 1 to 256MB (256MB); the same on every node; larger is refused locally
//	node.limits.lane_budget       size (4MB) of frames queued per lane; past it senders wait
//	node.limits.stall_timeout     duration (30s) a lane may drain slower than min_drain_rate; then the link closes
//	node.limits.min_drain_rate    size per second (256KB)
//	node.limits.reassembly_per_link size (256MB), at least max_message; past it the peer is disconnected
//	node.limits.reassembly_per_node size (512MB), at least reassembly_per_link; over all links
//	node.limits.chunk_timeout     duration (30s) a chunked message may wait for its next chunk
//	node.limits.serving_calls     whole number (1024) of one peer's calls served at once; then it is not read
//	node.limits.serving_bytes     size (64MB) those calls and their replies may hold
//	node.limits.cast_queue        whole number (4096) of one peer's casts queued; then it is not read
//	node.limits.cast_queue_bytes  size (64MB) those casts may hold
//	node.limits.handshakes        whole number (2048) in progress; past it the oldest idle one is closed
//	node.limits.handshakes_per_addr whole number (1024) from one IP address
//	node.limits.listener_conns    auto | whole number (auto: a quarter of ulimit -n, 64-16384)
//	node.limits.incomplete_links_per_peer whole number (4)
//	node.limits.first_byte_timeout duration (2s) a new connection may stay silent
//	node.limits.refusal_log_interval duration (10s): refused connections are logged once per interval
//
// The admin endpoint (HTTP: /metrics, /healthz, /readyz, /status, /):
//
//	node.admin.listen             host:port or empty (empty: off)
//	node.admin.ready_min_members  whole number (1): members up before /readyz says ready
//	node.admin.pprof              bool (off): serve /debug/pprof/
//	node.admin.tls.certfile       PEM certificate (HTTPS with keyfile)
//	node.admin.tls.keyfile        PEM private key
//	node.admin.tls.cacertfile     PEM CA certificates clients must present one from
//
// The cluster and its discovery:
//
//	cluster.name                  1-64 of A-Z a-z 0-9 _ . - (ekka)
//	cluster.discovery             manual | static | mcast | dns | etcd | k8s | singleton (manual)
//	cluster.autoheal              on | off | duration (on = 15s)
//	cluster.split_brain.strategy  autoheal | keep-majority | keep-oldest | static-quorum | down-all (autoheal)
//	cluster.split_brain.stable_after duration (10s) the view must hold still before a decision
//	cluster.split_brain.quorum_size whole number; required (at least 1) for static-quorum
//	cluster.split_brain.down_if_alone bool (on): keep-oldest's lone oldest member gives way
//	cluster.split_brain.down_all_when_unstable on | off | duration (on = 3/4 of stable_after)
//	cluster.autoclean             off | duration (5m)
//	cluster.autocluster.interval  duration (5s)
//	cluster.max_members           2-65535 (1024), this node included; more are dropped
//	cluster.learn_rate            members per second (100) learned from peers
//	cluster.learn_burst           whole number (1024) of members learned at once
//	cluster.forget_unreached      off | duration (30s): a member learned second-hand, never reached, is dropped
//	cluster.redial_rate           dials per second (200) to down members
//	cluster.static.seeds          node names, comma-separated; required for static
//	cluster.mcast.addr            IPv4 multicast address (239.192.0.1)
//	cluster.mcast.ports           ports, comma-separated (4369)
//	cluster.mcast.iface           IPv4 address (0.0.0.0)
//	cluster.mcast.ttl             0-255 (255)
//	cluster.mcast.loop            bool (on)
//	cluster.mcast.sndbuf          system | size, 1KB to 64MB (system): SO_SNDBUF
//	cluster.mcast.recbuf          system | size, 1KB to 64MB (system): SO_RCVBUF
//	cluster.mcast.window          duration (3s): how long discover collects answers
//	cluster.dns.name              DNS name; required for dns
//	cluster.dns.app               short name of the discovered nodes (this node's short name)
//	cluster.dns.type              a | aaaa | srv (a)
//	cluster.dns.server            host:port (empty: the system resolver)
//	cluster.etcd.server           URLs, comma-separated; required for etcd
//	cluster.etcd.prefix           word (ekkacl)
//	cluster.etcd.node_ttl         duration in whole seconds (1m)
//	cluster.etcd.ssl.keyfile      PEM client key; with certfile
//	cluster.etcd.ssl.certfile     PEM client certificate; with keyfile
//	cluster.etcd.ssl.cacertfile   PEM CA certificates
//	cluster.k8s.apiserver         http(s) URL; required for k8s
//	cluster.k8s.service_name      DNS label; required for k8s
//	cluster.k8s.address_type      ip | dns | hostname (ip)
//	cluster.k8s.app_name          short name of the discovered nodes; required for k8s
//	cluster.k8s.suffix            DNS name (svc.cluster.local)
//	cluster.k8s.namespace         DNS label (empty: namespace_file's, else default)
//	cluster.k8s.token_file        bearer token file (the service account's)
//	cluster.k8s.cacert_file       PEM CA certificates (the service account's; missing: system roots)
//	cluster.k8s.namespace_file    namespace file (the service account's)
//	cluster.k8s.insecure_skip_verify bool (off)
//
// Logs:
//
//	log.level                     debug, info, warn or error (info)
//	log.format                    text or json (text)
//
// Keys returns the same list with types, defaults and descriptions, for help
// output.
//
// # ekka's keys
//
// Every key of ekka's schema that means something here has the same name
// (cluster.name, cluster.discovery, cluster.autoheal, cluster.autoclean,
// cluster.static.*, cluster.mcast.*, cluster.dns.*, cluster.etcd.*,
// cluster.k8s.*). The others are refused with an error matching
// ErrRefusedKey that says what to use instead, such as
//
//	ekka-mesh.conf:9: cluster.proto_dist = inet_tls: an ekka key that ekka-mesh does not take: ekka-mesh has its own transport, ...
//
// RefusedKeys lists them.
package config
