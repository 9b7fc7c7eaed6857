// Command ekka-mesh is the ekka-mesh node binary and its tools.
//
// Usage:
//
//	ekka-mesh <command> [arguments]
//
// Commands:
//
//	port     print the TCP port a node name maps to
//	run      run a node from a configuration file
//	ctl      control a running node (join, leave, status, ...)
//	demo     start a local demo cluster
//	version  print the version
//	help     print this help, or a command's help
//
// Each command is a func(args, stdout, stderr) int registered in one table;
// the exit status is 0 on success, 2 for a usage error (bad flag, bad
// argument, unknown command) and 1 for any other failure.
//
// ekka-mesh port NAME [--base-port N] prints the port of a node name by the
// ekka rule (see package portmap): base port + the digits at the end of the
// short name, modulo 60000. For example, "ekka-mesh port emqx12@h" prints
// 4382. Every node of a cluster must use the same base port.
package main
