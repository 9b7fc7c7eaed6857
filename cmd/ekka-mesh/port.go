package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

func init() {
	register("port", "print the TCP port a node name maps to (port NAME [--base-port N])", runPort)
}

const portSynopsis = "port NAME [--base-port N]"

// runPort prints the port NAME listens on: base port + the digits at the end
// of its short name, modulo 60000. NAME may be a short name alone (emqx12),
// as ekka_dist:port/1 takes it; a remote shell's name (remsh...) has no
// port, and port says why (see package portmap).
func runPort(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("port", flag.ContinueOnError)
	base := fs.Int("base-port", portmap.DefaultBasePort, "the cluster's base port (node.base_port); every node of a cluster must use the same one")
	positional, err := parseArgs(fs, args)
	if isHelp(err) {
		fmt.Fprintln(stdout, "Print the TCP port a node name maps to: base port + the decimal digits")
		fmt.Fprintln(stdout, "at the end of the short name, modulo 60000. emqx12@h -> 4382.")
		fmt.Fprintln(stdout, "NAME may be a short name alone, as epmd asks ekka: emqx12 -> 4382.")
		fmt.Fprintln(stdout, "The base port is 1..65535 (4370 when --base-port is not given).")
		fmt.Fprintln(stdout, "Names beginning with remsh have no port: ekka gives these remote shells")
		fmt.Fprintln(stdout, "port 0 (random; nothing connects to them), and ekka-mesh runs no node")
		fmt.Fprintln(stdout, "under such a name (ctl, its remote shell, never listens).")
		fmt.Fprintln(stdout)
		flagUsage(stdout, fs, portSynopsis)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh port: %v\nUsage: ekka-mesh %s\n", err, portSynopsis)
		return exitUsage
	}
	if len(positional) != 1 {
		fmt.Fprintf(stderr, "ekka-mesh port: want exactly one node name, got %d arguments %q\nUsage: ekka-mesh %s\n", len(positional), positional, portSynopsis)
		return exitUsage
	}
	port, err := namePort(positional[0], *base)
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh port: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, port)
	return exitOK
}

// namePort is the port of arg, a node name or a short name alone. Its
// errors say what to do about a base port of 0 and about a remote shell's
// name.
func namePort(arg string, base int) (int, error) {
	var port int
	var err error
	if strings.Contains(arg, "@") {
		var n portmap.Name
		if n, err = portmap.Parse(arg); err == nil {
			port, err = n.Port(base)
		}
	} else {
		port, err = portmap.ShortPort(arg, base)
	}
	switch {
	case errors.Is(err, portmap.ErrBadBase) && base == 0:
		return 0, fmt.Errorf("%w (leave --base-port out for the default, %d)", err, portmap.DefaultBasePort)
	case errors.Is(err, portmap.ErrRemoteShell):
		return 0, fmt.Errorf("%w; ekka would give it port 0", err)
	}
	return port, err
}
