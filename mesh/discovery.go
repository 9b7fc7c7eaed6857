package mesh

import "github.com/ekka-mesh/ekka-mesh/discovery"

// ErrNotSupported is discovery.ErrNotSupported, the same error value.
//
// Deprecated: use discovery.ErrNotSupported. The strategies and the
// autocluster loop use it already; this name stays only while Node.Stop
// (node.go) still refers to it, and goes with that reference.
var ErrNotSupported = discovery.ErrNotSupported
