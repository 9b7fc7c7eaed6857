package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/ekka-mesh/ekka-mesh/locker"
)

// lockFlags are the flags of ctl lock and ctl unlock.
type lockFlags struct {
	typ    *string
	owner  *string
	lease  *time.Duration
	locker *string
}

func addLockFlags(fs *flag.FlagSet) *lockFlags {
	return &lockFlags{
		typ:    fs.String("type", "quorum", "lock and unlock: the lock `type`, local, leader, quorum or all (ekka's lock/1 takes local by default; ekka-mesh takes quorum, a cluster-wide lock)"),
		owner:  fs.String("owner", "", "lock and unlock: the owner `id` (lock: default a new one, printed; unlock: required)"),
		lease:  fs.Duration("lease", 0, "lock: how long the lock lasts unless renewed (default: the node's, 15s)"),
		locker: fs.String("locker", locker.DefaultName, "lock and unlock: the `name` of the node's lock service"),
	}
}

// ctlOwner makes an owner id for a lock taken without --owner: unique to
// this invocation, printed so that unlock can name it.
func ctlOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("ctl/%s/%d-%08x", host, os.Getpid(), rand.Uint32())
}

func (c *ctlRun) lockRequest(op, resource string) (locker.CtlRequest, int, bool) {
	usage := func(format string, a ...any) (locker.CtlRequest, int, bool) {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s: "+format+"\n", append([]any{op}, a...)...)
		return locker.CtlRequest{}, exitUsage, false
	}
	typ, err := locker.ParseType(*c.lockOpts.typ)
	if err != nil {
		return usage("--type %q: want local, leader, quorum or all", *c.lockOpts.typ)
	}
	if resource == "" {
		return usage("RESOURCE is empty, want the name of the resource to lock")
	}
	req := locker.CtlRequest{Op: op, Resource: resource, Type: typ, Owner: *c.lockOpts.owner}
	switch op {
	case "lock":
		if *c.lockOpts.lease < 0 || (*c.lockOpts.lease > 0 && *c.lockOpts.lease < time.Millisecond) {
			return usage("--lease %v: want a duration of at least 1ms, such as 15s", *c.lockOpts.lease)
		}
		req.LeaseMillis = c.lockOpts.lease.Milliseconds()
		if req.Owner == "" {
			req.Owner = ctlOwner()
		}
	case "unlock":
		if req.Owner == "" {
			return usage("--owner is required: the owner id that holds the lock (printed by ctl lock as \"owner\")")
		}
	}
	return req, 0, true
}

// lockOp sends a lock or unlock to the node's lock service and prints its
// JSON answer, which always names the lock type used ("type"): exit 0 when
// it succeeded, 1 when it was refused. A failure names the type too, as
// ekka's default type (local) differs from ctl's (quorum).
func (c *ctlRun) lockOp(op string, args []string) int {
	req, code, ok := c.lockRequest(op, args[0])
	if !ok {
		return code
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return c.fail(op, err)
	}
	raw, err := c.cl.Call(c.ctx, locker.Method(*c.lockOpts.locker, "ctl"), payload)
	if err != nil {
		why := c.reason(err)
		if strings.Contains(why, "no handler") {
			why += fmt.Sprintf(" (does %s run a lock service named %q?)", c.node, *c.lockOpts.locker)
		}
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s %s (%s lock) on %s: %s\n", op, args[0], req.Type, c.node, why)
		return exitFail
	}
	var rep locker.CtlReply
	if err := json.Unmarshal(raw, &rep); err != nil {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s %s (%s lock): the node sent an unreadable answer: %v\n", op, args[0], req.Type, err)
		return exitFail
	}
	fmt.Fprintf(c.stdout, "%s\n", strings.TrimSpace(string(raw)))
	if !rep.OK() {
		return exitFail
	}
	return exitOK
}

func (c *ctlRun) lock(args []string) int   { return c.lockOp("lock", args) }
func (c *ctlRun) unlock(args []string) int { return c.lockOp("unlock", args) }
