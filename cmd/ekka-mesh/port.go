package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

func init() {
	register("port", "print the TCP port a node name maps to (port NAME [--base-port N])", runPort)
}

const portSynopsis = "port NAME [--base-port N]"

// runPort prints the port NAME listens on: base port + the digits at the end
// of its short name, modulo 60000.
func runPort(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("port", flag.ContinueOnError)
	base := fs.Int("base-port", portmap.DefaultBasePort, "the cluster's base port (node.base_port); every node of a cluster must use the same one")
	positional, err := parseArgs(fs, args)
	if isHelp(err) {
		fmt.Fprintln(stdout, "Print the TCP port a node name maps to: base port + the decimal digits")
		fmt.Fprintln(stdout, "at the end of the short name, modulo 60000. emqx12@h -> 4382.")
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
	n, err := portmap.Parse(positional[0])
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh port: %v\n", err)
		return exitUsage
	}
	port, err := n.Port(*base)
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh port: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, port)
	return exitOK
}
