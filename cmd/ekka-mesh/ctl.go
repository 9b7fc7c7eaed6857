package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

func init() {
	register("ctl", "control a running node: status, members, ping, join, leave, force-leave, call, tags, lock, unlock, autocluster (ctl [--node NAME | --config FILE] COMMAND)", runCtl)
}

const ctlSynopsis = "ctl [--node NAME] [--config FILE] [--cookie C] [--base-port N] [--cluster NAME] [--timeout D] [--json] COMMAND [ARGS]"

// exitNotMet is ctl status's exit status when --require-up is not met:
// the node answered, but fewer members are up than required.
const exitNotMet = 3

// ctlCommand is one ctl subcommand.
type ctlCommand struct {
	args    string // the arguments, for usage
	minArgs int
	maxArgs int
	help    string
	run     func(c *ctlRun, args []string) int
}

var ctlCommands = map[string]ctlCommand{
	"status":      {"[NODE]", 0, 1, "print the node's view of the cluster: members with their version and tags, running and stopped nodes, partitions, and why the node is suspended when a split-brain strategy stopped it; with --require-up N, exit 3 when fewer than N members are up (a probe). With NODE, NODE as the node sees it, like ekka_cluster:status(Node): running (exit 0), stopped (exit 3) or not a member (exit 6), with its member status and since when, GUID, version, services and tags", (*ctlRun).status},
	"members":     {"", 0, 0, "list the members: node, status, version, GUID (and tags, when a member has some); with --watch, print one line per change (time, node, old -> new status) until interrupted", (*ctlRun).members},
	"ping":        {"NODE2", 1, 1, "the node pings NODE2 and reports the round trip", (*ctlRun).ping},
	"join":        {"NODE2", 1, 1, "the node joins the cluster of NODE2", (*ctlRun).join},
	"leave":       {"", 0, 0, "the node leaves its cluster and keeps running alone", (*ctlRun).leave},
	"force-leave": {"NODE2", 1, 1, "the node removes NODE2 (possibly dead) from the cluster, everywhere", (*ctlRun).forceLeave},
	"call":        {"NODE2 METHOD [PAYLOAD]", 2, 3, "the node calls METHOD on NODE2 with PAYLOAD and prints the reply, a newline added after text that lacks one ([--raw]: the bytes exactly); methods below. With --tags K=V[,K=V...], call METHOD [PAYLOAD] calls every running member whose tags match (each K with exactly V), through the node, and prints each reply after its node's name; exit 1 when none matches or a call fails", (*ctlRun).call},
	"tags":        {"[set [K=V ...]]", 0, 100, "print the node's tags; set K=V ... replaces them (set alone clears them): every member hears the change", (*ctlRun).tags},
	"lock":        {"RESOURCE", 1, 1, "the node acquires a lock on RESOURCE ([--type T, default quorum; ekka's default is local] [--owner ID] [--lease D] [--locker NAME]); prints {\"acquired\",\"nodes\",\"token\",\"type\",...}, exit 1 when refused", (*ctlRun).lock},
	"autocluster": {"[on|off|now|status]", 0, 1, "the node's autocluster loop: on starts it, off ends it until the node restarts (the node keeps its members), now runs one pass and waits for it (exit 1 when it did not link the node to every node discovered), status (the default) says whether it is on, running or done and what the last pass found", (*ctlRun).autocluster},
	"unlock":      {"RESOURCE", 1, 1, "the node releases the lock on RESOURCE held by --owner ID ([--type T] [--locker NAME]); prints {\"released\",\"nodes\",...}, exit 1 when not released", (*ctlRun).unlock},
	// A cookie rotation (wire/PROTOCOL.md section 8.4).
	"rotate-cookie": {"NEW", 1, 1, "the node's cookie becomes NEW without a restart (links stay up); with --keep-previous the node still accepts its old cookies, as during a rolling rotation: run it on every node, then again without --keep-previous. NEW travels in the ctl link: on an untrusted network use TLS, or node.cookie and SIGHUP", (*ctlRun).rotateCookie},
}

// ctlOrder lists the commands for help.
var ctlOrder = []string{"status", "members", "ping", "join", "leave", "force-leave", "call", "tags", "lock", "unlock", "autocluster", "rotate-cookie"}

// ctlRun is one ctl invocation connected to its node.
type ctlRun struct {
	ctx      context.Context
	timeout  time.Duration
	cl       *mesh.Client
	node     string
	json     bool
	stdout   io.Writer
	stderr   io.Writer
	lockOpts *lockFlags // the flags of lock and unlock
	// raw is call --raw: the reply exactly, no newline added.
	raw bool
	// keepPrevious is rotate-cookie --keep-previous.
	keepPrevious bool
	// tagFilter is call --tags: call every running member it matches;
	// nil without --tags.
	tagFilter mesh.TagFilter
	// requireUp is --require-up of status; 0: no requirement.
	requireUp int
	// parent is the command's context without --timeout: members --watch
	// runs until it ends, bounding each poll by timeout instead.
	parent context.Context
	// watchEvery is the poll interval of members --watch.
	watchEvery time.Duration
	// connCfg dials NODE2 for join's progress lines.
	connCfg  mesh.ClientConfig
	basePort int
}

func runCtl(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return ctlMain(ctx, args, stdout, stderr, os.Environ())
}

// ctlMain runs ctl with the environment environ ("NAME=value" entries, as
// os.Environ returns them).
func ctlMain(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	getenv := func(name string) string { return envLookup(environ, name) }
	fset := flag.NewFlagSet("ctl", flag.ContinueOnError)
	node := fset.String("node", "", "the `name` of the node to control, short@host (default: node.name of --config FILE, else $EKKA_MESH_NODE__NAME)")
	cookie := fset.String("cookie", "", "the cluster's `cookie` (default: node.cookie of --config FILE, else $EKKA_MESH_NODE__COOKIE, else ~/.ekka-mesh.cookie, which ctl never creates)")
	basePort := fset.String("base-port", "", "the cluster's base `port` (default: node.base_port of --config FILE, else $EKKA_MESH_NODE__BASE_PORT, else 4370)")
	cluster := fset.String("cluster", "", "the cluster `name` the node must belong to (default: cluster.name of --config FILE or $EKKA_MESH_CLUSTER__NAME when given, else any)")
	configPath := fset.String("config", "", "the node's configuration `file`: ctl controls the node it describes (node.name, node.base_port, node.cookie, node.tls.*, cluster.name), like emqx ctl acts on the local node")
	timeout := fset.Duration("timeout", 10*time.Second, "bounds the whole command: connecting and the operation (members --watch: connecting and each poll)")
	asJSON := fset.Bool("json", false, "print results as JSON (status: the node's Info object; members: an array; members --watch: one object a line)")
	requireUp := fset.Int("require-up", 0, "status: exit 3, with the reason on stderr, when fewer than `N` members are up")
	watch := fset.Bool("watch", false, "members: print membership changes as they happen, until interrupted (exit 0) or the node goes away (exit 1)")
	watchEvery := fset.Duration("watch-interval", 500*time.Millisecond, "members --watch: how often to ask the node for its members")
	lockOpts := addLockFlags(fset)
	raw := fset.Bool("raw", false, "call: print the reply exactly as it came, without the newline added after a text reply")
	keepPrevious := fset.Bool("keep-previous", false, "rotate-cookie: the node keeps accepting its old cookies (a rolling rotation)")
	tagsFlag := fset.String("tags", "", "call: call METHOD on every running member whose tags match these `K=V[,K=V...]` pairs (ctl call --tags role=db METHOD [PAYLOAD])")
	positional, err := parseArgs(fset, args)
	if isHelp(err) {
		ctlHelp(stdout, fset)
		return exitOK
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ekka-mesh ctl: "+format+"\nUsage: ekka-mesh %s\n", append(a, ctlSynopsis)...)
		return exitUsage
	}
	if err != nil {
		return usageErr("%v", err)
	}
	if len(positional) == 0 {
		return usageErr("want a command: %s", strings.Join(ctlOrder, ", "))
	}
	name, cmdArgs := positional[0], positional[1:]
	cmd, ok := ctlCommands[name]
	if !ok {
		return usageErr("%s; want one of %s", unknownCommand(name, ctlOrder), strings.Join(ctlOrder, ", "))
	}
	var tagFilter mesh.TagFilter
	if *tagsFlag != "" {
		if name != "call" {
			return usageErr("--tags applies to call only, not to %s", name)
		}
		if tagFilter, err = mesh.ParseTagFilter(*tagsFlag); err != nil {
			return usageErr("--tags: %v", err)
		}
		cmd.args, cmd.minArgs, cmd.maxArgs = "METHOD [PAYLOAD] (with --tags)", 1, 2
	}
	if len(cmdArgs) < cmd.minArgs || len(cmdArgs) > cmd.maxArgs {
		return usageErr("%s takes %s, got %d arguments %q", name, argsWanted(cmd), len(cmdArgs), cmdArgs)
	}
	if name == "call" && tagFilter == nil && cmdArgs[1] == "" || name == "call" && tagFilter != nil && cmdArgs[0] == "" {
		return usageErr("call: METHOD is empty, want the name of a method NODE2 handles")
	}
	if name == "autocluster" && len(cmdArgs) == 1 && !slices.Contains(autoclusterActions, cmdArgs[0]) {
		return usageErr("autocluster %q: want one of %s", cmdArgs[0], strings.Join(autoclusterActions, ", "))
	}
	if *timeout <= 0 {
		return usageErr("--timeout %v: want a positive duration such as 10s", *timeout)
	}
	if *requireUp < 0 {
		return usageErr("--require-up %d: want a number of members, 1 or more", *requireUp)
	}
	if *requireUp > 0 && name != "status" {
		return usageErr("--require-up applies to status only, not to %s", name)
	}
	if name == "status" && len(cmdArgs) == 1 {
		if *requireUp > 0 {
			return usageErr("--require-up applies to status without NODE (the whole cluster), not to status %s", cmdArgs[0])
		}
		if _, err := portmap.Parse(cmdArgs[0]); err != nil {
			return usageErr("status NODE: %v", err)
		}
	}
	if *watch && name != "members" {
		return usageErr("--watch applies to members only, not to %s", name)
	}
	if *raw && name != "call" {
		return usageErr("--raw applies to call only, not to %s", name)
	}
	if *keepPrevious && name != "rotate-cookie" {
		return usageErr("--keep-previous applies to rotate-cookie only, not to %s", name)
	}
	if *watchEvery <= 0 {
		return usageErr("--watch-interval %v: want a positive duration such as 500ms", *watchEvery)
	}
	if *node != "" {
		if _, err := portmap.Parse(*node); err != nil {
			return usageErr("--node: %v", err)
		}
	}

	var overrides []string
	if *cookie != "" {
		overrides = append(overrides, "node.cookie="+*cookie)
	}
	if *basePort != "" {
		overrides = append(overrides, "node.base_port="+*basePort)
	}
	s, err := config.LoadEnv(*configPath, overrides, environ)
	if err != nil {
		printErrorLines(stderr, "ekka-mesh ctl: ", err)
		return exitUsage
	}
	target, targetCluster, err := ctlTarget(*node, *cluster, *configPath, s, getenv)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := ctlCookie(&s, getenv("HOME")); err != nil {
		fmt.Fprintf(stderr, "ekka-mesh ctl: %v\n", err)
		return exitUsage
	}
	tc, err := tlsConfig(s.Node.TLS)
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh ctl: %v\n", err)
		return exitUsage
	}

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// node.cookie_previous: during a rotation ctl reaches the nodes not
	// rotated yet too, as a node's own dials do.
	ccfg := mesh.ClientConfig{Cookie: s.Node.Cookie, CookiePrevious: s.Node.CookiePrevious, Cluster: targetCluster, BasePort: s.Node.BasePort, TLS: tc}
	cl, err := mesh.Connect(ctx, ccfg, target)
	if err != nil {
		hint := connectHint(err, target, s.Node.BasePort, *timeout)
		if errors.Is(err, mesh.ErrWrongCluster) && *cluster == "" {
			hint = fmt.Sprintf("\nthe node belongs to another cluster than the configuration's cluster.name (%s)", targetCluster)
		}
		fmt.Fprintf(stderr, "ekka-mesh ctl: connect to %s: %v%s\n", target, err, hint)
		return exitUsage
	}
	defer cl.Close()
	c := &ctlRun{
		ctx: ctx, timeout: *timeout, cl: cl, node: target, json: *asJSON, stdout: stdout, stderr: stderr, lockOpts: lockOpts, raw: *raw, keepPrevious: *keepPrevious, tagFilter: tagFilter,
		requireUp: *requireUp, parent: parent, watchEvery: *watchEvery, connCfg: ccfg, basePort: s.Node.BasePort,
	}
	if *watch {
		return c.watchMembers()
	}
	return cmd.run(c, cmdArgs)
}

// ctlTarget returns the node ctl controls and the cluster it must belong
// to. The node is --node, else the node.name that --config FILE or
// EKKA_MESH_NODE__NAME gives (not node.name's default: ctl does not guess).
// The cluster is --cluster, else cluster.name when the file or
// EKKA_MESH_CLUSTER__NAME gives the node's settings, else any.
func ctlTarget(node, cluster, configPath string, s config.Settings, getenv func(string) string) (target, targetCluster string, err error) {
	fromConfig := configPath != ""
	if node == "" {
		named := getenv(config.EnvName("node.name")) != ""
		if !named && configPath != "" {
			entries, err := config.ParseFile(configPath)
			if err != nil {
				return "", "", err
			}
			_, named = entries["node.name"]
		}
		if !named {
			return "", "", fmt.Errorf("no node to control: give --node NAME, --config FILE (a configuration with node.name), or set %s, such as emqx1@10.0.0.1", config.EnvName("node.name"))
		}
		node = s.Node.Name.String()
	}
	switch {
	case cluster != "":
		targetCluster = cluster
	case fromConfig || getenv(config.EnvName("cluster.name")) != "":
		targetCluster = s.Cluster.Name
	}
	return node, targetCluster, nil
}

func argsWanted(cmd ctlCommand) string {
	switch {
	case cmd.maxArgs == 0:
		return "no arguments"
	case cmd.minArgs == cmd.maxArgs:
		return fmt.Sprintf("%d argument(s), %s", cmd.minArgs, cmd.args)
	default:
		return fmt.Sprintf("%d to %d arguments, %s", cmd.minArgs, cmd.maxArgs, cmd.args)
	}
}

func ctlHelp(w io.Writer, fset *flag.FlagSet) {
	fmt.Fprintln(w, "Control a running node. ctl connects to the node as a hidden client: it")
	fmt.Fprintln(w, "authenticates with the cookie like a node but never becomes a member.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The node is --node NAME, else the one the node's own configuration describes,")
	fmt.Fprintln(w, "like emqx ctl acts on the local node: node.name, node.base_port, node.cookie,")
	fmt.Fprintln(w, "node.tls.* and cluster.name from --config FILE and the EKKA_MESH_* environment")
	fmt.Fprintln(w, "variables (EKKA_MESH_NODE__NAME...), read as `run` reads them. The flags win.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, name := range ctlOrder {
		cmd := ctlCommands[name]
		fmt.Fprintf(w, "  %-30s %s\n", strings.TrimSpace(name+" "+cmd.args), cmd.help)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Exit status: 0 on success; 1 when the node refuses or fails the operation")
	fmt.Fprintln(w, "(a remote or handler error, NODE2 down, no answer in time) or, for")
	fmt.Fprintln(w, "members --watch, when the connection to the node is lost; 2 for a usage")
	fmt.Fprintln(w, "error or when ctl cannot connect (node not running, cookie refused); 3 when")
	fmt.Fprintln(w, "status --require-up N finds fewer than N members up, or status NODE finds")
	fmt.Fprintln(w, "NODE stopped; 4 when join NODE2 finds NODE2 in the node's cluster already")
	fmt.Fprintln(w, "(ekka's already_in_cluster); 5 when leave finds the node alone, not in a")
	fmt.Fprintln(w, "cluster (ekka's node_not_in_cluster); 6 when status NODE finds NODE not a")
	fmt.Fprintln(w, "member.")
	fmt.Fprintln(w)
	callHelp(w)
	fmt.Fprintln(w)
	flagUsage(w, fset, ctlSynopsis)
}

// ctlCookie makes sure s has a cookie: the one configured (flag,
// environment, file), else the one in home/.ekka-mesh.cookie. Unlike run,
// ctl never creates the cookie file.
func ctlCookie(s *config.Settings, home string) error {
	if s.Node.Cookie != "" {
		return nil
	}
	noCookie := fmt.Sprintf("no cookie: give --cookie, set %s, or run ctl as the user whose node created ~/%s", config.EnvName("node.cookie"), config.CookieFile)
	if home == "" {
		return fmt.Errorf("%s (HOME is not set)", noCookie)
	}
	path := filepath.Join(home, config.CookieFile)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s (%s does not exist)", noCookie, path)
	}
	_, _, err := config.ResolveCookie(s, home)
	return err
}

// connectHint adds what to check to a connection error.
func connectHint(err error, node string, basePort int, timeout time.Duration) string {
	addr, aerr := mesh.Addr(node, basePort)
	if aerr != nil {
		addr = "?"
	}
	switch {
	case errors.Is(err, mesh.ErrBadCookie):
		return fmt.Sprintf("\nthe node refused the cookie: give the cluster's cookie with --cookie, %s or ~/%s", config.EnvName("node.cookie"), config.CookieFile)
	case errors.Is(err, mesh.ErrWrongCluster):
		return "\nthe node belongs to another cluster than --cluster names"
	case errors.Is(err, mesh.ErrWrongNode):
		return fmt.Sprintf("\nanother node answers at %s: check --base-port (every node of a cluster must use the same base port)", addr)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("\nno answer from %s within --timeout %v: is the node running, and is the base port %d right?", addr, timeout, basePort)
	default:
		return fmt.Sprintf("\nis the node running? It should listen on %s (base port %d)", addr, basePort)
	}
}

// fail reports a failed operation (exit 1), naming what was asked.
func (c *ctlRun) fail(what string, err error) int {
	fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s: %s\n", what, c.reason(err))
	return exitFail
}

// reason says why an operation failed: the node's own message for a
// refusal, else the error.
func (c *ctlRun) reason(err error) string {
	var re *mesh.RemoteError
	switch {
	case errors.As(err, &re) && re.Message != "":
		return re.Message
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within --timeout %v", c.timeout)
	case errors.Is(err, mesh.ErrNodeDown):
		return fmt.Sprintf("the connection to %s was lost: %v", c.node, err)
	}
	return err.Error()
}

// admin calls a built-in method.
func (c *ctlRun) admin(method string, req mesh.AdminRequest) ([]byte, error) {
	return c.cl.Admin(c.ctx, method, req)
}

// printJSON writes v as one line of JSON.
func (c *ctlRun) printJSON(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: encoding the result: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(c.stdout, "%s\n", b)
	return exitOK
}

func (c *ctlRun) status(args []string) int {
	if len(args) == 1 {
		return c.statusOf(args[0]) // ctl_status.go
	}
	raw, info, code := c.info(c.ctx)
	if code != exitOK {
		return code
	}
	if c.json {
		// The node's own encoding, so that fields this ctl does not know yet
		// still show.
		fmt.Fprintf(c.stdout, "%s\n", strings.TrimSpace(string(raw)))
	} else {
		w := c.stdout
		fmt.Fprintf(w, "Node:    %s\nCluster: %s\n\n", info.Node, info.Cluster)
		printMembers(w, info.Members)
		list := func(nodes []string) string {
			if len(nodes) == 0 {
				return "(none)"
			}
			return strings.Join(nodes, ", ")
		}
		fmt.Fprintf(w, "\nRunning nodes: %s\nStopped nodes: %s\nPartitions:    %s\n", list(info.RunningNodes), list(info.StoppedNodes), list(info.Partitions))
		if info.Suspended != "" { // its side lost a split-brain decision
			fmt.Fprintf(w, "Suspended:     %s\n", info.Suspended)
		}
		for _, m := range info.Members { // members it sees suspended, over their links
			if m.Suspended != "" && m.Node != info.Node {
				fmt.Fprintf(w, "Suspended member %s: %s\n", m.Node, m.Suspended)
			}
		}
	}
	return c.checkRequireUp(info)
}

// info asks the node for its view of the cluster: its raw JSON and the
// decoded Info; code is exitOK or the failure already reported.
func (c *ctlRun) info(ctx context.Context) (raw []byte, info mesh.Info, code int) {
	raw, err := c.cl.Call(ctx, mesh.MethodInfo, nil)
	if err != nil {
		return nil, info, c.fail("status of "+c.node, err)
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: status of %s: the node sent an unreadable answer: %v\n", c.node, err)
		return nil, info, exitFail
	}
	return raw, info, exitOK
}

// checkRequireUp applies --require-up: exitNotMet, with one line on
// stderr, when fewer members than required are up.
func (c *ctlRun) checkRequireUp(info mesh.Info) int {
	if c.requireUp == 0 {
		return exitOK
	}
	var up, notUp []string
	for _, m := range info.Members {
		if m.Status == mesh.StatusUp {
			up = append(up, m.Node)
		} else {
			notUp = append(notUp, m.Node+" "+m.Status.String())
		}
	}
	if len(up) >= c.requireUp {
		return exitOK
	}
	reason := fmt.Sprintf("%d of %d members up on %s, want at least %d (--require-up %d)", len(up), len(info.Members), c.node, c.requireUp, c.requireUp)
	if len(notUp) > 0 {
		reason += "; not up: " + strings.Join(notUp, ", ")
	}
	fmt.Fprintf(c.stderr, "ekka-mesh ctl: status: %s\n", reason)
	return exitNotMet
}

// printMembers writes the member table: node, status ("up (suspended)"
// for a member that lost a split-brain decision), version, GUID.
func printMembers(w io.Writer, members []mesh.MemberInfo) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	// A TAGS column only when a member has tags (ctl_tags.go).
	tagged := slices.ContainsFunc(members, func(m mesh.MemberInfo) bool { return len(m.Tags) > 0 })
	header := "NODE\tSTATUS\tVERSION\tGUID"
	if tagged {
		header += "\tTAGS"
	}
	fmt.Fprintln(tw, header)
	for _, m := range members {
		v := m.Version
		if v == "" {
			v = "-"
		}
		status := m.Status.String()
		if m.Suspended != "" { // it lost a split-brain decision: up, serving no calls
			status += " (suspended)"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s", m.Node, status, v, m.GUID)
		if tagged {
			line += "\t" + orDash(mesh.TagFilter(m.Tags).String())
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

func (c *ctlRun) ping(args []string) int {
	target := args[0]
	raw, err := c.admin(mesh.MethodPing, mesh.AdminRequest{Node: target})
	if err != nil {
		return c.fail(fmt.Sprintf("ping %s from %s: no pong", target, c.node), err)
	}
	var res struct {
		RTTMicros int64 `json:"rtt_us"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: ping %s from %s: the node sent an unreadable answer: %v\n", target, c.node, err)
		return exitFail
	}
	if c.json {
		return c.printJSON(map[string]any{"node": c.node, "target": target, "rtt_us": res.RTTMicros})
	}
	fmt.Fprintf(c.stdout, "pong from %s in %v\n", target, time.Duration(res.RTTMicros)*time.Microsecond)
	return exitOK
}

func (c *ctlRun) leave(_ []string) int {
	if _, err := c.admin(mesh.MethodLeave, mesh.AdminRequest{}); err != nil {
		code := c.fail(fmt.Sprintf("%s could not leave its cluster", c.node), err)
		if errors.Is(err, mesh.ErrNotInCluster) {
			code = exitNotInCluster
		}
		return code
	}
	if c.json {
		return c.printJSON(map[string]any{"node": c.node, "left": true})
	}
	fmt.Fprintf(c.stdout, "%s left its cluster and runs alone\n", c.node)
	return exitOK
}

func (c *ctlRun) forceLeave(args []string) int {
	target := args[0]
	if _, err := c.admin(mesh.MethodForceLeave, mesh.AdminRequest{Node: target}); err != nil {
		return c.fail(fmt.Sprintf("%s could not force %s out", c.node, target), err)
	}
	if c.json {
		return c.printJSON(map[string]any{"node": c.node, "forced_out": target})
	}
	fmt.Fprintf(c.stdout, "%s forced %s out of the cluster\n", c.node, target)
	return exitOK
}
