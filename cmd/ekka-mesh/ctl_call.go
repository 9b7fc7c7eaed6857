package main

import (
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/ekka-mesh/ekka-mesh/locker"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// builtinMethod is one of the methods every node serves, for ctl call's
// help.
type builtinMethod struct {
	name    string // mesh's constant
	payload string // what PAYLOAD to give
	reply   string // what the reply is
}

// builtinMethods lists the built-in methods a bare node (mesh.Start, no
// service attached) serves, by mesh's exported constants; wire/PROTOCOL.md
// section 11.1 specifies them, and TestCallHelpListsBuiltins checks that
// this list names every method of that table.
var builtinMethods = []builtinMethod{
	{mesh.MethodInfo, "none", "the node's view of its cluster, JSON (what ctl status --json prints)"},
	{mesh.MethodPong, "none", "the 4 bytes pong: the node is alive"},
	{mesh.MethodPing, `{"node":"N"}`, `{"rtt_us":...}: the node pings N`},
	{mesh.MethodStatus, `{"node":"N"}`, "N as the node sees it: running, stopped or not a member, JSON"},
	{mesh.MethodCall, `{"node":"N","method":"M","payload":"BASE64"}`, "the reply of M called on N"},
	{mesh.MethodJoin, `{"node":"N"}`, "empty: the node joined N's cluster"},
	{mesh.MethodLeave, "none", "empty: the node left its cluster"},
	{mesh.MethodForceLeave, `{"node":"N"}`, "empty: N was removed from the cluster"},
	{mesh.MethodClearPartition, `{"node":"N"}`, "empty: the node forgot its partition with N"},
	{mesh.MethodAutocluster, `{"action":"on|off|now|status"}`, "the autocluster loop's state after the action, JSON (ctl autocluster)"},
	{mesh.MethodTags, `{"action":"get|set","tags":{"K":"V"}}`, "the node and its tags after the action, JSON (ctl tags)"},
	{mesh.MethodRotateCookie, `{"cookie":"NEW","keep_previous":true}`, "the node and how many previous cookies it accepts, JSON (ctl rotate-cookie)"},
}

// callHelp writes the part of ctl's help about call: the built-in methods
// and how the reply is printed.
func callHelp(w io.Writer) {
	fmt.Fprintln(w, "Methods for call: the application's own, and these built-in ones that every")
	fmt.Fprintln(w, "node serves (PAYLOAD, then the reply; wire/PROTOCOL.md section 11.1):")
	for _, m := range builtinMethods {
		fmt.Fprintf(w, "  %-22s %s -> %s\n", m.name, m.payload, m.reply)
	}
	fmt.Fprintf(w, "A node started by `ekka-mesh run` also serves its lock service's methods\n(%s...); ctl lock and unlock use them.\n", locker.Method(locker.DefaultName, ""))
	fmt.Fprintln(w, "call prints the reply as it came and, when the reply is text (UTF-8 without")
	fmt.Fprintln(w, "control characters other than tab, CR and LF) that does not end with a newline,")
	fmt.Fprintln(w, "adds one; --raw prints the bytes exactly as they came, text or not. A binary")
	fmt.Fprintln(w, "reply is always printed exactly.")
}

// call asks the node to call METHOD on NODE2 and prints the reply (see
// writeReply).
func (c *ctlRun) call(args []string) int {
	if c.tagFilter != nil {
		return c.callTagged(args) // ctl_tags.go
	}
	target, method := args[0], args[1]
	var payload []byte
	if len(args) == 3 {
		payload = []byte(args[2])
	}
	reply, err := c.admin(mesh.MethodCall, mesh.AdminRequest{Node: target, Method: method, Payload: payload})
	if err != nil {
		return c.fail(fmt.Sprintf("call %s on %s via %s", method, target, c.node), err)
	}
	if err := writeReply(c.stdout, reply, c.raw); err != nil {
		fmt.Fprintf(c.stderr, "ekka-mesh ctl: writing the reply: %v\n", err)
		return exitFail
	}
	return exitOK
}

// writeReply writes a call's reply to w: the bytes as they came, followed
// by a newline when the reply is text (isText) that does not end with one,
// so that a shell prompt or the next line of a script's output does not
// run on from it. raw (ctl call --raw), an empty reply and a binary reply
// get no newline: their bytes are written exactly.
func writeReply(w io.Writer, reply []byte, raw bool) error {
	if _, err := w.Write(reply); err != nil {
		return err
	}
	if raw || len(reply) == 0 || reply[len(reply)-1] == '\n' || !isText(reply) {
		return nil
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// isText reports whether b is UTF-8 text: valid UTF-8 with no control
// character other than tab, LF and CR (no NUL, no escape sequences).
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			return false
		}
	}
	return true
}
