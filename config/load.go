package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// EnvPrefix starts the name of every environment variable Load reads.
const EnvPrefix = "EKKA_MESH_"

// EnvName returns the environment variable that sets key: EnvPrefix, then
// the key in upper case with each '.' written as "__" (keys contain '_'
// themselves, so a single underscore would be ambiguous). node.base_port is
// EKKA_MESH_NODE__BASE_PORT; cluster.static.seeds is
// EKKA_MESH_CLUSTER__STATIC__SEEDS.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
}

// Load builds the settings of a node. Later sources override earlier ones:
//
//  1. Defaults();
//  2. the configuration file at path (skipped when path is "");
//  3. environment variables, read through env (nil: none), named by EnvName;
//     an empty variable counts as unset;
//  4. overrides, each "key=value" (from --set and command-line flags), in
//     order; the value may be double-quoted as in a file.
//
// Then Validate checks the keys that depend on each other. Every bad key or
// value found is reported, joined into one error; each is an *Error naming
// its source (file:line, environment variable, or override).
func Load(path string, overrides []string, env func(string) string) (Settings, error) {
	return load(path, overrides, env, nil)
}

// LoadEnv is Load with the environment given as a list of "NAME=value"
// entries, such as os.Environ(). Unlike a getenv function, a list can be
// enumerated: every variable named EnvPrefix+"..." that sets no key (and is
// not empty) is an error matching ErrUnknownKey, like an unknown key in a
// file, with the closest variable suggested, for example
//
//	environment variable EKKA_MESH_NODE__NMAE: unknown key node.nmae: did you mean EKKA_MESH_NODE__NAME (node.name)?
//
// When a name appears twice in environ the last one counts, as in
// os/exec's Cmd.Env.
func LoadEnv(path string, overrides []string, environ []string) (Settings, error) {
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		if name, value, ok := strings.Cut(kv, "="); ok {
			vars[name] = value
		}
	}
	var unknown []error
	var family []string
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := checkEnvName(name, vars[name]); err != nil {
			unknown = append(unknown, err)
		} else if key, ok := envFamilyKey(name, vars[name]); ok {
			family = append(family, key)
		}
	}
	return load(path, overrides, func(name string) string { return vars[name] }, unknown, family...)
}

// envFamilyKey returns the key of a family (node.tags.KEY) that the
// variable name sets, such as node.tags.role for EKKA_MESH_NODE__TAGS__ROLE:
// the name is read in lower case. Only a list of variables can be searched
// for them, so Load, given a getenv function, reads none.
func envFamilyKey(name, value string) (string, bool) {
	rest, ok := strings.CutPrefix(name, EnvPrefix)
	if !ok || value == "" {
		return "", false
	}
	key := strings.ToLower(strings.ReplaceAll(rest, "__", "."))
	k, _, known := lookupKey(key)
	return key, known && k.Family && EnvName(key) == name
}

// checkEnvName reports an environment variable that starts with EnvPrefix
// but names no key. An empty one counts as unset, as in Load.
func checkEnvName(name, value string) error {
	rest, ok := strings.CutPrefix(name, EnvPrefix)
	if !ok || value == "" {
		return nil
	}
	key := strings.ToLower(strings.ReplaceAll(rest, "__", "."))
	if _, _, known := lookupKey(key); known && EnvName(key) == name {
		return nil
	}
	where := "environment variable " + name
	if instead, refused := refused(key); refused && EnvName(key) == name {
		return refusedKeyError(where, key, value, instead)
	}
	msg := "see the list of keys in the documentation of package config; a key's variable is " + EnvPrefix + " and the key in upper case with each '.' written as \"__\", such as " + EnvName("node.base_port")
	if hint := closestKey(key); hint != "" {
		msg = fmt.Sprintf("did you mean %s (%s)?", EnvName(hint), hint)
	}
	return &Error{Where: where, Key: key, Value: displayValue(key, value), Msg: msg, Err: ErrUnknownKey}
}

// load is Load, with envErrs (unknown environment variables) reported
// after the file's errors, in the order of the sources, and the keys of
// families (node.tags.role) that variables set, read after the table's.
func load(path string, overrides []string, env func(string) string, envErrs []error, envFamily ...string) (Settings, error) {
	s := Defaults()
	var errs []error
	if path != "" {
		entries, err := ParseFile(path)
		if err != nil {
			return Settings{}, err
		}
		errs = append(errs, s.apply(entries)...)
	}
	errs = append(errs, envErrs...)
	if env != nil {
		for _, k := range keyTable {
			if k.Family {
				continue // envFamily
			}
			name := EnvName(k.Key)
			if v := env(name); v != "" {
				if err := s.set("environment variable "+name, k.Key, v); err != nil {
					errs = append(errs, err)
				}
			}
		}
		for _, key := range envFamily {
			if err := s.set("environment variable "+EnvName(key), key, env(EnvName(key))); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, o := range overrides {
		if err := s.override(o); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return Settings{}, errors.Join(errs...)
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// apply sets each entry, in line order, and returns the errors.
func (s *Settings) apply(entries map[string]Entry) []error {
	sorted := make([]Entry, 0, len(entries))
	for _, e := range entries {
		sorted = append(sorted, e)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Line < sorted[j].Line })
	var errs []error
	for _, e := range sorted {
		if err := s.set(e.where(), e.Key, e.Value); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// override applies one "key=value".
func (s *Settings) override(o string) error {
	where := fmt.Sprintf("override %q", displayOverride(o))
	key, value, ok := strings.Cut(o, "=")
	if !ok || strings.TrimSpace(key) == "" {
		return &Error{Where: where, Msg: "want key=value, such as node.name=emqx1@127.0.0.1", Err: ErrSyntax}
	}
	key = strings.TrimSpace(key)
	raw := strings.TrimSpace(value)
	value, err := unquote(raw)
	if err != nil {
		return &Error{Where: where, Key: key, Value: displayValue(key, raw), Msg: err.Error(), Err: ErrSyntax}
	}
	return s.set(where, key, value)
}

// Validate checks the rules between keys: the heartbeat timeout exceeds the
// interval; TLS has a certificate and key; the chosen discovery strategy has
// what it needs; etcd's client certificate and key come together. All
// violations are joined into one error of *Error values matching
// ErrConflict.
func (s *Settings) Validate() error {
	var errs []error
	conflict := func(format string, args ...any) {
		errs = append(errs, &Error{Msg: fmt.Sprintf(format, args...), Err: ErrConflict})
	}
	n, c := &s.Node, &s.Cluster
	if n.HeartbeatTimeout <= n.HeartbeatInterval {
		conflict("node.heartbeat_timeout (%s) must exceed node.heartbeat_interval (%s)", formatDuration(n.HeartbeatTimeout), formatDuration(n.HeartbeatInterval))
	}
	l := &n.Limits
	if l.ReassemblyPerLink < l.MaxMessage {
		conflict("node.limits.reassembly_per_link (%s) must be at least node.limits.max_message (%s), so that one message at the limit can arrive", formatSize(l.ReassemblyPerLink), formatSize(l.MaxMessage))
	}
	if l.ReassemblyPerNode < l.ReassemblyPerLink {
		conflict("node.limits.reassembly_per_node (%s) must be at least node.limits.reassembly_per_link (%s)", formatSize(l.ReassemblyPerNode), formatSize(l.ReassemblyPerLink))
	}
	if n.TLS.Enable && (n.TLS.CertFile == "" || n.TLS.KeyFile == "") {
		conflict("node.tls.enable = on needs node.tls.certfile and node.tls.keyfile")
	}
	if (c.Etcd.SSL.CertFile == "") != (c.Etcd.SSL.KeyFile == "") {
		conflict("cluster.etcd.ssl.certfile and cluster.etcd.ssl.keyfile must be set together")
	}
	if sb := c.SplitBrain; sb.Strategy == SplitBrainStaticQuorum && sb.QuorumSize < 1 {
		conflict("cluster.split_brain.strategy = static-quorum needs cluster.split_brain.quorum_size, at least 1: the least number of members a side needs to serve (more than half the cluster, such as 2 of 3)")
	}
	switch c.Discovery {
	case DiscoveryStatic:
		if len(c.Static.Seeds) == 0 {
			conflict("cluster.discovery = static needs cluster.static.seeds, such as emqx1@10.0.0.1,emqx2@10.0.0.2")
		}
	case DiscoveryMcast:
		if len(c.Mcast.Ports) == 0 {
			conflict("cluster.discovery = mcast needs cluster.mcast.ports")
		}
	case DiscoveryDNS:
		if c.DNS.Name == "" {
			conflict("cluster.discovery = dns needs cluster.dns.name, the DNS name listing the nodes")
		}
	case DiscoveryEtcd:
		if len(c.Etcd.Servers) == 0 {
			conflict("cluster.discovery = etcd needs cluster.etcd.server, such as http://127.0.0.1:2379")
		}
	case DiscoveryK8s:
		for _, req := range []struct{ key, val string }{
			{"cluster.k8s.apiserver", c.K8s.APIServer},
			{"cluster.k8s.service_name", c.K8s.ServiceName},
			{"cluster.k8s.app_name", c.K8s.AppName},
		} {
			if req.val == "" {
				conflict("cluster.discovery = k8s needs %s", req.key)
			}
		}
	}
	return errors.Join(errs...)
}

// displayOverride hides the value of a secret key in an override, and
// shortens a long one (see Error.Value).
func displayOverride(o string) string {
	key, value, ok := strings.Cut(o, "=")
	if !ok {
		return displayValue("", o)
	}
	return key + "=" + displayValue(strings.TrimSpace(key), value)
}
