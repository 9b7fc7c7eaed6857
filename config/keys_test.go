package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// keyCases lists good values (with the value Get returns afterwards) and bad
// values (with a substring of the error) for every key.
var keyCases = map[string]struct {
	good map[string]string // value -> Get afterwards
	bad  map[string]string // value -> in the error
}{
	"node.name": {
		good: map[string]string{"emqx1@10.0.0.1": "emqx1@10.0.0.1", "n@host.example.com": "n@host.example.com", "n1@[::1]": "n1@::1"},
		bad: map[string]string{"": "name must be short@host", "n1@": "empty host", "@h": "empty short name", "n!@h": "'!' at position 2", "a@b@c": "found 2 '@'",
			"remsh1@h": `node name "remsh1@h": a name beginning with "remsh" is a remote shell's, which has no port (ekka gives it port 0); a node must listen at its name's port: choose another short name`},
	},
	"node.cookie": {
		good: map[string]string{"secret": "secret", "with blanks and #": "with blanks and #", "": ""},
		bad:  map[string]string{"a\x01b": "control character"},
	},
	"node.cookie_previous": {
		good: map[string]string{"old-1": "old-1", "a, b": "a,b", "": ""},
		bad:  map[string]string{"a,,b": "item 2 of the comma-separated list is empty", "1,2,3,4,5,6,7,8,9": "9 cookies, want at most 8", "a\x01b": "control character"},
	},
	"node.base_port": {
		good: map[string]string{"4370": "4370", "1": "1", "65535": "65535"},
		bad:  map[string]string{"0": "want a port number from 1 to 65535", "65536": "from 1 to 65535", "x": "port number", "": "port number", "-1": "port number"},
	},
	"node.bind": {
		good: map[string]string{"": "", "127.0.0.2": "127.0.0.2", "::1": "::1", "0.0.0.0": "0.0.0.0"},
		bad:  map[string]string{"localhost": "want an IP address", "1.2.3": "IP address", "[::1]": "IP address"},
	},
	"node.tags.KEY": {
		good: map[string]string{"": "", "db": "db", "eu-1": "eu-1"},
		bad:  map[string]string{"a\x00b": "control character"},
	},
	"node.tls.enable":               boolCase(),
	"node.tls.certfile":             fileCase(),
	"node.tls.keyfile":              fileCase(),
	"node.tls.cacertfile":           fileCase(),
	"node.tls.fail_if_no_peer_cert": boolCase(),
	"node.tls.verify": {
		good: map[string]string{"verify_peer": "verify_peer", "verify_none": "verify_none", "VERIFY_NONE": "verify_none"},
		bad:  map[string]string{"": "want one of verify_peer, verify_none", "peer": "want one of verify_peer, verify_none"},
	},
	"node.heartbeat_interval": positiveDurationCase(),
	"node.hooks.start":        hookCommandCase(),
	"node.hooks.stop":         hookCommandCase(),
	"node.hooks.join":         hookCommandCase(),
	"node.hooks.leave":        hookCommandCase(),
	"node.hooks.prepare":      hookCommandCase(),
	"node.hooks.reboot":       hookCommandCase(),
	"node.hooks.down":         hookCommandCase(),
	"node.hooks.up":           hookCommandCase(),
	"node.hooks.timeout":      positiveDurationCase(),
	"node.heartbeat_timeout":  positiveDurationCase(),
	"node.compression": {
		good: map[string]string{"auto": "auto", "off": "off", "on": "on", "OFF": "off"},
		bad:  map[string]string{"": "want one of auto, off, on", "s2": "want one of auto, off, on"},
	},
	"node.limits.max_message": {
		good: map[string]string{"256MB": "256MB", "256mb": "256MB", "256MiB": "256MB", "1": "1", "1048576": "1MB", "1024KB": "1MB", "64kib": "64KB", "268435456": "256MB", "1000": "1000"},
		bad: map[string]string{"": "want a size such as 64MB, 512KB or 1048576 (bytes)", "0": "from 1 to 256MB", "256MB1": "want a size such as", "268435457": "from 1 to 256MB",
			"257MB": "from 1 to 256MB", "1GB": "from 1 to 256MB", "-1": "want a size such as", "1.5MB": "want a size such as", "64 MB": "want a size such as", "MB": "want a size such as",
			"1TB": "want a size such as", "64M": "want a size such as", "99999999999999999999": "from 1 to 256MB", "0x10": "want a size such as"},
	},
	"node.limits.lane_budget":               sizeCase(1, "1GB"),
	"node.limits.stall_timeout":             positiveDurationCase(),
	"node.limits.min_drain_rate":            sizeCase(1, "1GB"),
	"node.limits.reassembly_per_link":       sizeCase(1, "1024GB"),
	"node.limits.reassembly_per_node":       sizeCase(1, "1024GB"),
	"node.limits.chunk_timeout":             positiveDurationCase(),
	"node.limits.serving_calls":             countCase(1, "2147483647"),
	"node.limits.serving_bytes":             sizeCase(1, "1024GB"),
	"node.limits.cast_queue":                countCase(1, "2147483647"),
	"node.limits.cast_queue_bytes":          sizeCase(1, "1024GB"),
	"node.limits.handshakes":                countCase(1, "2147483647"),
	"node.limits.handshakes_per_addr":       countCase(1, "2147483647"),
	"node.limits.incomplete_links_per_peer": countCase(1, "2147483647"),
	"node.limits.first_byte_timeout":        positiveDurationCase(),
	"node.limits.refusal_log_interval":      positiveDurationCase(),
	"node.limits.listener_conns": {
		good: map[string]string{"auto": "auto", "AUTO": "auto", "1": "1", "64": "64", "16384": "16384", "100000": "100000", "2147483647": "2147483647"},
		bad:  map[string]string{"0": "want auto or a whole number from 1 to 2147483647", "": "want auto or a whole number", "-1": "want auto", "off": "want auto", "2147483648": "want auto", "1k": "want auto"},
	},
	"cluster.max_members": {
		good: map[string]string{"2": "2", "1024": "1024", "65535": "65535", "+3": "3", "007": "7"},
		bad:  map[string]string{"1": "want a whole number from 2 to 65535", "65536": "from 2 to 65535", "0": "from 2 to 65535", "": "from 2 to 65535", "1e3": "from 2 to 65535", "10.5": "from 2 to 65535"},
	},
	"cluster.learn_rate":  rateCase("members"),
	"cluster.learn_burst": countCase(1, "2147483647"),
	"cluster.forget_unreached": {
		good: map[string]string{"off": "off", "OFF": "off", "false": "off", "30s": "30s", "1m": "1m", "500ms": "500ms", "1d": "1d"},
		bad:  map[string]string{"on": "want off or a positive duration", "0s": "want off or a positive duration", "30": "want off or a positive duration", "": "want off", "-1s": "want off"},
	},
	"cluster.redial_rate": rateCase("dials"),
	"cluster.name": {
		good: map[string]string{"ekka": "ekka", "emqx-cl_1.a": "emqx-cl_1.a", strings.Repeat("c", 64): strings.Repeat("c", 64)},
		bad:  map[string]string{"": "want 1 to 64 characters", "my cluster": "A-Z a-z 0-9 _ . -", strings.Repeat("c", 65): "1 to 64"},
	},
	"cluster.discovery": {
		good: map[string]string{"manual": "manual", "static": "static", "mcast": "mcast", "dns": "dns", "etcd": "etcd", "k8s": "k8s", "K8S": "k8s", "singleton": "singleton"},
		bad:  map[string]string{"mdns": "want one of manual, static, mcast, dns, etcd, k8s, singleton", "": "want one of"},
	},
	"cluster.autoheal": {
		good: map[string]string{"on": "15s", "off": "off", "true": "15s", "false": "off", "30s": "30s", "1m30s": "90s", "2m": "2m"},
		bad:  map[string]string{"0s": "want on (15s), off or a positive duration", "maybe": "want on (15s), off", "15": "positive duration", "": "positive duration"},
	},
	"cluster.split_brain.strategy": {
		good: map[string]string{"autoheal": "autoheal", "keep-majority": "keep-majority", "keep-oldest": "keep-oldest", "static-quorum": "static-quorum", "down-all": "down-all", "Keep-Majority": "keep-majority"},
		bad:  map[string]string{"majority": "want one of autoheal, keep-majority, keep-oldest, static-quorum, down-all", "": "want one of", "keep_majority": "want one of"},
	},
	"cluster.split_brain.stable_after": positiveDurationCase(),
	"cluster.split_brain.quorum_size": {
		good: map[string]string{"0": "0", "1": "1", "2": "2", "65535": "65535"},
		bad:  map[string]string{"-1": "want a whole number from 0 to 65535", "65536": "from 0 to 65535", "two": "want a whole number", "": "want a whole number"},
	},
	"cluster.split_brain.down_if_alone": boolCase(),
	"cluster.split_brain.down_all_when_unstable": {
		good: map[string]string{"on": "on", "true": "on", "off": "off", "false": "off", "5s": "5s", "1500ms": "1500ms"},
		bad:  map[string]string{"0s": "want on, off or a positive duration", "-1s": "want on, off or a positive duration", "maybe": "want on, off", "": "want on, off"},
	},
	"cluster.autoclean": {
		good: map[string]string{"off": "off", "5m": "5m", "1h": "1h", "1d": "1d", "2w": "2w"},
		bad:  map[string]string{"on": "want off or a positive duration", "0s": "want off or a positive duration", "300": "want off or a positive duration"},
	},
	"cluster.autocluster.interval": positiveDurationCase(),
	"cluster.static.seeds": {
		good: map[string]string{"": "", "a1@h": "a1@h", " a1@h , a2@10.0.0.2 ": "a1@h,a2@10.0.0.2", "n1@[::1],n2@::2": "n1@::1,n2@::2"},
		bad: map[string]string{"a1@h,,a2@h": "item 2 of the comma-separated list is empty", "a1@h,bad@": "empty host", "a1@h,a1@h": "seed a1@h is listed twice", "a1": "name must be short@host",
			"a1@h,remsh2@h": `node name "remsh2@h": a name beginning with "remsh" is a remote shell's`},
	},
	"cluster.mcast.addr": {
		good: map[string]string{"239.192.0.1": "239.192.0.1", "224.0.0.251": "224.0.0.251"},
		bad:  map[string]string{"10.0.0.1": "want an IPv4 multicast address", "ff02::1": "IPv4 multicast", "": "IPv4 multicast"},
	},
	"cluster.mcast.ports": {
		good: map[string]string{"4369": "4369", "4369, 4370,5000": "4369,4370,5000"},
		bad:  map[string]string{"": "want at least one port", "4369,4369": "port 4369 is listed twice", "4369,70000": `"70000": want a port number`, "a": "port number", "1,,2": "item 2"},
	},
	"cluster.mcast.iface": {
		good: map[string]string{"0.0.0.0": "0.0.0.0", "192.168.1.10": "192.168.1.10"},
		bad:  map[string]string{"": "want an IPv4 address", "::1": "IPv4", "eth0": "IPv4"},
	},
	"cluster.mcast.ttl": {
		good: map[string]string{"0": "0", "1": "1", "255": "255"},
		bad:  map[string]string{"256": "want an integer from 0 to 255", "-1": "0 to 255", "": "0 to 255", "1.5": "0 to 255"},
	},
	"cluster.mcast.loop":   boolCase(),
	"cluster.mcast.window": positiveDurationCase(),
	"cluster.mcast.sndbuf": {
		good: map[string]string{"system": "system", "SYSTEM": "system", "16KB": "16KB", "1024": "1KB", "64MB": "64MB"},
		bad:  map[string]string{"0": "want system or", "512": "from 1KB to 64MB", "65MB": "from 1KB to 64MB", "": "want system or", "auto": "want system or"},
	},
	"cluster.mcast.recbuf": {
		good: map[string]string{"system": "system", "32KB": "32KB"},
		bad:  map[string]string{"-1": "want system or", "1GB": "from 1KB to 64MB"},
	},
	"cluster.dns.name": {
		good: map[string]string{"": "", "emqx.example.com": "emqx.example.com", "localhost": "localhost", "_emqx._tcp.example.com": "_emqx._tcp.example.com", "a_b.com": "a_b.com",
			"emqx.example.com.": "emqx.example.com.", "_emqx._tcp.example.com.": "_emqx._tcp.example.com."},
		bad: map[string]string{"10.0.0.1": "not an IP address", "10.0.0.1.": "not an IP address", ".": "empty label", "a..": "empty label", "a..b": "empty label", "a@b": "DNS name", "_a..b": "empty label", "_a.b-": "starts or ends with '-'",
			"_a.b c": "contains ' '", "_a." + strings.Repeat("x", 64): "at most 63", strings.Repeat("_abcdefgh.", 26) + "com": "at most 253"},
	},
	"cluster.dns.app": shortNameCase(),
	"cluster.dns.type": {
		good: map[string]string{"a": "a", "aaaa": "aaaa", "srv": "srv", "SRV": "srv", "A": "a"},
		bad:  map[string]string{"cname": "want one of a, aaaa, srv", "": "want one of a, aaaa, srv"},
	},
	"cluster.dns.server": {
		good: map[string]string{"": "", "127.0.0.1:53": "127.0.0.1:53", "[::1]:5353": "[::1]:5353", "ns.example.com:53": "ns.example.com:53"},
		bad:  map[string]string{"127.0.0.1": "want host:port", ":53": "want host:port", "h:0": `port "0"`, "h:x": `port "x"`, "bad_host:53": `host "bad_host"`},
	},
	"cluster.etcd.server": {
		good: map[string]string{"": "", "http://127.0.0.1:2379": "http://127.0.0.1:2379", "https://a:2379, http://b:2379": "https://a:2379,http://b:2379"},
		bad:  map[string]string{"127.0.0.1:2379": "want an http:// or https:// URL", "ftp://a": "http://", "http://": "with a host", "http://a,,http://b": "item 2"},
	},
	"cluster.etcd.prefix": {
		good: map[string]string{"ekkacl": "ekkacl", "/svc/ekka": "/svc/ekka"},
		bad:  map[string]string{"": "want a non-empty word", "a b": "without blanks"},
	},
	"cluster.etcd.node_ttl": {
		good: map[string]string{"1s": "1s", "1m": "1m", "90s": "90s", "1h": "1h"},
		bad:  map[string]string{"500ms": "whole number of seconds, at least 1s", "1.5s": "whole number of seconds", "0s": "at least 1s", "60": "bare number"},
	},
	"cluster.etcd.ssl.keyfile":    fileCase(),
	"cluster.etcd.ssl.certfile":   fileCase(),
	"cluster.etcd.ssl.cacertfile": fileCase(),
	"cluster.k8s.apiserver": {
		good: map[string]string{"": "", "https://kubernetes.default.svc:443": "https://kubernetes.default.svc:443", "http://127.0.0.1:8080": "http://127.0.0.1:8080"},
		bad:  map[string]string{"kubernetes:443": "want an http:// or https:// URL", "https://": "with a host"},
	},
	"cluster.k8s.service_name": {
		good: map[string]string{"": "", "emqx": "emqx", "emqx-headless": "emqx-headless"},
		bad:  map[string]string{"Emqx": "want a DNS label", "-emqx": "DNS label", "a.b": "DNS label", strings.Repeat("a", 64): "1 to 63"},
	},
	"cluster.k8s.address_type": {
		good: map[string]string{"ip": "ip", "dns": "dns", "hostname": "hostname", "IP": "ip"},
		bad:  map[string]string{"fqdn": "want one of ip, dns, hostname", "": "want one of ip, dns, hostname"},
	},
	"cluster.k8s.app_name": shortNameCase(),
	"cluster.k8s.suffix": {
		good: map[string]string{"": "", "svc.cluster.local": "svc.cluster.local", "pod.local": "pod.local"},
		bad:  map[string]string{".svc": "empty label", "svc.cluster.local.": "empty label", "a b": "' '"},
	},
	"cluster.k8s.namespace": {
		good: map[string]string{"": "", "default": "default", "kube-system": "kube-system"},
		bad:  map[string]string{"Default": "DNS label", "ns_1": "DNS label"},
	},
	"cluster.k8s.token_file":           fileCase(),
	"cluster.k8s.cacert_file":          fileCase(),
	"cluster.k8s.namespace_file":       fileCase(),
	"cluster.k8s.insecure_skip_verify": boolCase(),
	"node.admin.listen": {
		good: map[string]string{"": "", "127.0.0.1:8370": "127.0.0.1:8370", "[::1]:8370": "[::1]:8370", "0.0.0.0:8370": "0.0.0.0:8370", "admin.example.com:443": "admin.example.com:443"},
		bad:  map[string]string{"127.0.0.1": "want host:port", ":8370": "want host:port", "h:0": `port "0"`, "h:99999": `port "99999"`},
	},
	"node.admin.ready_min_members": countCase(1, "65535"),
	"node.admin.pprof":             boolCase(),
	"node.admin.tls.certfile":      fileCase(),
	"node.admin.tls.keyfile":       fileCase(),
	"node.admin.tls.cacertfile":    fileCase(),
	"log.level": {
		good: map[string]string{"debug": "debug", "info": "info", "warn": "warn", "error": "error", "INFO": "info"},
		bad:  map[string]string{"": "want one of debug, info, warn, error", "warning": "want one of debug, info, warn, error", "trace": "want one of"},
	},
	"log.format": {
		good: map[string]string{"text": "text", "json": "json", "JSON": "json"},
		bad:  map[string]string{"": "want one of text, json", "logfmt": "want one of text, json"},
	},
}

func boolCase() struct{ good, bad map[string]string } {
	return struct{ good, bad map[string]string }{
		good: map[string]string{"on": "on", "off": "off", "true": "on", "false": "off", "ON": "on", "False": "off"},
		bad:  map[string]string{"yes": "want on, off, true or false", "1": "want on, off, true or false", "": "want on, off"},
	}
}

func fileCase() struct{ good, bad map[string]string } {
	return struct{ good, bad map[string]string }{
		good: map[string]string{"": "", "/etc/certs/a.pem": "/etc/certs/a.pem", `C:\certs\my cert.pem`: `C:\certs\my cert.pem`},
		bad:  map[string]string{"/etc/a\nb.pem": "control character '\\n' at position 7"},
	}
}

func positiveDurationCase() struct{ good, bad map[string]string } {
	return struct{ good, bad map[string]string }{
		good: map[string]string{"1s": "1s", "500ms": "500ms", "1m30s": "90s", "1.5s": "1500ms", "2h": "2h", "1d": "1d", "250us": "250µs", "1h30m": "90m"},
		bad: map[string]string{
			"":                    "want a duration with a unit",
			"0s":                  "want a duration above zero",
			"1000":                "a bare number has no unit",
			"-1s":                 "want a duration with a unit",
			"1x":                  "want a duration with a unit",
			"s":                   "want a duration with a unit",
			"1s 2s":               "want a duration with a unit",
			"1..5s":               "want a duration with a unit",
			"999999999999999999h": "duration too long",
		},
	}
}

// sizeCase is a size from lo bytes to hi (as formatted).
func sizeCase(lo int, hi string) struct{ good, bad map[string]string } {
	rng := fmt.Sprintf("from %d to %s", lo, hi)
	return struct{ good, bad map[string]string }{
		good: map[string]string{"1": "1", "4MB": "4MB", "4mib": "4MB", "4096KB": "4MB", "1536KB": "1536KB", "1000": "1000", "1024": "1KB", "256kb": "256KB", "1GiB": "1GB",
			hi: hi, strings.ToLower(hi): hi},
		bad: map[string]string{
			"":                       "want a size such as 64MB, 512KB or 1048576 (bytes)",
			"0":                      rng,
			"0KB":                    rng,
			"1025GB":                 rng,
			"4 MB":                   "want a size such as",
			"4M":                     "want a size such as",
			"4TB":                    "want a size such as",
			"-4MB":                   "want a size such as",
			"4.5MB":                  "want a size such as",
			"auto":                   "want a size such as",
			"9223372036854775807":    rng,
			"99999999999999999999GB": rng,
		},
	}
}

// countCase is a whole number from lo to hi.
func countCase(lo int, hi string) struct{ good, bad map[string]string } {
	rng := fmt.Sprintf("want a whole number from %d to %s", lo, hi)
	return struct{ good, bad map[string]string }{
		good: map[string]string{"1": "1", "4": "4", "1024": "1024", "+16": "16", hi: hi},
		bad:  map[string]string{"0": rng, "-1": rng, "": rng, "1.5": rng, "1e3": rng, "4k": rng, "auto": rng, "2147483648": rng, "99999999999999999999": rng},
	}
}

// rateCase is a positive number of what per second.
func rateCase(what string) struct{ good, bad map[string]string } {
	want := "want a number of " + what + " per second from 0.001 to 1000000"
	return struct{ good, bad map[string]string }{
		good: map[string]string{"100": "100", "0.5": "0.5", "1e3": "1000", "1000000": "1000000", "2.25": "2.25", "200.0": "200", "0.001": "0.001", "1e-3": "0.001"},
		bad:  map[string]string{"0": want, "0.0009": want, "1e-300": want, "-1": want, "": want, "NaN": want, "Inf": want, "1000001": want, "fast": want, "10/s": want},
	}
}

// hookCommandCase is a node.hooks.* command: any text for /bin/sh -c.
func hookCommandCase() struct{ good, bad map[string]string } {
	return struct{ good, bad map[string]string }{
		good: map[string]string{"": "", "/usr/local/bin/drain": "/usr/local/bin/drain", `logger -t ekka "$EKKA_MESH_EVENT"`: `logger -t ekka "$EKKA_MESH_EVENT"`},
		bad:  map[string]string{"a\x01b": "control character"},
	}
}

func shortNameCase() struct{ good, bad map[string]string } {
	return struct{ good, bad map[string]string }{
		good: map[string]string{"": "", "emqx": "emqx", "my-app_1.x": "my-app_1.x"},
		bad:  map[string]string{"em qx": "' ' at position 3", "emqx@h": "want the short name", "é": "'é' at position 1"},
	}
}

func TestEveryKeyHasCases(t *testing.T) {
	for _, k := range Keys() {
		if _, ok := keyCases[k.Key]; !ok {
			t.Errorf("key %s has no test cases", k.Key)
		}
	}
	if len(keyCases) != len(Keys()) {
		t.Errorf("%d test cases for %d keys", len(keyCases), len(Keys()))
	}
}

func TestSetGet(t *testing.T) {
	for key, c := range keyCases {
		for value, want := range c.good {
			s := Defaults()
			if err := s.Set(key, value); err != nil {
				t.Errorf("Set(%q, %q): %v", key, value, err)
				continue
			}
			got, err := s.Get(key)
			if err != nil || got != want {
				t.Errorf("after Set(%q, %q), Get = %q, %v; want %q", key, value, got, err, want)
			}
			// What Get writes, Set reads back to the same value.
			again := Defaults()
			if err := again.Set(key, got); err != nil {
				t.Errorf("Set(%q, %q) (from Get): %v", key, got, err)
			} else if got2, _ := again.Get(key); got2 != got {
				t.Errorf("Get/Set round trip of %s: %q then %q", key, got, got2)
			}
		}
		for value, want := range c.bad {
			s := Defaults()
			before, _ := s.Get(key)
			err := s.Set(key, value)
			if err == nil {
				t.Errorf("Set(%q, %q): no error, want one containing %q", key, value, want)
				continue
			}
			if !errors.Is(err, ErrBadValue) {
				t.Errorf("Set(%q, %q) = %v, not ErrBadValue", key, value, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, want) || !strings.HasPrefix(msg, key+" = ") {
				t.Errorf("Set(%q, %q) error %q: want it to start with %q and contain %q", key, value, msg, key+" = ", want)
			}
			if key != "node.cookie" && key != "node.cookie_previous" && !strings.Contains(msg, showValue(value)) {
				t.Errorf("Set(%q, %q) error %q does not show the value", key, value, msg)
			}
			if after, _ := s.Get(key); after != before {
				t.Errorf("failed Set(%q, %q) changed the value from %q to %q", key, value, before, after)
			}
		}
	}
}

func TestCookieHiddenInErrors(t *testing.T) {
	s := Defaults()
	err := s.Set("node.cookie", "topsecret\x00")
	if err == nil || strings.Contains(err.Error(), "topsecret") || !strings.Contains(err.Error(), "(hidden)") {
		t.Fatalf("error %v shows the cookie or lacks (hidden)", err)
	}
}

func TestKeysDefaults(t *testing.T) {
	want := map[string]string{
		"node.name": "ekka@127.0.0.1", "node.cookie": "", "node.base_port": "4370", "node.bind": "",
		"node.tls.enable": "off", "node.tls.verify": "verify_peer", "node.tls.fail_if_no_peer_cert": "off",
		"node.heartbeat_interval": "1s", "node.heartbeat_timeout": "5s", "node.compression": "auto",
		"cluster.name": "ekka", "cluster.discovery": "manual", "cluster.autoheal": "15s", "cluster.autoclean": "5m",
		"cluster.autocluster.interval": "5s", "cluster.static.seeds": "",
		"cluster.mcast.addr": "239.192.0.1", "cluster.mcast.ports": "4369", "cluster.mcast.iface": "0.0.0.0",
		"cluster.mcast.ttl": "255", "cluster.mcast.loop": "on", "cluster.mcast.window": "3s", "cluster.dns.type": "a", "cluster.dns.server": "",
		"cluster.etcd.prefix": "ekkacl", "cluster.etcd.node_ttl": "1m",
		"cluster.k8s.address_type": "ip", "cluster.k8s.suffix": "svc.cluster.local", "cluster.k8s.namespace": "",
		"cluster.k8s.token_file":           "/var/run/secrets/kubernetes.io/serviceaccount/token",
		"cluster.k8s.cacert_file":          "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
		"cluster.k8s.namespace_file":       "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
		"cluster.k8s.insecure_skip_verify": "off",
		"node.limits.max_message":          "256MB", "node.limits.lane_budget": "4MB", "node.limits.stall_timeout": "30s",
		"node.limits.min_drain_rate": "256KB", "node.limits.reassembly_per_link": "256MB", "node.limits.reassembly_per_node": "512MB",
		"node.limits.chunk_timeout": "30s", "node.limits.serving_calls": "1024", "node.limits.serving_bytes": "64MB",
		"node.limits.cast_queue": "4096", "node.limits.cast_queue_bytes": "64MB", "node.limits.handshakes": "2048",
		"node.limits.handshakes_per_addr": "1024", "node.limits.listener_conns": "auto", "node.limits.incomplete_links_per_peer": "4",
		"node.limits.first_byte_timeout": "2s", "node.limits.refusal_log_interval": "10s",
		"cluster.max_members": "1024", "cluster.learn_rate": "100", "cluster.learn_burst": "1024",
		"cluster.forget_unreached": "30s", "cluster.redial_rate": "200",
		"cluster.split_brain.strategy": "autoheal", "cluster.split_brain.stable_after": "10s", "cluster.split_brain.quorum_size": "0",
		"cluster.split_brain.down_if_alone": "on", "cluster.split_brain.down_all_when_unstable": "on",
		"node.hooks.down": "", "node.hooks.up": "",
	}
	seen := map[string]bool{}
	for _, k := range Keys() {
		if seen[k.Key] {
			t.Errorf("key %s listed twice", k.Key)
		}
		seen[k.Key] = true
		if k.Type == "" || k.Description == "" {
			t.Errorf("key %s lacks a type or description", k.Key)
		}
		if w, ok := want[k.Key]; ok && k.Default != w {
			t.Errorf("default of %s = %q, want %q", k.Key, k.Default, w)
		}
		s := Defaults()
		if err := s.Set(k.Key, k.Default); err != nil {
			t.Errorf("the documented default of %s does not parse: %v", k.Key, err)
		}
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Errorf("Defaults() does not validate: %v", err)
	}
}

func TestUnknownKeySuggestions(t *testing.T) {
	tests := map[string]string{
		"cluster.static.seed":  "did you mean cluster.static.seeds?",
		"static.seeds":         "did you mean cluster.static.seeds?",
		"node.base-port":       "did you mean node.base_port?",
		"Node.Name":            "did you mean node.name?",
		"cluster.mcast.port":   "did you mean cluster.mcast.ports?",
		"cluster.autohael":     "did you mean cluster.autoheal?",
		"totally.unrelated.xy": "see the list of keys",
	}
	for key, want := range tests {
		s := Defaults()
		err := s.Set(key, "v")
		if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "unknown key "+key) {
			t.Errorf("Set(%q) = %v; want ErrUnknownKey naming the key and %q", key, err, want)
		}
		if _, err := s.Get(key); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Get(%q) = %v; want ErrUnknownKey", key, err)
		}
	}
}

func TestParseDurationUnits(t *testing.T) {
	for in, want := range map[string]string{"1w": "168h0m0s", "1d12h": "36h0m0s", "100ns": "100ns", "1µs": "1µs", "0.5m": "30s"} {
		d, err := parseDuration(in)
		if err != nil || d.String() != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	if got := formatDuration(1500); got != "1.5µs" {
		t.Errorf("formatDuration(1500ns) = %q", got)
	}
}
