//go:build ignore

// gen_doc writes docs/CONFIG.md from config.Keys(). Run it with
//
//	go generate ./config
//
// (from any directory of the module); config/doc_test.go fails while the
// page differs from what this would write.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/internal/configdoc"
)

func main() {
	// go generate runs this in the package's directory, config/.
	out := filepath.Join("..", filepath.FromSlash(configdoc.Path))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gen_doc:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(out, configdoc.Markdown(config.Keys()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen_doc:", err)
		os.Exit(1)
	}
	fmt.Printf("gen_doc: wrote %s (%d keys)\n", configdoc.Path, len(config.Keys()))
}
