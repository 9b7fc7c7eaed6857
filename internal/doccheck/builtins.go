package doccheck

import (
	"regexp"
	"slices"
)

// builtinRow is a row of wire/PROTOCOL.md's table of built-in methods
// (section 11.1): a line that starts with | `$ekka.name`.
var builtinRow = regexp.MustCompile("(?m)^\\| `(\\$ekka\\.[a-z_]+)`")

// BuiltinMethods returns the built-in methods ($ekka.*) that the rows of
// protocol, the text of wire/PROTOCOL.md, name: sorted, each once. The
// tests that keep the node's built-ins (package mesh) and ctl call's help
// (cmd/ekka-mesh) in step with the specification read them from here.
func BuiltinMethods(protocol []byte) []string {
	var methods []string
	for _, m := range builtinRow.FindAllSubmatch(protocol, -1) {
		methods = append(methods, string(m[1]))
	}
	slices.Sort(methods)
	return slices.Compact(methods)
}
