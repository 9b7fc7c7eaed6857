package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ekka-mesh/ekka-mesh/config"
)

func init() {
	register("check-config", "validate a node's configuration without starting it (check-config [--config FILE] [--set KEY=VALUE ...])", runCheckConfig)
}

const checkConfigSynopsis = "check-config [--config FILE] [--name NAME] [--cookie C] [--base-port N] [--set KEY=VALUE ...] [--json] [-v | --verbose]"

func runCheckConfig(args []string, stdout, stderr io.Writer) int {
	return checkConfigMain(args, stdout, stderr, os.Environ())
}

// checkConfigMain validates the configuration that `run` with the same
// flags and environment would start with: the file, the EKKA_MESH_*
// variables of environ and the flags through config.LoadEnv, then the
// mapping to mesh.Config (TLS files, discovery settings, limits). It never
// creates the cookie file nor opens a port.
func checkConfigMain(args []string, stdout, stderr io.Writer, environ []string) int {
	fset := flag.NewFlagSet("check-config", flag.ContinueOnError)
	nf := addNodeFlags(fset, "this node's `name`, short@host (node.name)", "the cluster's `cookie` (node.cookie)", "")
	asJSON := fset.Bool("json", false, "print the result as one JSON object: {\"ok\", \"errors\", \"notes\", \"settings\"}")
	verbose := fset.Bool("verbose", false, "also print the effective value of every key (the cookie is never printed)")
	fset.BoolVar(verbose, "v", false, "short for --verbose")
	positional, err := parseArgs(fset, args)
	if isHelp(err) {
		fmt.Fprintln(stdout, "Validate a node's configuration without starting the node: the file, the")
		fmt.Fprintln(stdout, "EKKA_MESH_* environment variables and the flags, read as `run` reads them,")
		fmt.Fprintln(stdout, "then the TLS files, the discovery settings and the limits the node would use.")
		fmt.Fprintln(stdout, "Prints \"configuration OK\" or every error, one a line (file:line: key = value: want ...).")
		fmt.Fprintln(stdout, "Exit status: 0 when the configuration is valid, 2 when it is not or for a bad flag.")
		fmt.Fprintln(stdout)
		flagUsage(stdout, fset, checkConfigSynopsis)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh check-config: %v\nUsage: ekka-mesh %s\n", err, checkConfigSynopsis)
		return exitUsage
	}
	if len(positional) != 0 {
		fmt.Fprintf(stderr, "ekka-mesh check-config: takes no arguments besides flags, got %q (give the file with --config FILE)\nUsage: ekka-mesh %s\n", positional, checkConfigSynopsis)
		return exitUsage
	}
	opts, err := nf.runOptions()
	if err != nil {
		fmt.Fprintf(stderr, "ekka-mesh check-config: %v\n", err)
		return exitUsage
	}
	res := checkConfig(opts, environ)
	if *asJSON {
		b, err := json.Marshal(res)
		if err != nil {
			fmt.Fprintf(stderr, "ekka-mesh check-config: encoding the result: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "%s\n", b)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(stderr, "ekka-mesh check-config: %s\n", e)
	}
	if !res.OK {
		return exitUsage
	}
	if !*asJSON {
		where := "defaults and environment"
		if opts.configPath != "" {
			where = opts.configPath
		}
		fmt.Fprintf(stdout, "configuration OK (%s)\n", where)
		for _, n := range res.Notes {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
		if *verbose {
			for _, kv := range res.Settings {
				fmt.Fprintf(stdout, "%s = %s\n", kv.Key, kv.Value)
			}
		}
	}
	return exitOK
}

// checkResult is what check-config found.
type checkResult struct {
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
	// Notes are facts worth knowing that are not errors, such as the cookie
	// file run would create.
	Notes []string `json:"notes"`
	// Settings are the effective values of every key, in documentation
	// order; the cookie is shown as "(hidden)". Only when OK.
	Settings []keyValue `json:"settings,omitempty"`
}

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// checkConfig loads the settings and maps them as run would, collecting
// every error.
func checkConfig(opts runOptions, environ []string) checkResult {
	res := checkResult{Errors: []string{}, Notes: []string{}}
	s, err := config.LoadEnv(opts.configPath, opts.overrides, environ)
	if err != nil {
		res.Errors = append(res.Errors, strings.Split(err.Error(), "\n")...)
		return res
	}
	home := envLookup(environ, "HOME")
	if s.Node.Cookie == "" {
		path := filepath.Join(home, config.CookieFile)
		_, statErr := os.Lstat(path)
		switch {
		case home == "":
			res.Errors = append(res.Errors, fmt.Sprintf("node.cookie is not set and HOME is not set: set node.cookie (or %s)", config.EnvName("node.cookie")))
		case errors.Is(statErr, fs.ErrNotExist):
			res.Notes = append(res.Notes, fmt.Sprintf("node.cookie is not set: run will create %s with a random cookie; every node of the cluster needs the same one", path))
		default:
			if _, _, err := config.ResolveCookie(&s, home); err != nil { // the file exists: only read
				res.Errors = append(res.Errors, err.Error())
			} else {
				res.Notes = append(res.Notes, fmt.Sprintf("node.cookie is not set: run will read it from %s", path))
			}
		}
	}
	checked := s
	if checked.Node.Cookie == "" {
		checked.Node.Cookie = "placeholder-for-the-check" // run's cookie file; its absence is a note, not an error
	}
	if _, err := meshConfig(checked); err != nil {
		res.Errors = append(res.Errors, withSource(err.Error(), opts, environ))
	}
	if _, err := adminTLS(s.Node.Admin.TLS); err != nil { // the files of node.admin.tls.*, as run loads them
		res.Errors = append(res.Errors, withSource(err.Error(), opts, environ))
	}
	if sb, decides, err := splitBrainConfig(s, slog.New(slog.DiscardHandler)); err != nil {
		res.Errors = append(res.Errors, withSource(err.Error(), opts, environ))
	} else if decides && s.Cluster.Autoheal > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("cluster.split_brain.strategy = %s: %s", sb.Strategy, autohealUnused))
	}
	if len(res.Errors) > 0 {
		return res
	}
	res.OK = true
	for _, k := range config.Keys() {
		keys := []string{k.Key}
		if k.Family {
			keys = s.FamilyKeys(k.Key) // node.tags.role, ...: the ones set
		}
		for _, key := range keys {
			v, err := s.Get(key)
			if err != nil {
				continue
			}
			if secretKey(key) && v != "" {
				v = "(hidden)"
			}
			res.Settings = append(res.Settings, keyValue{Key: key, Value: v})
		}
	}
	return res
}

// secretKey reports a key whose value check-config never prints.
func secretKey(key string) bool {
	for _, w := range []string{"cookie", "password", "token", "secret"} {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}

// withSource prefixes an error of the mapping to mesh.Config, which names
// keys but not where they were set, with the source of the first key it
// names: the last override, else the environment variable, else the file's
// line.
func withSource(msg string, opts runOptions, environ []string) string {
	first, at := "", len(msg)+1
	for _, k := range config.Keys() {
		if i := indexKey(msg, k.Key); i >= 0 && (i < at || i == at && len(k.Key) > len(first)) {
			first, at = k.Key, i
		}
	}
	if first == "" {
		return msg
	}
	for i := len(opts.overrides) - 1; i >= 0; i-- {
		if key, _, ok := strings.Cut(opts.overrides[i], "="); ok && strings.TrimSpace(key) == first {
			return fmt.Sprintf("override %q: %s", displayOverride(opts.overrides[i]), msg)
		}
	}
	if name := config.EnvName(first); envLookup(environ, name) != "" {
		return fmt.Sprintf("environment variable %s: %s", name, msg)
	}
	if opts.configPath != "" {
		if entries, err := config.ParseFile(opts.configPath); err == nil {
			if e, ok := entries[first]; ok {
				return fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
			}
		}
	}
	return msg
}

// indexKey finds key in msg as a whole key (not the start of a longer one,
// as node.tls.certfile is not node.tls.cert), or -1.
func indexKey(msg, key string) int {
	for off := 0; ; {
		i := strings.Index(msg[off:], key)
		if i < 0 {
			return -1
		}
		end := off + i + len(key)
		if end == len(msg) || !(msg[end] == '.' || msg[end] == '_' || msg[end] >= 'a' && msg[end] <= 'z') {
			return off + i
		}
		off = end
	}
}

// displayOverride shows an override with a secret value hidden.
func displayOverride(o string) string {
	if key, _, ok := strings.Cut(o, "="); ok && secretKey(key) {
		return key + "=(hidden)"
	}
	return o
}

// envLookup returns the value of name in environ ("NAME=value" entries;
// the last wins), or "".
func envLookup(environ []string, name string) string {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}
