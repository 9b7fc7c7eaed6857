// Command ekka-mesh is the ekka-mesh node binary and its tools.
//
// Usage:
//
//	ekka-mesh <command> [arguments]
//
// Commands:
//
//	port          print the TCP port a node name maps to
//	run           run a node from a configuration file
//	check-config  validate a configuration without starting a node
//	ctl           control a running node (status, members, join, leave, ...)
//	demo          start a local demo cluster
//	bench         measure calls, casts and bulk transfer between two nodes
//	version       print the version
//	help          print this help, or a command's help
//
// Each command is a func(args, stdout, stderr) int registered in one table;
// the exit status is 0 on success, 2 for a usage error (bad flag, bad
// argument, unknown command, with the closest command or flag suggested) and
// 1 for any other failure.
//
// ekka-mesh port NAME [--base-port N] prints the port of a node name by the
// ekka rule (see package portmap): base port + the digits at the end of the
// short name, modulo 60000. For example, "ekka-mesh port emqx12@h" prints
// 4382, and so does "ekka-mesh port emqx12" (a short name alone, as epmd
// asks ekka). A name beginning with remsh has no port: ekka gives these
// remote shells port 0, and no ekka-mesh node may take such a name; port
// says so and exits 2. Every node of a cluster must use the same base port.
//
// # run
//
//	ekka-mesh run [--config FILE] [--name NAME] [--cookie C] [--base-port N] [--set KEY=VALUE ...] [--log-level LEVEL] [--log-format text|json]
//
// run starts a node and keeps it running until SIGINT or SIGTERM, then stops
// it cleanly (its peers see it down at once) and exits 0. Its settings are the
// keys of package config: the defaults (name ekka@127.0.0.1, manual
// discovery), then the file, then EKKA_MESH_* environment variables
// (EKKA_MESH_NODE__NAME sets node.name), then --name, --cookie and
// --base-port, then each --set in order. Discovery: manual (join with ctl),
// static (cluster.static.seeds), mcast (cluster.mcast.*), dns
// (cluster.dns.*), etcd (cluster.etcd.*) or k8s (cluster.k8s.*). Autoheal runs unless cluster.autoheal is off (on: a
// 15s delay): recorded partitions heal on their own. With it off they stay
// recorded (ctl status) until ctl join, run on each node of the side that
// gives way, heals them by hand.
//
// cluster.split_brain.strategy picks what happens during a split: autoheal
// (the default: both sides serve, and autoheal heals them afterwards), or
// keep-majority, keep-oldest, static-quorum (cluster.split_brain.quorum_size)
// or down-all, which package splitbrain decides once who reaches whom has
// held still for cluster.split_brain.stable_after (cluster.autoheal is not
// used then). A node on a losing side suspends itself: calls of its
// application methods fail with the reason (ctl status prints it as
// Suspended), its locks are given up, node.hooks.down runs; once the split
// is over node.hooks.up runs and it serves again.
//
// Without a cookie anywhere, run reads ~/.ekka-mesh.cookie, creating it
// (20 random letters, mode 0400) on first use and logging that it did.
//
// The log goes to stderr, one line per event through log/slog, at log.level
// (--log-level) as text or JSON lines (log.format, --log-format): started
// (name, address, GUID, cluster), every membership event (node-up,
// node-down, node-leaving, partition-occurred, ...), admin actions asked
// through ctl (with the client that asked), the node's own warnings,
// stopping (and why), stopped. SIGHUP does not stop the node: it reloads
// log.level, node.cookie, node.cookie_previous and the node.tags.* keys, and
// logs which other changed keys need a restart.
//
// With node.admin.listen set, an HTTP admin endpoint runs beside the node:
// /metrics (Prometheus), /healthz, /readyz, /status and a live status page
// at / (package admin). A node whose host does not resolve is refused at
// start. An EKKA_MESH_* variable that names no key is an error.
//
// Exit status: 0 after a clean stop; 2 for a bad flag or configuration (an
// unknown key or bad value is reported with its file:line, key, value and
// what was expected); 1 when the node cannot start (its port is taken) or
// does not stop within 10s.
//
//	ekka-mesh run --config /etc/ekka-mesh.conf
//	ekka-mesh run --name n1@127.0.0.1 --cookie secret --set cluster.discovery=static \
//	    --set cluster.static.seeds=n1@127.0.0.1,n2@127.0.0.2
//
// # ctl
//
//	ekka-mesh ctl [--node NAME] [--config FILE] [--cookie C] [--base-port N] [--cluster NAME] [--timeout D] [--json] COMMAND [ARGS]
//
// ctl connects to a node as a hidden client (it authenticates with the
// cookie like a node but never becomes a member) and asks it to act. The
// node is --node NAME, else node.name of --config FILE or of the EKKA_MESH_*
// variables (EKKA_MESH_NODE__NAME), as emqx ctl acts on the local node.
//
//	status                      the node's view: members (NODE STATUS VERSION GUID), running and stopped nodes,
//	                            partitions, and why the node is suspended if it is; with --json one object
//	                            with node, cluster, running_nodes, stopped_nodes, members (node, status,
//	                            guid, version), partitions and suspended (when it is);
//	                            --require-up N exits 3 when fewer than N members are up (a probe)
//	status NODE                 NODE as the node sees it, like ekka_cluster:status(Node): "NODE is running,
//	                            as seen from N1", its member status and since when, GUID, version and
//	                            services; exits 0 when running, 3 when stopped, 6 when not a member;
//	                            --json prints the node's NodeReport object
//	members                     the members (node, status, version, GUID); --watch prints one line per
//	                            change until interrupted
//	ping NODE2                  the node pings NODE2: "pong from NODE2 in 310µs"
//	join NODE2                  the node joins the cluster of NODE2; exits 4 when NODE2 runs in its
//	                            cluster already (ekka's already_in_cluster)
//	leave                       the node leaves its cluster and keeps running alone; exits 5 when it
//	                            has no other member (ekka's node_not_in_cluster)
//	force-leave NODE2           the node removes NODE2 (typically dead) from the cluster, everywhere
//	call NODE2 METHOD [PAYLOAD] the node calls METHOD on NODE2; the reply bytes are printed as they are
//	lock RESOURCE, unlock RESOURCE  take or release a lock through the node's lock service
//
// The cookie is --cookie, else $EKKA_MESH_NODE__COOKIE, else node.cookie of
// --config, else ~/.ekka-mesh.cookie, which ctl reads but never creates.
// --config also supplies node.base_port and the node.tls.* settings, needed
// to reach a node that uses TLS. --timeout (10s) bounds connecting and the
// operation together.
//
// Exit status: 0 on success; 1 when the node refuses or fails the operation
// (a remote or handler error such as "no handler", NODE2 down, no answer in
// time); 2 for a usage error and also when ctl cannot connect: the node is
// not running, or it refused the cookie ("handshake refused by peer (bad
// cookie)"); 3 when status --require-up N finds fewer than N members up, or
// status NODE finds NODE stopped; 4 when join NODE2 finds NODE2 in the
// node's cluster already; 5 when leave finds the node alone (not in a
// cluster); 6 when status NODE finds NODE not a member.
//
// # check-config
//
//	ekka-mesh check-config [--config FILE] [--set KEY=VALUE ...] [-v] [--json]
//
// check-config reads the settings as run does (file, environment, flags)
// and checks them, TLS files and discovery settings included, without
// starting a node: "configuration OK" and exit 0, or every error and exit 2.
//
//	ekka-mesh ctl --node n1@127.0.0.1 status
//	ekka-mesh ctl --node n2@127.0.0.2 join n1@127.0.0.1
//	ekka-mesh ctl --node n1@127.0.0.1 force-leave n3@127.0.0.3
//	ekka-mesh ctl --node n1@127.0.0.1 --json status | jq .running_nodes
//
// # bench
//
//	ekka-mesh bench serve [--config FILE] [--name NAME] [--cookie C] [--base-port N] [--set KEY=VALUE ...] [--log-level LEVEL] [--log-format text|json]
//	ekka-mesh bench run --target NAME --workload call|cast|bulk|lock [--concurrency K] [--size BYTES] [--bulk BYTES] [--duration D]
//	    [--warmup D] [--payload zeros|random] [--json] [--timeout D] [--config FILE] [--name NAME] [--cookie C]
//	    [--base-port N] [--set KEY=VALUE ...] [--log-level LEVEL]
//
// bench measures ekka-mesh between two processes or two machines (package
// bench/load holds the workloads). bench serve runs a node exactly as run
// does, same settings and exit statuses, that also serves the bench methods:
// bench.echo (the reply is the request), bench.sink (empty reply),
// bench.cast (counted) and bench.count (the casts and cast bytes received).
// When it stops it logs what it served.
//
// bench run starts a node of its own, joins the target, drives one workload
// for --duration (5s), leaves and stops:
//
//	call  --concurrency callers (1), each with one call of bench.echo in flight, --size bytes (64) each way
//	cast  --concurrency goroutines cast --size bytes (64) to bench.cast as fast as Cast returns; the run
//	      ends when the target has counted every cast, and the rate is casts received over that time
//	bulk  --concurrency callers, each with one call of bench.sink in flight carrying --size bytes (1MiB),
//	      with an empty reply: one-way bulk data acknowledged per message
//	lock  --concurrency owners each take and release a leader lock of their own through the lock service
//	      both nodes run; with --bulk BYTES one more caller sends bench.sink calls of that size meanwhile
//
// It prints operations, operations per second, p50 and p99 latency (a
// call's round trip; for cast, the time Cast took to return) and the payload
// MB/s (10^6 bytes) it sent, requests only for call. With --json the last
// line of stdout is one JSON object with the keys workload, concurrency,
// size, ops, ops_per_sec, p50_us, p99_us, mb_per_sec (then max_us,
// elapsed_sec, payload, target). When stderr is a terminal a progress line
// shows there while the run lasts. --payload zeros (the default) compresses
// to nothing, random not at all: compare compression settings with both.
//
// The bench node reads the same settings as run (file, environment, flags,
// --set), so TLS and compression settings can be compared by giving both
// sides the same ones; it joins the target only (cluster.discovery does not
// apply), and like ctl it reads ~/.ekka-mesh.cookie but never creates it.
// Unless --name is given it is named benchrun@ADDR, ADDR being the address
// that reaches the target, and listens on a free port. --timeout (10s)
// bounds the join. Run one cast workload at a time per target: the cast
// count is the target's.
//
// Exit status of bench run: 0 after the run; 1 when the target cannot be
// reached (the message says so, and why: not running, wrong base port,
// cookie refused), does not serve the bench methods, or fails during the
// run; 2 for a usage error, naming the flag, its value and what was
// expected.
//
//	ekka-mesh bench serve --name bench1@10.0.0.1 --cookie secret
//	ekka-mesh bench run --target bench1@10.0.0.1 --cookie secret --workload call --concurrency 64
//	ekka-mesh bench run --target bench1@10.0.0.1 --cookie secret --workload bulk --size 64KiB --json | tail -1
//	ekka-mesh bench run --target bench1@10.0.0.1 --cookie secret --workload cast --set node.compression=off
package main
