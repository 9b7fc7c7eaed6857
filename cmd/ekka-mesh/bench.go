package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/bench/load"
	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

func init() {
	register("bench", "measure calls, casts and bulk transfer between two nodes (bench serve | bench run)", runBench)
}

const (
	benchSynopsis      = "bench serve|run [flags]"
	benchServeSynopsis = "bench serve [--config FILE] [--name NAME] [--cookie C] [--base-port N] [--set KEY=VALUE ...] [--log-level LEVEL] [--log-format text|json]"
	benchRunSynopsis   = "bench run --target NAME --workload call|cast|bulk|lock [--concurrency K] [--size BYTES] [--bulk BYTES] [--duration D] [--warmup D] [--payload zeros|random] [--json] [--timeout D] [--config FILE] [--name NAME] [--cookie C] [--base-port N] [--set KEY=VALUE ...] [--log-level LEVEL] [--log-format text|json]"
)

// benchRunShortName is the short name of bench run's node unless --name is given; its
// host is the address this machine reaches the target from.
const benchRunShortName = "benchrun"

// leaveTimeout bounds bench run's goodbye to the target.
const leaveTimeout = 5 * time.Second

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "ekka-mesh bench: want a subcommand, serve or run\nUsage: ekka-mesh %s\n", benchSynopsis)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return runBenchServe(args[1:], stdout, stderr)
	case "run":
		return runBenchRun(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		benchHelp(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "ekka-mesh bench: unknown subcommand %q, want serve or run\nUsage: ekka-mesh %s\n", args[0], benchSynopsis)
		return exitUsage
	}
}

func benchHelp(w io.Writer) {
	fmt.Fprintln(w, "Measure ekka-mesh between two processes or two machines: bench serve runs a")
	fmt.Fprintln(w, "node with the bench methods, bench run drives a workload against it and")
	fmt.Fprintln(w, "prints what it measured.")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Usage:\n  ekka-mesh %s\n  ekka-mesh %s\n", benchServeSynopsis, benchRunSynopsis)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Example, two terminals:")
	fmt.Fprintln(w, "  ekka-mesh bench serve --name bench1@127.0.0.1 --cookie secret")
	fmt.Fprintln(w, "  ekka-mesh bench run --target bench1@127.0.0.1 --cookie secret --workload bulk --duration 10s")
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "ekka-mesh bench serve --help" or "ekka-mesh bench run --help" for the flags.`)
}

// named reports whether the flags name the node (--name or --set node.name=).
func (f *nodeFlags) named() bool {
	named := false
	f.fs.Visit(func(fl *flag.Flag) { named = named || fl.Name == "name" })
	for _, s := range f.sets {
		named = named || strings.HasPrefix(s, "node.name=")
	}
	return named
}

// ---- bench serve ----

func runBenchServe(args []string, stdout, stderr io.Writer) int {
	ctx, hup, stop := signalContext()
	defer stop()
	return benchServeMain(ctx, args, stdout, stderr, runHooks{getenv: os.Getenv, environ: os.Environ, hup: hup})
}

// benchServeMain is bench serve: run's node, with the bench methods, until
// ctx ends. hooks.started, when set, is called after the methods are
// registered.
func benchServeMain(ctx context.Context, args []string, stdout, stderr io.Writer, hooks runHooks) int {
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	nf := addNodeFlags(fs, "this node's `name`, short@host (node.name; default ekka@127.0.0.1)",
		"the cluster's `cookie` (node.cookie; default: read or create ~/.ekka-mesh.cookie)", "")
	positional, err := parseArgs(fs, args)
	if isHelp(err) {
		fmt.Fprintln(stdout, "Run a node, exactly as run does (same configuration file, environment and")
		fmt.Fprintln(stdout, "flags), that also serves the bench methods bench run drives: bench.echo,")
		fmt.Fprintln(stdout, "bench.sink, bench.cast and bench.count. It runs until SIGINT or SIGTERM,")
		fmt.Fprintln(stdout, "then logs what it served, stops cleanly and exits 0.")
		fmt.Fprintln(stdout, "Exit status: 0 after a clean stop, 1 if the node fails to start or stop,")
		fmt.Fprintln(stdout, "2 for a bad flag or configuration.")
		fmt.Fprintln(stdout)
		flagUsage(stdout, fs, benchServeSynopsis)
		return exitOK
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ekka-mesh bench serve: "+format+"\nUsage: ekka-mesh %s\n", append(a, benchServeSynopsis)...)
		return exitUsage
	}
	if err != nil {
		return usageErr("%v", err)
	}
	if len(positional) != 0 {
		return usageErr("takes no arguments besides flags, got %q", positional)
	}
	opts, err := nf.runOptions()
	if err != nil {
		return usageErr("%v", err)
	}
	// The log of the serving lines: runNode's settings, loaded here too
	// (runNode reports a bad configuration itself).
	log := slog.New(slog.DiscardHandler)
	if s, err := hooks.load(opts); err == nil {
		log = settingsLog(stderr, s).logger()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var srv *load.Server
	var serveErr error
	started := hooks.started
	hooks.started = func(n *mesh.Node) {
		if srv, serveErr = load.NewServer(n); serveErr != nil {
			cancel(fmt.Errorf("cannot serve the bench methods: %w", serveErr))
			return
		}
		log.Info("serving the bench methods", "name", n.Name(), "addr", n.Addr().String(),
			"methods", strings.Join([]string{load.MethodEcho, load.MethodSink, load.MethodCast, load.MethodCount}, ","))
		if started != nil {
			started(n)
		}
	}
	code := runNode(ctx, opts, stderr, hooks)
	if srv != nil {
		st := srv.Stats()
		log.Info("served", "echo_calls", st.EchoCalls, "echo_bytes", st.EchoBytes, "sink_calls", st.SinkCalls,
			"sink_bytes", st.SinkBytes, "casts", st.Casts, "cast_bytes", st.CastBytes)
	} else if serveErr != nil {
		fmt.Fprintf(stderr, "ekka-mesh bench serve: cannot serve the bench methods: %v\n", serveErr)
		return exitFail
	}
	return code
}

// ---- bench run ----

// benchRunHooks are what bench run takes from its surroundings.
type benchRunHooks struct {
	getenv   func(string) string
	environ  func() []string  // as in runHooks; nil: getenv only
	terminal bool             // stderr is a terminal: show a live progress line
	started  func(*mesh.Node) // called once the node has joined the target (tests); may be nil
}

func runBenchRun(args []string, stdout, stderr io.Writer) int {
	ctx, _, stop := signalContext() // SIGHUP is ignored: nothing to reload
	defer stop()
	return benchRunMain(ctx, args, stdout, stderr, benchRunHooks{getenv: os.Getenv, environ: os.Environ, terminal: isTerminal(os.Stderr)})
}

// isTerminal reports whether f is a character device, such as a terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// benchRunArgs are bench run's parsed flags.
type benchRunArgs struct {
	node    runOptions
	named   bool // --name or --set node.name= given
	target  string
	opts    load.Options
	json    bool
	timeout time.Duration
}

// parseBenchRunArgs parses bench run's flags. When done is true the command
// is over (help printed or a usage error reported) and code is its exit
// status.
func parseBenchRunArgs(args []string, stdout, stderr io.Writer) (a benchRunArgs, code int, done bool) {
	fs := flag.NewFlagSet("bench run", flag.ContinueOnError)
	target := fs.String("target", "", "the `name` of the node running bench serve, short@host (required)")
	workload := fs.String("workload", "", "the `workload`: call (echo calls), cast (one-way casts), bulk (large calls with an empty reply) or lock (leader locks taken and released) (required)")
	concurrency := fs.String("concurrency", "1", "callers, each with one call in flight, or casting goroutines: `K`")
	size := fs.String("size", "", "payload `bytes` per operation, such as 64, 64KiB or 1MiB (default 64 for call and cast, 1MiB for bulk; none for lock)")
	bulk := fs.String("bulk", "", "lock only: one more caller sends bench.sink calls of these `bytes`, such as 64MiB, while the locks run")
	duration := fs.String("duration", "5s", "how long to drive the workload, `D`")
	warmup := fs.String("warmup", "0s", "drive the workload this long `D` first, unmeasured")
	payload := fs.String("payload", load.PayloadZeros, "the payload's `kind`: zeros (compress to nothing) or random (do not compress)")
	asJSON := fs.Bool("json", false, "also print the result as one JSON object, the last line of stdout")
	timeout := fs.String("timeout", "10s", "give up joining the target after `D`")
	nf := addNodeFlags(fs, "this node's `name`, short@host (default benchrun@ADDR, ADDR being the address that reaches the target, on a free port)",
		"the cluster's `cookie` (node.cookie; default: read ~/.ekka-mesh.cookie, never created)", config.LogWarn)
	positional, err := parseArgs(fs, args)
	if isHelp(err) {
		benchRunHelp(stdout, fs)
		return a, exitOK, true
	}
	usageErr := func(format string, args ...any) (benchRunArgs, int, bool) {
		fmt.Fprintf(stderr, "ekka-mesh bench run: "+format+"\nUsage: ekka-mesh %s\n", append(args, benchRunSynopsis)...)
		return a, exitUsage, true
	}
	if err != nil {
		return usageErr("%v", err)
	}
	if len(positional) != 0 {
		return usageErr("takes no arguments besides flags, got %q", positional)
	}
	if *target == "" {
		return usageErr("--target is required: the name of a node running ekka-mesh bench serve, such as bench1@127.0.0.1")
	}
	if _, err := portmap.Parse(*target); err != nil {
		return usageErr("--target %q: want a node name, short@host: %v", *target, err)
	}
	a.target = *target
	switch *workload {
	case load.WorkloadCall, load.WorkloadCast, load.WorkloadBulk, load.WorkloadLock:
		a.opts.Workload = *workload
	case "":
		return usageErr("--workload is required: want call, cast, bulk or lock")
	default:
		return usageErr("--workload %q: want call, cast, bulk or lock", *workload)
	}
	if a.opts.Concurrency, err = strconv.Atoi(*concurrency); err != nil || a.opts.Concurrency < 1 || a.opts.Concurrency > load.MaxConcurrency {
		return usageErr("--concurrency %q: want a whole number from 1 to %d", *concurrency, load.MaxConcurrency)
	}
	if *size != "" && a.opts.Workload == load.WorkloadLock {
		return usageErr("--size %q: the lock workload sends no payload; --bulk sizes the calls sent alongside", *size)
	}
	if *bulk != "" {
		if a.opts.Workload != load.WorkloadLock {
			return usageErr("--bulk %q: only the lock workload sends bulk calls alongside", *bulk)
		}
		if a.opts.Bulk, err = parseBytes(*bulk); err != nil || a.opts.Bulk > load.MaxSize {
			return usageErr("--bulk %q: want a number of bytes from 0 to %d, such as 64KiB or 64MiB", *bulk, load.MaxSize)
		}
	}
	if *size != "" {
		if a.opts.Size, err = parseBytes(*size); err != nil || a.opts.Size < 1 || a.opts.Size > load.MaxSize {
			return usageErr("--size %q: want a number of bytes from 1 to %d, such as 64, 64KiB or 1MiB", *size, load.MaxSize)
		}
	}
	if a.opts.Duration, err = time.ParseDuration(*duration); err != nil || a.opts.Duration <= 0 {
		return usageErr("--duration %q: want a positive duration such as 500ms, 5s or 1m", *duration)
	}
	if a.opts.Warmup, err = time.ParseDuration(*warmup); err != nil || a.opts.Warmup < 0 {
		return usageErr("--warmup %q: want 0s or a positive duration such as 1s", *warmup)
	}
	switch *payload {
	case load.PayloadZeros, load.PayloadRandom:
		a.opts.Payload = *payload
	default:
		return usageErr("--payload %q: want zeros or random", *payload)
	}
	if a.timeout, err = time.ParseDuration(*timeout); err != nil || a.timeout <= 0 {
		return usageErr("--timeout %q: want a positive duration such as 10s", *timeout)
	}
	if err := a.opts.Validate(); err != nil { // a safety net: the checks above name the flags
		return usageErr("%v", err)
	}
	a.json = *asJSON
	if a.node, err = nf.runOptions(); err != nil {
		return usageErr("%v", err)
	}
	a.named = nf.named()
	return a, exitOK, false
}

// parseBytes parses a byte count: digits, optionally followed by K or KiB
// (1024) or M or MiB (1024*1024).
func parseBytes(s string) (int, error) {
	num, mult := s, 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"K", 1 << 10}, {"M", 1 << 20}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > (1<<31)/mult {
		return 0, fmt.Errorf("bad byte count %q", s)
	}
	return n * mult, nil
}

func benchRunHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "Start a node, join the target (a node running ekka-mesh bench serve), drive a")
	fmt.Fprintln(w, "workload against it for --duration, leave, stop, and print what was measured:")
	fmt.Fprintln(w, "operations, operations per second, p50 and p99 latency, payload MB/s.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Workloads:")
	fmt.Fprintln(w, "  call  --concurrency callers, each with one call of bench.echo in flight;")
	fmt.Fprintln(w, "        the reply is the request. MB/s counts the requests only.")
	fmt.Fprintln(w, "  cast  --concurrency goroutines cast to bench.cast as fast as Cast returns;")
	fmt.Fprintln(w, "        the run ends when the target has counted every cast sent, and the")
	fmt.Fprintln(w, "        rate is casts received over the time until then. Latency is the time")
	fmt.Fprintln(w, "        Cast took to return.")
	fmt.Fprintln(w, "  bulk  --concurrency callers, each with one call of bench.sink in flight,")
	fmt.Fprintln(w, "        carrying --size bytes (1MiB by default) with an empty reply.")
	fmt.Fprintln(w, "  lock  --concurrency owners each take and release a leader lock of their own")
	fmt.Fprintln(w, "        through the lock service both nodes run (the target's table, when the")
	fmt.Fprintln(w, "        target is the leader); latency is one lock+unlock. With --bulk BYTES one")
	fmt.Fprintln(w, "        more caller sends bench.sink calls of that size meanwhile: lock latency")
	fmt.Fprintln(w, "        under bulk traffic between the same pair.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The node takes the same configuration as run (file, EKKA_MESH_* environment,")
	fmt.Fprintln(w, "flags, --set): compare TLS or compression settings by giving both sides the")
	fmt.Fprintln(w, "same ones. It joins the target only (cluster.discovery does not apply) and,")
	fmt.Fprintln(w, "unless --name is given, is named benchrun@ADDR and listens on a free port.")
	fmt.Fprintln(w, "Like ctl, it reads ~/.ekka-mesh.cookie when no cookie is given but never")
	fmt.Fprintln(w, "creates it.")
	fmt.Fprintln(w, "On a terminal a progress line shows on stderr. With --json the last line of")
	fmt.Fprintln(w, "stdout is one JSON object: workload, concurrency, size, ops, ops_per_sec,")
	fmt.Fprintln(w, "p50_us, p99_us, mb_per_sec, then max_us, elapsed_sec, payload, target.")
	fmt.Fprintln(w, "Exit status: 0 after the run, 1 when the target cannot be reached or the run")
	fmt.Fprintln(w, "fails, 2 for a bad flag or configuration.")
	fmt.Fprintln(w)
	flagUsage(w, fs, benchRunSynopsis)
}

// benchRunMain is bench run; it returns the exit status.
func benchRunMain(ctx context.Context, args []string, stdout, stderr io.Writer, hooks benchRunHooks) (code int) {
	a, code, done := parseBenchRunArgs(args, stdout, stderr)
	if done {
		return code
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "ekka-mesh bench run: "+format+"\n", args...)
		return code
	}
	s, err := runHooks{getenv: hooks.getenv, environ: hooks.environ}.load(a.node)
	if err != nil {
		printErrorLines(stderr, "ekka-mesh bench run: ", err)
		return exitUsage
	}
	// The bench node joins the target only: it neither registers with nor
	// discovers through the cluster's strategy.
	if err := s.Set("cluster.discovery", string(config.DiscoveryManual)); err != nil {
		return fail(exitFail, "%v", err)
	}
	if err := ctlCookie(&s, hooks.getenv("HOME")); err != nil {
		return fail(exitUsage, "%v", err)
	}
	targetAddr, err := mesh.Addr(a.target, s.Node.BasePort)
	if err != nil {
		return fail(exitUsage, "--target %s with base port %d: %v", a.target, s.Node.BasePort, err)
	}
	listen := ""
	if !a.named {
		ip := localIPToward(targetAddr)
		if err := s.Set("node.name", benchRunShortName+"@"+ip.String()); err != nil {
			return fail(exitFail, "%v", err)
		}
		listen = net.JoinHostPort(ip.String(), "0")
	}
	applyLogFallback(&s, a.node, hooks.getenv)
	log := settingsLog(stderr, s).logger()
	mcfg, err := meshConfigLog(s, log)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	mcfg.ListenAddr = listen
	mcfg.Logger = log

	node, err := mesh.Start(ctx, mcfg)
	if err != nil {
		return fail(exitFail, "%v", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := node.Stop(sctx); err != nil {
			code = fail(exitFail, "stop %s: %v", node.Name(), err)
		}
	}()
	log.Info("started", "name", node.Name(), "addr", node.Addr().String(), "target", a.target, "target_addr", targetAddr)

	jctx, cancel := context.WithTimeout(ctx, a.timeout)
	err = node.Join(jctx, a.target)
	cancel()
	if err != nil {
		hint := connectHint(err, a.target, s.Node.BasePort, a.timeout)
		if errors.Is(err, mesh.ErrWrongCluster) {
			hint = fmt.Sprintf("\nthe target belongs to another cluster than cluster.name = %s", s.Cluster.Name)
		}
		return fail(exitFail, "cannot reach the target %s at %s: %v%s", a.target, targetAddr, err, hint)
	}
	defer func() {
		lctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		if err := node.Leave(lctx); err != nil {
			log.Warn("leaving the target's cluster failed", "err", err)
		}
	}()
	if hooks.started != nil {
		hooks.started(node)
	}

	opts := a.opts
	var line progressLine
	if hooks.terminal {
		line = progressLine{w: stderr, workload: opts.Workload, duration: opts.Duration}
		opts.Progress = line.show
	}
	res, err := load.Run(ctx, node, a.target, opts)
	line.clear()
	if err != nil {
		if errors.Is(err, load.ErrNotServing) {
			return fail(exitFail, "%s: %v", a.target, load.ErrNotServing)
		}
		if ctx.Err() != nil {
			return fail(exitFail, "interrupted (%v) after %d operations", context.Cause(ctx), res.Ops)
		}
		return fail(exitFail, "%v", err)
	}
	printSummary(stdout, node.Name(), res)
	if a.json {
		b, err := json.Marshal(res)
		if err != nil {
			return fail(exitFail, "%v", err)
		}
		fmt.Fprintf(stdout, "%s\n", b)
	}
	return exitOK
}

// localIPToward returns the address this host's packets to addr leave
// from, so that the bench node's name and source address reach a remote
// target; 127.0.0.1 when it cannot tell (the join then says why).
func localIPToward(addr string) net.IP {
	// Connecting a UDP socket sends nothing; it only picks the route.
	c, err := net.Dial("udp", addr)
	if err != nil {
		return net.IPv4(127, 0, 0, 1)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP
}

// progressLine rewrites one line of a terminal with a run's progress.
type progressLine struct {
	w        io.Writer
	workload string
	duration time.Duration
	shown    bool
}

func (p *progressLine) show(pr load.Progress) {
	p.shown = true
	switch pr.Phase {
	case load.PhaseDrain:
		fmt.Fprintf(p.w, "\r%s: waiting for the target to count the casts: %d so far, %.0f/s\x1b[K", p.workload, pr.Ops, pr.Rate)
	default:
		of := ""
		if pr.Phase == load.PhaseRun {
			of = " of " + p.duration.String()
		}
		fmt.Fprintf(p.w, "\r%s %s %.1fs%s: %d ops, %.0f ops/s\x1b[K", p.workload, pr.Phase, pr.Elapsed.Seconds(), of, pr.Ops, pr.Rate)
	}
}

// clear erases the progress line, if one was shown.
func (p *progressLine) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// printSummary writes a run's result for a reader.
func printSummary(w io.Writer, self string, r load.Result) {
	var what string
	switch r.Workload {
	case load.WorkloadCall:
		what = fmt.Sprintf("calls of %s, %s each way, %d in flight", load.MethodEcho, formatBytes(r.Size), r.Concurrency)
	case load.WorkloadCast:
		what = fmt.Sprintf("casts to %s, %s each, from %d goroutine%s", load.MethodCast, formatBytes(r.Size), r.Concurrency, plural(r.Concurrency))
	case load.WorkloadBulk:
		what = fmt.Sprintf("calls of %s carrying %s, empty reply, %d in flight", load.MethodSink, formatBytes(r.Size), r.Concurrency)
	case load.WorkloadLock:
		what = fmt.Sprintf("leader locks in %s's table taken and released by %d owner%s", r.LockNode, r.Concurrency, plural(r.Concurrency))
		if r.Bulk > 0 {
			what += fmt.Sprintf(", with %s calls of %s alongside", formatBytes(r.Bulk), load.MethodSink)
		}
	}
	if r.Workload == load.WorkloadLock && r.Bulk == 0 {
		fmt.Fprintf(w, "%s from %s to %s: %s\n", r.Workload, self, r.Target, what) // no payload
	} else {
		fmt.Fprintf(w, "%s from %s to %s: %s (%s payload)\n", r.Workload, self, r.Target, what, r.Payload)
	}
	fmt.Fprintf(w, "  ops        %d in %.2fs: %.0f ops/s\n", r.Ops, r.ElapsedSec, r.OpsPerSec)
	fmt.Fprintf(w, "  latency    p50 %s, p99 %s, max %s\n", formatMicros(r.P50us), formatMicros(r.P99us), formatMicros(r.MaxUs))
	sent := "payload sent"
	if r.Workload == load.WorkloadCall {
		sent = "request payload sent; the replies carry as much back"
	}
	if r.Workload == load.WorkloadLock {
		if r.Bulk > 0 {
			fmt.Fprintf(w, "  bulk       %.2f MB/s (payload sent alongside the locks)\n", r.BulkMBPerSec)
		}
		return
	}
	fmt.Fprintf(w, "  throughput %.2f MB/s (%s)\n", r.MBPerSec, sent)
}

func formatMicros(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	default:
		return fmt.Sprintf("%.1fus", us)
	}
}

func formatBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d B", n)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
