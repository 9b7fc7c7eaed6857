package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// Join's progress: while the node is still dialing NODE2, ctl says so on
// stderr, first after joinFirstProgress, then every joinProgressEvery, with
// what ctl itself finds when it tries NODE2 from this host.
const (
	joinFirstProgress = time.Second
	joinProgressEvery = 2 * time.Second
	joinProbeTimeout  = 2 * time.Second
)

// join asks the node to join NODE2's cluster. The node keeps dialing NODE2
// until it answers or --timeout ends; meanwhile ctl prints progress lines
// instead of waiting in silence, and a failure names what ctl found.
func (c *ctlRun) join(args []string) int {
	target := args[0]
	done := make(chan error, 1)
	go func() {
		_, err := c.admin(mesh.MethodJoin, mesh.AdminRequest{Node: target})
		done <- err // c.ctx bounds the call: this goroutine always ends
	}()
	start := time.Now()
	timer := time.NewTimer(joinFirstProgress)
	defer timer.Stop()
	lastProbe := ""
	for {
		select {
		case err := <-done:
			if err != nil {
				msg := c.joinFailure(err)
				if lastProbe != "" && !strings.Contains(msg, "cannot reach it") {
					msg += "; from this host, " + lastProbe
				}
				fmt.Fprintf(c.stderr, "ekka-mesh ctl: %s could not join %s: %s\n", c.node, target, msg)
				if errors.Is(err, mesh.ErrAlreadyInCluster) {
					return exitAlreadyInCluster
				}
				return exitFail
			}
			if c.json {
				return c.printJSON(map[string]any{"node": c.node, "joined": target})
			}
			fmt.Fprintf(c.stdout, "%s joined the cluster of %s\n", c.node, target)
			return exitOK
		case <-timer.C:
			lastProbe = c.probe(target)
			elapsed := time.Since(start).Round(time.Second)
			fmt.Fprintf(c.stderr, "ekka-mesh ctl: join %s: %s is still trying to reach it (%v of --timeout %v); from this host, %s\n", target, c.node, elapsed, c.timeout, lastProbe)
			timer.Reset(joinProgressEvery)
		}
	}
}

// lastDial finds the node's last dial error in its join error, a
// *net.OpError's text ("dial tcp [SOURCE->]ADDR: ...: CAUSE"): the address
// it dialed and the cause at the end ("connection refused").
var lastDial = regexp.MustCompile(`dial tcp (?:[^ >]+->)?(\S+): (?:.*: )?([^:]+)$`)

// joinFailure says why the node could not join. When the node kept
// dialing NODE2 until the deadline, its error ends with its last dial
// error, which is shortened to "N1 cannot reach it at ADDR: CAUSE (kept
// trying for --timeout D)"; other errors are shown on one line.
func (c *ctlRun) joinFailure(err error) string {
	msg := c.reason(err)
	lines := strings.Split(msg, "\n")
	if len(lines) > 1 && strings.Contains(lines[0], context.DeadlineExceeded.Error()) {
		if m := lastDial.FindStringSubmatch(lines[len(lines)-1]); m != nil {
			return fmt.Sprintf("%s cannot reach it at %s: %s (kept trying for --timeout %v)", c.node, m[1], m[2], c.timeout)
		}
	}
	return strings.Join(lines, "; ")
}

// probe tries to reach node from this host as ctl reaches its own node,
// and says what it found: "cannot reach it at 127.0.0.1:4372: connection
// refused", or that it answers.
func (c *ctlRun) probe(node string) string {
	addr, err := mesh.Addr(node, c.basePort)
	if err != nil {
		return fmt.Sprintf("%s has no address: %v", node, err)
	}
	ctx, cancel := context.WithTimeout(c.ctx, joinProbeTimeout)
	defer cancel()
	cl, err := mesh.Connect(ctx, c.connCfg, node)
	if err == nil {
		cl.Close()
		return fmt.Sprintf("%s answers at %s", node, addr)
	}
	return fmt.Sprintf("cannot reach it at %s: %s", addr, dialReason(err))
}

// dialReason shortens a dial error to its cause, such as "connection
// refused".
func dialReason(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return errno.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %v", joinProbeTimeout)
	}
	return err.Error()
}
