package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ekka-mesh/ekka-mesh/autoheal"
	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
)

func init() {
	register("demo", "start a local demo cluster and narrate what it does (demo [--nodes N])", runDemo)
}

const (
	demoSynopsis     = "demo [--nodes N]"
	demoDefaultNodes = 3
	demoMinNodes     = 2
	demoMaxNodes     = 20
	demoSteps        = 7
	// demoWait bounds every wait of the demo: each step finishes in well
	// under a second on a healthy machine.
	demoWait = 10 * time.Second
	// demoSettle bounds the wait for the goroutines to finish after Stop.
	demoSettle = 3 * time.Second
	// demoMethod is the method every demo node serves.
	demoMethod = "greet"
	// demoHealDelay is the demo's autoheal delay (cluster.autoheal; 15s
	// by default): long enough to show the partition recorded first.
	demoHealDelay = time.Second
)

// runDemo starts a cluster of real nodes on loopback in this process and
// walks through formation, a call, a multicall, a crash, a partition and a
// clean stop, checking what each step shows.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	nodes := fs.Int("nodes", demoDefaultNodes, fmt.Sprintf("how many nodes to start (%d..%d)", demoMinNodes, demoMaxNodes))
	positional, err := parseArgs(fs, args)
	if isHelp(err) {
		fmt.Fprintln(stdout, "Start a small cluster of real nodes on 127.0.0.1 inside this process and")
		fmt.Fprintln(stdout, "watch it form, answer calls, lose a node, split and heal, and stop, with")
		fmt.Fprintln(stdout, "each step explained and checked. Exits 0 when every step behaved as")
		fmt.Fprintln(stdout, "narrated, 1 otherwise.")
		fmt.Fprintln(stdout)
		flagUsage(stdout, fs, demoSynopsis)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh demo: %v\nUsage: ekka-mesh %s\n", err, demoSynopsis)
		return exitUsage
	}
	if len(positional) != 0 {
		fmt.Fprintf(stderr, "ekka-mesh demo: takes no arguments, got %q\nUsage: ekka-mesh %s\n", positional, demoSynopsis)
		return exitUsage
	}
	if *nodes < demoMinNodes || *nodes > demoMaxNodes {
		fmt.Fprintf(stderr, "ekka-mesh demo: --nodes %d is outside %d..%d: a cluster needs at least %d nodes, and the demo runs at most %d in one process\n",
			*nodes, demoMinNodes, demoMaxNodes, demoMinNodes, demoMaxNodes)
		return exitUsage
	}
	d := &demo{out: stdout, n: *nodes}
	return d.run()
}

// demo holds the state of one run of the demo.
type demo struct {
	out      io.Writer
	n        int
	c        *meshtest.Cluster
	subs     []*mesh.Subscription // one per node, subscribed before the joins
	failures int

	heals  []*autoheal.Autoheal // attached in the partition step
	hookMu sync.Mutex
	hooked map[string][]string // node -> hooks it ran, in order
}

func (d *demo) say(format string, a ...any) {
	fmt.Fprintf(d.out, format+"\n", a...)
}

// fail reports a check that did not hold; the demo then exits 1.
func (d *demo) fail(format string, a ...any) {
	d.failures++
	fmt.Fprintf(d.out, "FAILED: "+format+"\n", a...)
}

func (d *demo) step(i int, title string) {
	fmt.Fprintf(d.out, "\n[%d/%d] %s\n", i, demoSteps, title)
}

func (d *demo) name(i int) string { return d.c.Name(i) }

func (d *demo) run() int {
	baseline := runtime.NumGoroutine()
	d.say("ekka-mesh demo: %d nodes on 127.0.0.1, all in this process.", d.n)
	d.say("Each node listens on its own TCP port, and every connection between two nodes")
	d.say("is real TCP through a fault-injection proxy, so the demo can crash a node and")
	d.say("cut the network. Nodes send a heartbeat every 100ms and call a silent peer down")
	d.say("after 600ms (the defaults are 1s and 5s), so the demo finishes in about a second.")

	steps := []func() bool{d.formation, d.call, d.multicall, d.lockContention, d.crash, d.partition}
	for _, s := range steps {
		if !s() {
			d.say("The demo cannot go on after this failure; it stops the nodes.")
			break
		}
	}
	d.stop(baseline)

	if d.failures > 0 {
		d.say("\ndemo FAILED: %d check(s) did not hold (see the FAILED lines above)", d.failures)
		return exitFail
	}
	d.say("\ndemo finished: every step behaved as narrated")
	return exitOK
}

// formation is step 1: start the nodes, join them, wait for the full mesh.
func (d *demo) formation() bool {
	d.step(1, "Cluster formation")
	ctx, cancel := demoContext()
	c, err := meshtest.Start(ctx, d.n, nil)
	cancel()
	if err != nil {
		d.fail("expected %d nodes to start on 127.0.0.1; got: %v", d.n, err)
		return false
	}
	d.c = c
	d.say("Started %d nodes. Their ports are free ones chosen by the system, not the", d.n)
	d.say("ports their names map to (n1 -> 4371), so the demo never clashes with a real cluster:")
	for i := 0; i < d.n; i++ {
		d.say("  %-16s listening on %s", d.name(i), c.Node(i).Addr())
		d.subs = append(d.subs, c.Node(i).Subscribe())
	}
	switch d.n {
	case 2:
		d.say("%s joins %s: it contacts it, receives its member table and links", d.name(1), d.name(0))
	case 3:
		d.say("%s and %s join %s: each contacts it, receives its member table and links", d.name(1), d.name(2), d.name(0))
	default:
		d.say("%s ... %s join %s: each contacts it, receives its member table and links", d.name(1), d.name(d.n-1), d.name(0))
	}
	d.say("to every member it lists, so the nodes end up in a full mesh.")
	t0 := time.Now()
	for i := 1; i < d.n; i++ {
		ctx, cancel := demoContext()
		err := c.Node(i).Join(ctx, d.name(0))
		cancel()
		if err != nil {
			d.fail("expected %s to join %s; got: %v", d.name(i), d.name(0), err)
			return false
		}
	}
	all := demoRange(0, d.n)
	if err := d.waitRunning(all...); err != nil {
		d.fail("expected every node to see all %d nodes running within %v; %v", d.n, demoWait, err)
		d.showViews(all)
		return false
	}
	d.say("Every node sees all %d nodes running, %s after the first join.", d.n, demoDur(time.Since(t0)))

	members := c.Node(0).Members()
	d.say("Member table of %s (a GUID starts with the node's start time, so the oldest sorts first):", d.name(0))
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NODE\tSTATUS\tGUID")
	for _, m := range members {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.Node, m.Status, m.GUID)
	}
	tw.Flush()
	if len(members) != d.n {
		d.fail("expected %d members in the table of %s; got %d", d.n, d.name(0), len(members))
	}
	for _, m := range members {
		i := slices.Index(c.Names(), m.Node)
		switch {
		case i < 0:
			d.fail("the table of %s lists %s, which the demo did not start", d.name(0), m.Node)
		case m.Status != mesh.StatusUp:
			d.fail("expected %s to be up in the table of %s; it is %s", m.Node, d.name(0), m.Status)
		}
		if nd := demoNodeNamed(c, m.Node); nd != nil && nd.GUID() != m.GUID {
			d.fail("expected %s's GUID %s in the table of %s; got %s", m.Node, nd.GUID(), d.name(0), m.GUID)
		}
	}
	for i := 0; i < d.n; i++ {
		if p := c.Node(i).Info().Partitions; len(p) != 0 {
			d.fail("expected no partition recorded in a cluster that just formed; %s records %v", d.name(i), p)
		}
	}
	return true
}

// call is step 2: a handler on every node, one call from node 1 to node 2.
func (d *demo) call() bool {
	d.step(2, "A call")
	for i := 0; i < d.n; i++ {
		if err := d.c.Node(i).Handle(demoMethod, demoGreeter(d.name(i))); err != nil {
			d.fail("expected %s to register the handler %q; got: %v", d.name(i), demoMethod, err)
			return false
		}
	}
	d.say("Every node registers a handler for the method %q; it answers", demoMethod)
	d.say("\"hello <caller>, this is <itself>\".")
	ctx, cancel := demoContext()
	defer cancel()
	t0 := time.Now()
	reply, err := d.c.Node(0).Call(ctx, d.name(1), demoMethod, nil)
	rtt := time.Since(t0)
	if err != nil {
		d.fail("expected %s to answer a call from %s; got: %v", d.name(1), d.name(0), err)
		return true
	}
	d.say("%s calls %q on %s and gets the reply %q, round trip %s.", d.name(0), demoMethod, d.name(1), reply, demoDur(rtt))
	if want := demoGreeting(d.name(0), d.name(1)); string(reply) != want {
		d.fail("expected the reply %q; got %q", want, reply)
	}
	return true
}

// multicall is step 3: node 1 calls every running node at once.
func (d *demo) multicall() bool {
	d.step(3, "Multicall")
	ctx, cancel := demoContext()
	defer cancel()
	d.say("%s calls %q on every running node at once, itself included, and", d.name(0), demoMethod)
	d.say("gets each node's reply and the list of nodes that failed (like Erlang's rpc:multicall):")
	res := d.c.Node(0).Multicall(ctx, nil, demoMethod, nil)
	for _, name := range d.c.Names() {
		if reply, ok := res.Replies[name]; ok {
			d.say("  %-16s replied %q", name, reply)
			if want := demoGreeting(d.name(0), name); string(reply) != want {
				d.fail("expected %s to reply %q; got %q", name, want, reply)
			}
		} else if err, ok := res.Errors[name]; ok {
			d.say("  %-16s failed: %v", name, err)
		} else {
			d.say("  %-16s was not called", name)
		}
	}
	if len(res.Failed) == 0 {
		d.say("No node failed.")
	} else {
		d.say("Failed nodes: %s", strings.Join(res.Failed, ", "))
	}
	if len(res.Replies) != d.n || len(res.Failed) != 0 {
		d.fail("expected replies from all %d nodes and no failure; got %d replies, failed: %v", d.n, len(res.Replies), res.Failed)
	}
	return true
}

// crash is step 4: the last node stops without leaving; node 1 sees it down.
func (d *demo) crash() bool {
	d.step(5, "A node crash")
	victim := d.n - 1
	vname := d.name(victim)
	guid := d.c.Node(victim).GUID()
	d.say("%s crashes: its connections drop all at once, as when the operating system", vname)
	d.say("closes the sockets of a process that died, and the node is gone without leaving")
	d.say("the cluster or saying goodbye. %s subscribed to its events before the", d.name(0))
	d.say("cluster formed, so it can show what it noticed.")
	t0 := time.Now()
	// Cutting the victim off first keeps its goodbye from reaching anyone:
	// its peers see the connections drop, as after a real crash.
	d.c.Isolate(victim)
	ctx, cancel := demoContext()
	err := d.c.Kill(ctx, victim)
	cancel()
	if err != nil {
		d.fail("expected %s to stop; got: %v", vname, err)
		return false
	}
	ctx, cancel = demoContext()
	evs, err := demoWaitEvents(ctx, d.subs[0], mesh.EventNodeDown, []string{vname})
	cancel()
	if err != nil {
		d.fail("expected %s to receive a node-down event for %s; %v", d.name(0), vname, err)
		return false
	}
	ev := evs[vname]
	d.say("%s received: %s %s (reason: %s), %s after the crash.", d.name(0), ev.Kind, ev.Node, demoReason(ev.Reason), demoDur(ev.Time.Sub(t0)))
	if ev.GUID != guid {
		d.fail("expected the event to carry the crashed incarnation's GUID %s; got %s", guid, ev.GUID)
	}
	d.say("A connection that breaks marks the peer down at once; a peer that just goes")
	d.say("silent (a power cut, a cable pulled) is marked down after the heartbeat timeout.")

	rest := demoRange(0, d.n-1)
	if err := d.waitRunning(rest...); err != nil {
		d.fail("expected the other nodes to run without %s; %v", vname, err)
		d.showViews(rest)
		return false
	}
	info := d.c.Node(0).Info()
	d.say("Info of %s:", d.name(0))
	d.say("  running_nodes: %s", demoList(info.RunningNodes))
	d.say("  stopped_nodes: %s", demoList(info.StoppedNodes))
	if !slices.Equal(info.StoppedNodes, []string{vname}) {
		d.fail("expected stopped_nodes to be [%s]; got %v", vname, info.StoppedNodes)
	}
	d.say("%s stays a member, marked down, and is redialed with backoff: that is how a", vname)
	d.say("restart or a healed network is noticed. Meanwhile calls to it fail at once:")
	_, err = d.callFrom(0, vname, demoMethod, nil)
	d.say("  %s -> %s: %v", d.name(0), vname, err)
	if !errors.Is(err, mesh.ErrNodeDown) {
		d.fail("expected the call to %s to fail with %q; got: %v", vname, mesh.ErrNodeDown, err)
	}
	return true
}

// partition is step 5: node 1 is cut off from the other running nodes, the
// network heals, both sides record the partition, and an operator clears it.
func (d *demo) partition() bool {
	d.step(6, "A network partition")
	if d.n < 3 {
		d.say("Skipped: after the crash only %s is running, and a partition needs at", d.name(0))
		d.say("least two running nodes. Run \"ekka-mesh demo --nodes 3\" or more to see one.")
		return true
	}
	sideA := []int{0}
	sideB := demoRange(1, d.n-1)
	var namesB []string // in node order: n2 before n10
	for _, b := range sideB {
		namesB = append(namesB, d.name(b))
	}
	n1 := d.name(0)
	d.say("Autoheal runs on every node, with a delay of %v (cluster.autoheal; 15s by", demoHealDelay)
	d.say("default), and the application's prepare and reboot hooks.")
	for _, i := range demoRange(0, d.n-1) {
		if err := d.attachAutoheal(i); err != nil {
			d.fail("expected autoheal to attach to %s; got: %v", d.name(i), err)
			return false
		}
	}
	d.say("The fault-injection network cuts every link between %s and %s:", n1, demoList(namesB))
	d.say("their connections close and new dials are refused, while every node keeps running.")
	t0 := time.Now()
	d.c.Partition(sideA, sideB)

	if !d.showEvents(0, mesh.EventNodeDown, namesB, t0, "the cut") {
		return false
	}
	for _, b := range sideB {
		if !d.showEvents(b, mesh.EventNodeDown, []string{n1}, t0, "the cut") {
			return false
		}
	}
	if err := d.waitRunning(sideA...); err != nil {
		d.fail("expected %s to run alone; %v", n1, err)
		d.showViews(demoRange(0, d.n-1))
		return false
	}
	if err := d.waitRunning(sideB...); err != nil {
		d.fail("expected %s to run together; %v", demoList(namesB), err)
		d.showViews(demoRange(0, d.n-1))
		return false
	}
	d.say("Each side's view (running nodes):")
	d.showViews(demoRange(0, d.n-1))
	_, err := d.callFrom(0, d.name(1), demoMethod, nil)
	d.say("A call across the split fails: %s -> %s: %v", n1, d.name(1), err)
	if !errors.Is(err, mesh.ErrNodeDown) {
		d.fail("expected the call across the split to fail with %q; got: %v", mesh.ErrNodeDown, err)
	}

	d.say("The network heals. Down members are redialed with backoff, and a redial is")
	d.say("what finds the healed network.")
	t1 := time.Now()
	d.c.HealAll()
	rest := demoRange(0, d.n-1)
	if err := d.waitRunning(rest...); err != nil {
		d.fail("expected the links to come back after the heal; %v", err)
		d.showViews(rest)
		return false
	}
	d.say("The links are back %s after the heal: every remaining node sees %s running.",
		demoDur(time.Since(t1)), demoList(d.c.Names(rest...)))
	reply, err := d.callFrom(0, d.name(1), demoMethod, nil)
	if err != nil {
		d.fail("expected calls to flow again after the heal; %s -> %s: %v", n1, d.name(1), err)
	} else {
		d.say("Calls flow again: %s -> %s replied %q.", n1, d.name(1), reply)
	}
	d.say("But both sides kept running apart, so any state they replicate may have")
	d.say("diverged. Each side saw a member it had marked down come back with the same")
	d.say("GUID, which is a partition, and records it until it is healed:")
	if !d.showEvents(0, mesh.EventPartitionOccurred, namesB, t1, "the heal") {
		return false
	}
	for _, b := range sideB {
		if !d.showEvents(b, mesh.EventPartitionOccurred, []string{n1}, t1, "the heal") {
			return false
		}
	}
	want := func(i int) []string {
		if i == 0 {
			return slices.Sorted(slices.Values(namesB)) // Info sorts by name
		}
		return []string{n1}
	}
	if err := d.waitFor("every side to record the partition", func() bool {
		for _, i := range rest {
			if !slices.Equal(d.c.Node(i).Info().Partitions, want(i)) {
				return false
			}
		}
		return true
	}); err != nil {
		d.fail("expected %s to record partitions with %s and each of them with %s; %v", n1, demoList(namesB), n1, err)
	}
	for _, i := range rest {
		d.say("  Info of %s: partitions %s", d.name(i), demoList(d.c.Node(i).Info().Partitions))
	}

	leader := autoheal.Leader(d.c.Node(0).Members())
	d.say("Every node reports its partitions to the leader, %s, the oldest node.", leader)
	d.say("Once the reports have stopped for %v, the leader gathers every node's view", demoHealDelay)
	d.say("and splits them into sides; the oldest node of the largest side (the oldest")
	d.say("side on a tie) heals the others one at a time: each runs the prepare hook,")
	d.say("drops its links and member table, rejoins, and runs the reboot hook. Every")
	d.say("node sees each partition it recorded healed:")
	if leader != n1 {
		d.fail("expected the leader to be %s, the oldest node; got %q", n1, leader)
	}
	if !d.showEvents(0, mesh.EventPartitionHealed, namesB, t1, "the network healed") {
		return false
	}
	for _, b := range sideB {
		if !d.showEvents(b, mesh.EventPartitionHealed, []string{n1}, t1, "the network healed") {
			return false
		}
	}
	// The larger side stays; on a tie (one node each) the side of the
	// oldest node, n1, does.
	victims := []string{n1}
	if len(sideB) == 1 {
		victims = namesB
	}
	if err := d.waitFor("every node up and the hooks run on "+demoList(victims), func() bool {
		for _, i := range rest {
			for _, m := range d.c.Node(i).Members() {
				if m.Status != mesh.StatusUp && m.Node != d.name(d.n-1) {
					return false
				}
			}
		}
		d.hookMu.Lock()
		defer d.hookMu.Unlock()
		return len(d.hooked) == len(victims)
	}); err != nil {
		d.fail("expected the victims %s to heal and every node to be up; %v", demoList(victims), err)
	}
	d.hookMu.Lock()
	for _, name := range d.c.Names(rest...) {
		if hooks, ok := d.hooked[name]; ok {
			d.say("  %s ran the hooks %s.", name, strings.Join(hooks, ", then "))
		}
	}
	var ran []string
	for _, name := range victims {
		if hooks := d.hooked[name]; !slices.Equal(hooks, []string{"prepare", "reboot"}) {
			d.fail("expected %s to run prepare, then reboot; it ran %v", name, hooks)
		}
	}
	for name := range d.hooked {
		ran = append(ran, name)
	}
	d.hookMu.Unlock()
	slices.Sort(ran)
	if !slices.Equal(ran, slices.Sorted(slices.Values(victims))) {
		d.fail("expected the hooks to run on exactly %s; they ran on %v", demoList(victims), ran)
	}
	d.say("The cluster is one again, %s after the network healed: every node is up.", demoDur(time.Since(t1)))
	clean := true
	for _, i := range rest {
		if p := d.c.Node(i).Info().Partitions; len(p) != 0 {
			d.fail("expected no partition recorded on %s after the clear; got %v", d.name(i), p)
			clean = false
		}
	}
	if clean {
		d.say("No node records a partition any more.")
	}
	return true
}

// stop is step 6: stop every node and check that their goroutines finished.
func (d *demo) stop(baseline int) {
	d.step(7, "A clean stop")
	if d.c == nil {
		d.say("No node was started, so there is nothing to stop.")
		return
	}
	for _, s := range d.subs {
		s.Close()
	}
	for _, h := range d.heals {
		h.Close()
	}
	ctx, cancel := demoContext()
	defer cancel()
	d.say("Every node stops: it says goodbye to its peers, closes its links and waits for")
	d.say("its goroutines; then the fault-injection network closes its proxies.")
	t0 := time.Now()
	if err := d.c.Stop(ctx); err != nil {
		d.fail("expected every node to stop within %v; got: %v", demoWait, err)
		return
	}
	d.say("Every node stopped, in %s.", demoDur(time.Since(t0)))
	settle, cancelSettle := context.WithTimeout(context.Background(), demoSettle)
	defer cancelSettle()
	after := runtime.NumGoroutine()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for after > baseline {
		select {
		case <-settle.Done():
			d.fail("expected the goroutine count to return to %d (before the demo) within %v; it is %d",
				baseline, demoSettle, after)
			return
		case <-t.C:
			after = runtime.NumGoroutine()
		}
	}
	d.say("Goroutines in this process: %d before the demo, %d now: every goroutine the", baseline, after)
	d.say("nodes and the network started has finished.")
}

// attachAutoheal attaches autoheal to node i, with hooks that note what
// ran.
func (d *demo) attachAutoheal(i int) error {
	name := d.name(i)
	note := func(hook string) func(context.Context, string) error {
		return func(context.Context, string) error {
			d.hookMu.Lock()
			defer d.hookMu.Unlock()
			if d.hooked == nil {
				d.hooked = map[string][]string{}
			}
			d.hooked[name] = append(d.hooked[name], hook)
			return nil
		}
	}
	h, err := autoheal.Attach(d.c.Node(i), autoheal.Config{
		Delay: demoHealDelay,
		Hooks: autoheal.Hooks{Prepare: note("prepare"), Reboot: note("reboot")},
	})
	if err != nil {
		return err
	}
	d.heals = append(d.heals, h)
	return nil
}

// showEvents waits on node i's subscription for an event of kind about
// each of nodes and prints them, with the time elapsed since t0 ("after
// what") unless what is empty.
func (d *demo) showEvents(i int, kind mesh.EventKind, nodes []string, t0 time.Time, what string) bool {
	ctx, cancel := demoContext()
	defer cancel()
	evs, err := demoWaitEvents(ctx, d.subs[i], kind, nodes)
	if err != nil {
		d.fail("expected %s to receive %s events for %s; %v", d.name(i), kind, demoList(nodes), err)
		return false
	}
	for _, node := range nodes {
		ev := evs[node]
		if what == "" {
			d.say("  %s received: %s %s (reason: %s).", d.name(i), ev.Kind, ev.Node, demoReason(ev.Reason))
			continue
		}
		d.say("  %s received: %s %s (reason: %s), %s after %s.", d.name(i), ev.Kind, ev.Node, demoReason(ev.Reason), demoDur(ev.Time.Sub(t0)), what)
	}
	return true
}

// demoContext bounds one wait of the demo.
func demoContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), demoWait)
}

// waitRunning waits until each of the given nodes sees exactly them running.
func (d *demo) waitRunning(idx ...int) error {
	ctx, cancel := demoContext()
	defer cancel()
	return d.c.WaitRunning(ctx, idx...)
}

// waitFor waits until cond holds; the error names what.
func (d *demo) waitFor(what string, cond func() bool) error {
	ctx, cancel := demoContext()
	defer cancel()
	return d.c.Wait(ctx, what, cond)
}

// callFrom calls method on node from node i, bounded by demoWait.
func (d *demo) callFrom(i int, node string, method string, payload []byte) ([]byte, error) {
	ctx, cancel := demoContext()
	defer cancel()
	return d.c.Node(i).Call(ctx, node, method, payload)
}

// showViews prints the running nodes of each of the given nodes.
func (d *demo) showViews(idx []int) {
	for _, i := range idx {
		if nd := d.c.Node(i); nd != nil {
			d.say("  %s sees running: %s", d.name(i), demoList(nd.Info().RunningNodes))
		}
	}
}

// demoWaitEvents reads sub until it has seen an event of kind for every one
// of nodes, skipping other events, and returns the first of each by node.
func demoWaitEvents(ctx context.Context, sub *mesh.Subscription, kind mesh.EventKind, nodes []string) (map[string]mesh.Event, error) {
	got := make(map[string]mesh.Event, len(nodes))
	for len(got) < len(nodes) {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				return got, errors.New("the event stream closed")
			}
			if _, seen := got[ev.Node]; ev.Kind == kind && !seen && slices.Contains(nodes, ev.Node) {
				got[ev.Node] = ev
			}
		case <-ctx.Done():
			var missing []string
			for _, n := range nodes {
				if _, ok := got[n]; !ok {
					missing = append(missing, n)
				}
			}
			return got, fmt.Errorf("none arrived for %s: %w", demoList(missing), ctx.Err())
		}
	}
	return got, nil
}

func demoGreeter(self string) mesh.Handler {
	return func(_ context.Context, from string, _ []byte) ([]byte, error) {
		return []byte(demoGreeting(from, self)), nil
	}
}

func demoGreeting(caller, callee string) string {
	return "hello " + caller + ", this is " + callee
}

func demoNodeNamed(c *meshtest.Cluster, name string) *mesh.Node {
	for i := 0; i < c.Len(); i++ {
		if c.Name(i) == name {
			return c.Node(i)
		}
	}
	return nil
}

// demoRange returns the indexes from..to-1.
func demoRange(from, to int) []int {
	idx := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		idx = append(idx, i)
	}
	return idx
}

func demoList(names []string) string {
	return "[" + strings.Join(names, ", ") + "]"
}

// demoReason words an event's reason for people.
func demoReason(r string) string {
	switch r {
	case "":
		return "none given"
	case "EOF":
		return "the connection closed (EOF)"
	}
	return r
}

// demoDur rounds d for people: microseconds below a millisecond, tenths of a
// millisecond above.
func demoDur(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}
