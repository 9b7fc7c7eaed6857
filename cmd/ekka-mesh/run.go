package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/splitbrain"
)

func init() {
	register("run", "run a node until SIGINT or SIGTERM (run [--config FILE] [--name NAME] [--set KEY=VALUE ...])", runRun)
}

const runSynopsis = "run [--config FILE] [--name NAME] [--cookie C] [--base-port N] [--set KEY=VALUE ...] [--log-level LEVEL] [--log-format text|json]"

// stopTimeout bounds a node's clean stop after SIGINT or SIGTERM.
const stopTimeout = 10 * time.Second

// runOptions are the parsed flags of run.
type runOptions struct {
	configPath string
	// overrides are "key=value" settings in the order they apply: --name,
	// --cookie, --base-port, --log-level, --log-format, then every --set as
	// given.
	overrides []string
	// logFallback is the log.level of a command whose default differs from
	// the configuration's (bench run: warn) when neither --log-level, the
	// file nor the environment sets it; "" for the configuration's.
	logFallback config.LogLevel
}

// runHooks are what runNode takes from its surroundings, so tests can run
// it in-process.
type runHooks struct {
	getenv func(string) string // environment variables, including HOME
	// environ lists the environment (os.Environ), so that an EKKA_MESH_*
	// variable naming no key is an error like an unknown key in a file.
	// nil: the variables are read through getenv only (tests).
	environ func() []string
	started func(*mesh.Node) // called once the node is up (tests); may be nil
	// hup receives SIGHUP: the node reloads what it can of its
	// configuration (log.level). nil: never.
	hup <-chan struct{}
}

// load reads the settings of opts: the file, the environment and the
// overrides.
func (h runHooks) load(opts runOptions) (config.Settings, error) {
	if h.environ != nil {
		return config.LoadEnv(opts.configPath, opts.overrides, h.environ())
	}
	return config.Load(opts.configPath, opts.overrides, h.getenv)
}

func runRun(args []string, stdout, stderr io.Writer) int {
	opts, code, done := parseRunArgs(args, stdout, stderr)
	if done {
		return code
	}
	ctx, hup, stop := signalContext()
	defer stop()
	return runNode(ctx, opts, stderr, runHooks{getenv: os.Getenv, environ: os.Environ, hup: hup})
}

// signalContext returns a context that SIGINT or SIGTERM cancels, with
// "received signal S" as its cause (run logs it when it stops), a channel
// that receives SIGHUP (which then no longer ends the process; a SIGHUP
// arriving while one waits is merged into it), and the function that
// releases them.
func signalContext() (context.Context, <-chan struct{}, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	hup := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case sig := <-sigc:
				if sig == syscall.SIGHUP {
					select {
					case hup <- struct{}{}:
					default:
					}
					continue
				}
				cancel(fmt.Errorf("received signal %v", sig))
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, hup, func() {
		signal.Stop(sigc)
		cancel(nil)
		<-done
	}
}

// nodeFlags are the flags of every command that runs a node (run, bench
// serve, bench run): the node's settings.
type nodeFlags struct {
	fs                                                  *flag.FlagSet
	config, name, cookie, basePort, logLevel, logFormat *string
	sets                                                []string
	logFallback                                         config.LogLevel
}

// addNodeFlags defines the node flags on fs; nameDoc and cookieDoc are the
// help of --name and --cookie. logFallback is the command's log level when
// neither --log-level nor the configuration sets one ("": log.level's
// default, info).
func addNodeFlags(fs *flag.FlagSet, nameDoc, cookieDoc string, logFallback config.LogLevel) *nodeFlags {
	f := &nodeFlags{fs: fs, logFallback: logFallback}
	f.config = fs.String("config", "", "the configuration `file` (key = value lines; see package config)")
	f.name = fs.String("name", "", nameDoc)
	f.cookie = fs.String("cookie", "", cookieDoc)
	f.basePort = fs.String("base-port", "", "the cluster's base `port` (node.base_port; default 4370); every node of a cluster must use the same one")
	fs.Func("set", "set a configuration key, `KEY=VALUE`; repeatable, applied in order after the file, the environment and the flags above", func(v string) error {
		f.sets = append(f.sets, v)
		return nil
	})
	levelDefault := "log.level, default info"
	if logFallback != "" {
		levelDefault = "log.level, else " + string(logFallback)
	}
	f.logLevel = fs.String("log-level", "", "the least `level` logged: debug, info, warn or error (default: "+levelDefault+"); SIGHUP reloads log.level unless this flag is given")
	f.logFormat = fs.String("log-format", "", "the log's `format`: text (key=value lines) or json (one object per line) (default: log.format, default text)")
	return f
}

// runOptions turns the parsed flags into the settings a node starts with.
func (f *nodeFlags) runOptions() (runOptions, error) {
	opts := runOptions{configPath: *f.config, logFallback: f.logFallback}
	// The order is fixed (name, cookie, base port, log level and format,
	// then --set), not the order on the command line, so that --set always
	// wins.
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, name := range []string{"log-level", "log-format"} {
		if set[name] {
			if err := checkLogFlag(name, f.fs.Lookup(name).Value.String()); err != nil {
				return runOptions{}, err
			}
		}
	}
	if set["name"] {
		opts.overrides = append(opts.overrides, "node.name="+*f.name)
	}
	if set["cookie"] {
		opts.overrides = append(opts.overrides, "node.cookie="+*f.cookie)
	}
	if set["base-port"] {
		opts.overrides = append(opts.overrides, "node.base_port="+*f.basePort)
	}
	if set["log-level"] {
		opts.overrides = append(opts.overrides, "log.level="+*f.logLevel)
		opts.logFallback = ""
	}
	if set["log-format"] {
		opts.overrides = append(opts.overrides, "log.format="+*f.logFormat)
	}
	opts.overrides = append(opts.overrides, f.sets...)
	return opts, nil
}

// parseRunArgs parses run's flags. When done is true the command is over
// (help printed or a usage error reported) and code is its exit status.
func parseRunArgs(args []string, stdout, stderr io.Writer) (opts runOptions, code int, done bool) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	nf := addNodeFlags(fs, "this node's `name`, short@host (node.name; default ekka@127.0.0.1)",
		"the cluster's `cookie` (node.cookie; default: read or create ~/.ekka-mesh.cookie)", "")
	positional, err := parseArgs(fs, args)
	if isHelp(err) {
		fmt.Fprintln(stdout, "Run a node until SIGINT or SIGTERM, then stop it cleanly and exit 0.")
		fmt.Fprintln(stdout, "Settings come from the defaults, then the file, then EKKA_MESH_* environment")
		fmt.Fprintln(stdout, "variables (EKKA_MESH_NODE__NAME for node.name), then the flags, then --set.")
		fmt.Fprintln(stdout, "Logs go to stderr at log.level (--log-level) as text or JSON lines (log.format,")
		fmt.Fprintln(stdout, "--log-format). SIGHUP reloads log.level from the file and the environment and")
		fmt.Fprintln(stdout, "logs which other changed keys need a restart; it does not stop the node.")
		fmt.Fprintln(stdout, "Exit status: 0 after a clean stop, 1 if the node fails to start or stop,")
		fmt.Fprintln(stdout, "2 for a bad flag or configuration.")
		fmt.Fprintln(stdout)
		flagUsage(stdout, fs, runSynopsis)
		return opts, exitOK, true
	}
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh run: %v\nUsage: ekka-mesh %s\n", err, runSynopsis)
		return opts, exitUsage, true
	}
	if len(positional) != 0 {
		fmt.Fprintf(stderr, "ekka-mesh run: takes no arguments besides flags, got %q\nUsage: ekka-mesh %s\n", positional, runSynopsis)
		return opts, exitUsage, true
	}
	if opts, err = nf.runOptions(); err != nil {
		fmt.Fprintf(stderr, "ekka-mesh run: %v\n", err)
		return opts, exitUsage, true
	}
	return opts, exitOK, false
}

// runNode loads the settings, starts the node, logs its events and stops it
// when ctx ends. It returns the exit status.
func runNode(ctx context.Context, opts runOptions, stderr io.Writer, hooks runHooks) int {
	s, err := hooks.load(opts)
	if err != nil {
		printErrorLines(stderr, "ekka-mesh run: ", err)
		return exitUsage
	}
	applyLogFallback(&s, opts, hooks.getenv)
	// loaded are the settings as the sources give them, before the cookie
	// file fills node.cookie: what a reload on SIGHUP compares with.
	loaded := s
	nl := settingsLog(stderr, s)
	log := nl.logger()

	home := hooks.getenv("HOME")
	_, created, err := config.ResolveCookie(&s, home)
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh run: %v\n", err)
		return exitUsage
	}
	if created {
		log.Info("created a new cookie file; every node of the cluster needs the same cookie", "path", filepath.Join(home, config.CookieFile))
	}

	mcfg, err := meshConfigLog(s, log)
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh run: %v\n", err)
		return exitUsage
	}
	// cluster.split_brain.* is configuration too, checked before the node
	// starts.
	sbcfg, decides, err := splitBrainConfig(s, log)
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh run: %v\n", err)
		return exitUsage
	}
	// node.admin.tls.* is configuration too: a bad value stops run before
	// the node starts, with the status of every configuration error.
	adminTLSConfig, err := adminTLS(s.Node.Admin.TLS)
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh run: %v\n", err)
		return exitUsage
	}
	// The mesh's own log: its warnings, errors and admin actions; its
	// routine lines too at debug level. This command logs the lifecycle
	// and events itself.
	mcfg.Logger = nl.meshLogger()

	node, err := mesh.Start(ctx, mcfg)
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh run: %v\n", err)
		return exitFail
	}
	// The default lock service, so that ekka-mesh ctl lock and unlock work.
	lk, err := locker.New(node, locker.Config{Logger: mcfg.Logger})
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh run: %v\n", err)
		sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		node.Stop(sctx)
		return exitFail
	}
	sub := node.Subscribe()
	eventsDone := make(chan struct{})
	var heal *autoheal.Autoheal
	var resolver *splitbrain.Resolver
	// closeServices closes what runs beside the node, before it stops.
	closeServices := func() {
		lk.Close()
		if heal != nil {
			heal.Close()
		}
		if resolver != nil {
			resolver.Close()
		}
	}
	// abort stops the node when it cannot run as configured.
	abort := func(err error) int {
		fmt.Fprintf(stderr, "ekka-mesh run: %v\n", err)
		sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		closeServices()
		node.Stop(sctx)
		sub.Close()
		<-eventsDone
		return exitFail
	}
	go func() {
		defer close(eventsDone)
		for ev := range sub.C() {
			log.Info(ev.Kind.String(), "member", ev.Node, "guid", ev.GUID.String(), "reason", ev.Reason)
		}
	}()
	started := []any{
		"name", node.Name(), "addr", node.Addr().String(), "guid", node.GUID().String(),
		"cluster", node.Cluster(), "base_port", s.Node.BasePort, "discovery", string(s.Cluster.Discovery),
	}
	// A split-brain strategy other than autoheal decides which side of a
	// split serves (splitbrain.go); the losing side suspends itself until
	// the split is over. Else autoheal heals recorded partitions after
	// cluster.autoheal; its heal rounds are logged at warn level, its
	// retries at info.
	switch acfg, on := autohealConfig(s, log); {
	case decides:
		if on {
			log.Info(autohealUnused, "strategy", string(sbcfg.Strategy))
		}
		if resolver, err = splitbrain.Attach(node, sbcfg); err != nil {
			return abort(fmt.Errorf("cluster.split_brain.strategy = %s: %w", sbcfg.Strategy, err))
		}
		started = append(started, "split_brain", string(sbcfg.Strategy), "stable_after", sbcfg.StableAfter.String())
	case on:
		if heal, err = autoheal.Attach(node, acfg); err != nil {
			log.Error("autoheal could not start; partitions are recorded but not healed", "err", err)
		}
		started = append(started, "autoheal", acfg.Delay.String())
	default:
		started = append(started, "autoheal", "off")
	}
	if s.Cluster.Discovery == config.DiscoveryStatic {
		seeds := make([]string, len(s.Cluster.Static.Seeds))
		for i, seed := range s.Cluster.Static.Seeds {
			seeds[i] = seed.String()
		}
		started = append(started, "seeds", strings.Join(seeds, ","))
	}
	if s.Node.TLS.Enable {
		started = append(started, "tls", string(s.Node.TLS.Verify))
	}
	if opts.configPath != "" {
		started = append(started, "config", opts.configPath)
	}
	stopAdmin, err := startAdmin(s, adminTLSConfig, node, lk, heal, resolver, log)
	if err != nil {
		return abort(err)
	}
	if s.Node.Admin.Listen != "" {
		started = append(started, "admin", s.Node.Admin.Listen)
	}
	log.Info("started", started...)
	if hooks.started != nil {
		hooks.started(node)
	}

	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			waiting = false
		case <-hooks.hup:
			loaded = reload(opts, hooks, loaded, nl, log, reloadApply{
				setCookie: func(current string, previous []string) error {
					return node.SetCookie(ctx, current, previous...)
				},
				setTags: func(tags map[string]string) error { return node.SetTags(ctx, tags) },
			})
		}
	}
	reason := context.Cause(ctx)
	if errors.Is(reason, context.Canceled) {
		reason = errors.New("asked to stop")
	}
	log.Info("stopping", "name", node.Name(), "reason", reason.Error())
	sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := stopAdmin(sctx); err != nil {
		log.Warn("admin endpoint did not stop cleanly", "err", err)
	}
	closeServices()
	err = node.Stop(sctx)
	sub.Close()
	<-eventsDone
	if err != nil {
		log.Error("stop failed", "name", node.Name(), "err", err)
		return exitFail
	}
	log.Info("stopped", "name", node.Name())
	return exitOK
}

// printErrorLines writes each line of err (errors.Join puts one error per
// line) with prefix.
func printErrorLines(w io.Writer, prefix string, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}
