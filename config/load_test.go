package config

import (
	"errors"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/portmap"
)

func writeConf(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ekka-mesh.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadExampleFile(t *testing.T) {
	s, err := Load("testdata/ekka-mesh.conf", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{
		Node: NodeSettings{
			Name:           portmap.Name{Short: "emqx1", Host: "127.0.0.1"},
			Cookie:         "change me, and keep it secret",
			CookiePrevious: []string{"the old cookie"},
			BasePort:       4370,
			Bind:           netip.MustParseAddr("127.0.0.1"),
			Tags:           map[string]string{"role": "db", "zone": "eu-1"},
			TLS: TLSSettings{
				CertFile: "/etc/ekka-mesh/certs/node.pem", KeyFile: "/etc/ekka-mesh/certs/node.key",
				CACertFile: "/etc/ekka-mesh/certs/ca.pem", Verify: VerifyPeer, FailIfNoPeerCert: true,
			},
			HeartbeatInterval: time.Second,
			HeartbeatTimeout:  5 * time.Second,
			Compression:       CompressionAuto,
			Limits:            Defaults().Node.Limits,
			Admin: AdminSettings{
				Listen: "127.0.0.1:8371", ReadyMinMembers: 3, Pprof: false,
				TLS: AdminTLS{CertFile: "/etc/ekka-mesh/certs/admin.pem", KeyFile: "/etc/ekka-mesh/certs/admin.key"},
			},
			Hooks: HookSettings{Timeout: 5 * time.Second},
		},
		Log: LogSettings{Level: LogInfo, Format: LogJSON},
		Cluster: ClusterSettings{
			Name:                "emqxcl",
			MaxMembers:          1024,
			LearnRate:           100,
			LearnBurst:          1024,
			ForgetUnreached:     30 * time.Second,
			RedialRate:          200,
			SplitBrain:          SplitBrainSettings{Strategy: SplitBrainAutoheal, StableAfter: 10 * time.Second, DownIfAlone: true},
			Discovery:           DiscoveryStatic,
			Autoheal:            15 * time.Second,
			Autoclean:           5 * time.Minute,
			AutoclusterInterval: 5 * time.Second,
			Static: StaticSettings{Seeds: []portmap.Name{
				{Short: "emqx1", Host: "127.0.0.1"}, {Short: "emqx2", Host: "127.0.0.1"}, {Short: "emqx3", Host: "127.0.0.1"},
			}},
			Mcast: McastSettings{
				Addr: netip.MustParseAddr("239.192.0.1"), Ports: []int{4369, 4370},
				Iface: netip.MustParseAddr("0.0.0.0"), TTL: 255, Loop: true, RecBuf: 256 * 1024, Window: 3 * time.Second,
			},
			DNS: DNSSettings{Name: "emqx.example.com", App: "emqx", Type: DNSTypeA, Server: "127.0.0.1:53"},
			Etcd: EtcdSettings{
				Servers: []string{"http://127.0.0.1:2379", "http://127.0.0.2:2379"}, Prefix: "ekkacl", NodeTTL: time.Minute,
				SSL: EtcdSSL{
					KeyFile: "/etc/ekka-mesh/certs/etcd-client.key", CertFile: "/etc/ekka-mesh/certs/etcd-client.pem",
					CACertFile: "/etc/ekka-mesh/certs/etcd-ca.pem",
				},
			},
			K8s: K8sSettings{
				APIServer: "https://kubernetes.default.svc:443", ServiceName: "emqx", AddressType: K8sAddressIP,
				AppName: "emqx", Suffix: "svc.cluster.local", Namespace: "default",
				TokenFile:     "/var/run/secrets/kubernetes.io/serviceaccount/token",
				CACertFile:    "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
				NamespaceFile: "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
			},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Load(example) =\n%+v\nwant\n%+v", s, want)
	}
}

func TestLoadNoSources(t *testing.T) {
	s, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, Defaults()) {
		t.Errorf("Load with no sources = %+v, want the defaults", s)
	}
}

func TestLoadPrecedence(t *testing.T) {
	path := writeConf(t, "node.name = file1@h\ncluster.name = fromfile\nnode.base_port = 5000\ncluster.mcast.ttl = 3\n")
	env := envMap(map[string]string{
		"EKKA_MESH_CLUSTER__NAME":       "fromenv",
		"EKKA_MESH_NODE__BASE_PORT":     "6000",
		"EKKA_MESH_CLUSTER__MCAST__TTL": "", // empty: unset, the file's value stays
		"EKKA_MESH_CLUSTER__AUTOHEAL":   "off",
	})
	s, err := Load(path, []string{"node.base_port=7000", " cluster.autoclean = \"1h\" ", "node.base_port=7001"}, env)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key, want string
	}{
		{"node.name", "file1@h"},        // file over default
		{"cluster.name", "fromenv"},     // env over file
		{"node.base_port", "7001"},      // overrides over env, last wins
		{"cluster.mcast.ttl", "3"},      // empty env var is unset
		{"cluster.autoheal", "off"},     // env over default
		{"cluster.autoclean", "1h"},     // quoted override
		{"cluster.discovery", "manual"}, // default
	}
	for _, c := range checks {
		if got, _ := s.Get(c.key); got != c.want {
			t.Errorf("%s = %q, want %q", c.key, got, c.want)
		}
	}
}

func TestEnvName(t *testing.T) {
	for key, want := range map[string]string{
		"node.name":                     "EKKA_MESH_NODE__NAME",
		"node.base_port":                "EKKA_MESH_NODE__BASE_PORT",
		"cluster.static.seeds":          "EKKA_MESH_CLUSTER__STATIC__SEEDS",
		"cluster.etcd.ssl.keyfile":      "EKKA_MESH_CLUSTER__ETCD__SSL__KEYFILE",
		"node.tls.fail_if_no_peer_cert": "EKKA_MESH_NODE__TLS__FAIL_IF_NO_PEER_CERT",
	} {
		if got := EnvName(key); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		overrides []string
		env       map[string]string
		want      []string // every one must appear in the error
		kind      error
	}{
		{
			name: "unknown key in file",
			file: "## x\ncluster.static.seed = a@h\n",
			want: []string{"ekka-mesh.conf:2: unknown key cluster.static.seed: did you mean cluster.static.seeds?"},
			kind: ErrUnknownKey,
		},
		{
			name: "bad value in file",
			file: "node.name = n1@h\n\ncluster.discovery = mdns\n",
			want: []string{"ekka-mesh.conf:3: cluster.discovery = mdns: want one of manual, static, mcast, dns, etcd, k8s, singleton"},
			kind: ErrBadValue,
		},
		{
			name: "every error is reported",
			file: "node.base_port = 0\ncluster.mcast.ttl = 300\n",
			want: []string{
				"ekka-mesh.conf:1: node.base_port = 0: want a port number from 1 to 65535",
				"ekka-mesh.conf:2: cluster.mcast.ttl = 300: want an integer from 0 to 255",
			},
			kind: ErrBadValue,
		},
		{
			name: "malformed line",
			file: "node.name n1@h\n",
			want: []string{`ekka-mesh.conf:1: malformed line "node.name n1@h": want key = value`},
			kind: ErrSyntax,
		},
		{
			name: "bad environment variable",
			env:  map[string]string{"EKKA_MESH_NODE__NAME": "bad@"},
			want: []string{`environment variable EKKA_MESH_NODE__NAME: node.name = bad@: node name "bad@": empty host`},
			kind: ErrBadValue,
		},
		{
			name:      "bad override",
			overrides: []string{"node.heartbeat_interval=10"},
			want:      []string{`override "node.heartbeat_interval=10": node.heartbeat_interval = 10: a bare number has no unit`},
			kind:      ErrBadValue,
		},
		{
			name:      "override without =",
			overrides: []string{"node.name"},
			want:      []string{`override "node.name": want key=value`},
			kind:      ErrSyntax,
		},
		{
			name:      "override with a bad quote",
			overrides: []string{`node.tls.certfile="abc`},
			want:      []string{`override "node.tls.certfile=\"abc": node.tls.certfile = "\"abc": missing closing double quote`},
			kind:      ErrSyntax,
		},
		{
			name:      "unknown override",
			overrides: []string{"node.nmae=x@h"},
			want:      []string{`override "node.nmae=x@h": unknown key node.nmae: did you mean node.name?`},
			kind:      ErrUnknownKey,
		},
		{
			name: "static without seeds",
			file: "cluster.discovery = static\n",
			want: []string{"cluster.discovery = static needs cluster.static.seeds"},
			kind: ErrConflict,
		},
		{
			name:      "tls without files",
			overrides: []string{"node.tls.enable=on", "node.tls.certfile=/c.pem"},
			want:      []string{"node.tls.enable = on needs node.tls.certfile and node.tls.keyfile"},
			kind:      ErrConflict,
		},
		{
			name: "heartbeat timeout not above interval",
			env:  map[string]string{"EKKA_MESH_NODE__HEARTBEAT_TIMEOUT": "1s"},
			want: []string{"node.heartbeat_timeout (1s) must exceed node.heartbeat_interval (1s)"},
			kind: ErrConflict,
		},
		{
			name:      "etcd client cert without key",
			overrides: []string{"cluster.etcd.ssl.certfile=/c.pem"},
			want:      []string{"cluster.etcd.ssl.certfile and cluster.etcd.ssl.keyfile must be set together"},
			kind:      ErrConflict,
		},
		{
			name:      "dns needs name",
			overrides: []string{"cluster.discovery=dns"},
			want:      []string{"cluster.discovery = dns needs cluster.dns.name"},
			kind:      ErrConflict,
		},
		{
			name:      "dns app defaults to the node's short name",
			overrides: []string{"cluster.discovery=dns", "cluster.dns.name=emqx.example.com"},
			want:      nil, // cluster.dns.app is optional
		},
		{
			name:      "etcd needs servers",
			overrides: []string{"cluster.discovery=etcd"},
			want:      []string{"cluster.discovery = etcd needs cluster.etcd.server"},
			kind:      ErrConflict,
		},
		{
			name:      "k8s needs apiserver, service and app",
			overrides: []string{"cluster.discovery=k8s", "cluster.k8s.service_name=emqx"},
			want:      []string{"cluster.discovery = k8s needs cluster.k8s.apiserver", "cluster.discovery = k8s needs cluster.k8s.app_name"},
			kind:      ErrConflict,
		},
		{
			name:      "reassembly below the message limit",
			overrides: []string{"node.limits.max_message=1MB", "node.limits.reassembly_per_link=512KB"},
			want:      []string{"node.limits.reassembly_per_link (512KB) must be at least node.limits.max_message (1MB), so that one message at the limit can arrive"},
			kind:      ErrConflict,
		},
		{
			name:      "node reassembly below the link's",
			overrides: []string{"node.limits.reassembly_per_link=1GB"},
			want:      []string{"node.limits.reassembly_per_node (512MB) must be at least node.limits.reassembly_per_link (1GB)"},
			kind:      ErrConflict,
		},
		{
			name:      "both reassembly conflicts are reported",
			overrides: []string{"node.limits.reassembly_per_link=1MB", "node.limits.reassembly_per_node=512KB"},
			want: []string{"node.limits.reassembly_per_link (1MB) must be at least node.limits.max_message (256MB)",
				"node.limits.reassembly_per_node (512KB) must be at least node.limits.reassembly_per_link (1MB)"},
			kind: ErrConflict,
		},
		{
			name:      "a smaller message limit fits the default reassembly",
			overrides: []string{"node.limits.max_message=1MB", "node.limits.reassembly_per_link=1MB", "node.limits.reassembly_per_node=1MB"},
			want:      nil,
		},
		{
			name:      "mcast needs ports",
			overrides: []string{"cluster.discovery=mcast"},
			env:       nil,
			want:      nil, // default ports: valid
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeConf(t, tt.file)
			}
			var env func(string) string
			if tt.env != nil {
				env = envMap(tt.env)
			}
			_, err := Load(path, tt.overrides, env)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			msg := strings.ReplaceAll(err.Error(), filepath.Dir(path)+string(filepath.Separator), "")
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error:\n%s\nwant it to contain:\n%s", msg, w)
				}
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v is not %v", err, tt.kind)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %v holds no *Error", err)
			}
		})
	}
}

// TestLoadSplitBrain: the cluster.split_brain.* keys of a file reach
// Settings; a bad strategy names the valid ones, and static-quorum without
// a quorum size names the key it needs.
func TestLoadSplitBrain(t *testing.T) {
	good := writeConf(t, "cluster.split_brain.strategy = static-quorum\ncluster.split_brain.quorum_size = 2\n"+
		"cluster.split_brain.stable_after = 2s\ncluster.split_brain.down_if_alone = off\n"+
		"cluster.split_brain.down_all_when_unstable = off\nnode.hooks.down = /bin/drain\nnode.hooks.up = /bin/fill\n")
	s, err := Load(good, nil, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := SplitBrainSettings{Strategy: SplitBrainStaticQuorum, StableAfter: 2 * time.Second, QuorumSize: 2, DownIfAlone: false, DownAllWhenUnstable: -1}
	if s.Cluster.SplitBrain != want {
		t.Errorf("split brain settings %+v, want %+v", s.Cluster.SplitBrain, want)
	}
	if s.Node.Hooks.Down != "/bin/drain" || s.Node.Hooks.Up != "/bin/fill" {
		t.Errorf("hooks down %q, up %q; want /bin/drain and /bin/fill", s.Node.Hooks.Down, s.Node.Hooks.Up)
	}

	_, err = Load(writeConf(t, "cluster.split_brain.strategy = majority\n"), nil, nil)
	if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "cluster.split_brain.strategy = majority: want one of autoheal, keep-majority, keep-oldest, static-quorum, down-all") {
		t.Errorf("a bad strategy: %v", err)
	}

	_, err = Load("", []string{"cluster.split_brain.strategy=static-quorum"}, nil)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "cluster.split_brain.strategy = static-quorum needs cluster.split_brain.quorum_size, at least 1") {
		t.Errorf("static-quorum without a quorum size: %v", err)
	}
	// The quorum size matters to static-quorum only.
	if _, err := Load("", []string{"cluster.split_brain.strategy=keep-majority"}, nil); err != nil {
		t.Errorf("keep-majority without a quorum size: %v", err)
	}
}

func TestOverrideHidesCookie(t *testing.T) {
	_, err := Load("", []string{"node.cookie=\"topsecret"}, nil)
	if err == nil || strings.Contains(err.Error(), "topsecret") || !strings.Contains(err.Error(), `override "node.cookie=(hidden)": node.cookie = (hidden): missing closing double quote`) {
		t.Fatalf("Load error %v shows the cookie or is not as expected", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.conf"), nil, nil)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.conf") {
		t.Fatalf("Load(missing file) = %v; want not-exist naming the file", err)
	}
}

func TestValidateMcastPorts(t *testing.T) {
	s := Defaults()
	s.Cluster.Discovery = DiscoveryMcast
	s.Cluster.Mcast.Ports = nil
	if err := s.Validate(); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "needs cluster.mcast.ports") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestErrorUnwrapsCause(t *testing.T) {
	s := Defaults()
	err := s.Set("node.name", "x@")
	if !errors.Is(err, portmap.ErrEmptyHost) || !errors.Is(err, ErrBadValue) {
		t.Fatalf("Set(node.name, x@) = %v; want both ErrBadValue and portmap.ErrEmptyHost", err)
	}
}

// TestLoadLimitsAndDuplicates: a duplicate key in the file, and over-long
// values from every source, are refused with errors naming the key and the
// source.
func TestLoadLimitsAndDuplicates(t *testing.T) {
	path := writeConf(t, "node.name = a1@127.0.0.1\ncluster.name = one\nnode.name = a2@127.0.0.1\n")
	_, err := Load(path, nil, nil)
	if !errors.Is(err, ErrDuplicateKey) || !strings.Contains(err.Error(), path+":3: node.name = a2@127.0.0.1: node.name is set twice, here and at "+path+":1") {
		t.Fatalf("Load with node.name twice: %v, want ErrDuplicateKey naming both lines", err)
	}

	long := strings.Repeat("x", MaxValueBytes+1)
	for _, tc := range []struct {
		name     string
		env      map[string]string
		override string
		where    string
	}{
		{name: "env", env: map[string]string{"EKKA_MESH_NODE__TLS__CERTFILE": long}, where: "environment variable EKKA_MESH_NODE__TLS__CERTFILE: node.tls.certfile = xxx"},
		{name: "override", override: "node.tls.certfile=" + long, where: `override "node.tls.certfile=xxx`},
	} {
		var ov []string
		if tc.override != "" {
			ov = []string{tc.override}
		}
		_, err := Load("", ov, envMap(tc.env))
		if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), tc.where) || !strings.Contains(err.Error(), "want at most 4096 bytes (MaxValueBytes)") {
			t.Errorf("%s: %v, want ErrBadValue from %s", tc.name, err, tc.where)
		}
		if err != nil && len(err.Error()) > 600 {
			t.Errorf("%s: error of %d bytes echoes the value", tc.name, len(err.Error()))
		}
	}

	// node.name has its own limit, 255 bytes: at 255 it loads, at 256 the
	// error names the key, the file and the line.
	name := strings.Repeat("n", 255-len("@h")) + "@h"
	if s, err := Load(writeConf(t, "node.name = "+name+"\n"), nil, nil); err != nil || s.Node.Name.String() != name {
		t.Fatalf("a 255-byte node.name: %v, want loaded", err)
	}
	path = writeConf(t, "## node\nnode.name = n"+name+"\n")
	_, err = Load(path, nil, nil)
	if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), path+":2: node.name = ") || !strings.Contains(err.Error(), "256 bytes long; want at most 255") {
		t.Fatalf("a 256-byte node.name: %v, want ErrBadValue naming the file, line, key and the limit", err)
	}
}

// TestLoadEnvUnknownVariable: an EKKA_MESH_* variable that names no key is
// reported like an unknown key in a file, with the closest variable, after
// the file's errors; other variables and empty ones are ignored.
func TestLoadEnvUnknownVariable(t *testing.T) {
	path := writeConf(t, "node.name = a@127.0.0.1\nnode.nmae = b@127.0.0.1\n")
	_, err := LoadEnv(path, []string{"node.base_port=5000"}, []string{
		"HOME=/home/x",
		"EKKA_MESH_NODE__COOKIE=sekrit",
		"EKKA_MESH_NODE__BASE_PORTT=4000",
		"EKKA_MESH_NODE_NAME=c@127.0.0.1",
		"EKKA_MESH_node__name=d@127.0.0.1",
		"EKKA_MESH_WHATEVER=1",
		"EKKA_MESH_NODE__BINDD=", // empty: unset
		"EKKA_MESH_NODE__COOKY=hunter2",
		"NOT_EKKA_MESH_X=1",
	})
	if err == nil {
		t.Fatal("LoadEnv accepted unknown variables")
	}
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("error %v does not match ErrUnknownKey", err)
	}
	want := []string{
		path + ":2: unknown key node.nmae: did you mean node.name?",
		"environment variable EKKA_MESH_NODE_NAME: unknown key node_name: did you mean EKKA_MESH_NODE__NAME (node.name)?",
		"environment variable EKKA_MESH_NODE__BASE_PORTT: unknown key node.base_portt: did you mean EKKA_MESH_NODE__BASE_PORT (node.base_port)?",
		"environment variable EKKA_MESH_NODE__COOKY: unknown key node.cooky: did you mean EKKA_MESH_NODE__COOKIE (node.cookie)?",
		"environment variable EKKA_MESH_WHATEVER: unknown key whatever: see the list of keys in the documentation of package config; a key's variable is EKKA_MESH_ and the key in upper case with each '.' written as \"__\", such as EKKA_MESH_NODE__BASE_PORT",
		"environment variable EKKA_MESH_node__name: unknown key node.name: did you mean EKKA_MESH_NODE__NAME (node.name)?",
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows a value: %v", err)
	}
}

// TestLoadEnvReads: LoadEnv reads the variables as Load does, the last of
// a name counting, and the overrides still win.
func TestLoadEnvReads(t *testing.T) {
	s, err := LoadEnv("", []string{"node.heartbeat_interval=2s"}, []string{
		"EKKA_MESH_NODE__NAME=x@127.0.0.1",
		"EKKA_MESH_NODE__NAME=y@127.0.0.1",
		"EKKA_MESH_NODE__HEARTBEAT_INTERVAL=3s",
		"EKKA_MESH_CLUSTER__NAME=prod",
		"EKKA_MESH_NODE__BIND=",
		"PATH=/bin",
		"MALFORMED",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Node.Name.String(); got != "y@127.0.0.1" {
		t.Errorf("node.name = %s, want y@127.0.0.1 (the last)", got)
	}
	if s.Cluster.Name != "prod" || s.Node.HeartbeatInterval != 2*time.Second {
		t.Errorf("cluster.name = %s, node.heartbeat_interval = %v; want prod, 2s", s.Cluster.Name, s.Node.HeartbeatInterval)
	}
	if _, err := LoadEnv("", nil, nil); err != nil {
		t.Errorf("LoadEnv with no environment: %v", err)
	}
}

// TestTagKeys: node.tags.KEY is a family: each name is a key of its own,
// set by the file, by an environment variable (the name in lower case, read
// by LoadEnv, which can list the variables) and by an override, later
// sources winning; a bad name or value is an error naming the key.
func TestTagKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ekka-mesh.conf")
	if err := os.WriteFile(path, []byte("node.tags.role = db\nnode.tags.Zone = eu-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadEnv(path, []string{"node.tags.rack=r7"}, []string{"EKKA_MESH_NODE__TAGS__ROLE=cache", "EKKA_MESH_NODE__TAGS__DC=fra"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"role": "cache", "Zone": "eu-1", "dc": "fra", "rack": "r7"}
	if !maps.Equal(s.Node.Tags, want) {
		t.Errorf("tags = %v, want %v", s.Node.Tags, want)
	}
	if got := s.FamilyKeys("node.tags.KEY"); !slices.Equal(got, []string{"node.tags.Zone", "node.tags.dc", "node.tags.rack", "node.tags.role"}) {
		t.Errorf("FamilyKeys = %v", got)
	}
	if v, err := s.Get("node.tags.dc"); err != nil || v != "fra" {
		t.Errorf("Get(node.tags.dc) = %q, %v; want fra", v, err)
	}
	if s.FamilyKeys("node.name") != nil {
		t.Error("FamilyKeys of a key that is no family's is not nil")
	}
	for _, tc := range []struct{ override, want string }{
		{"node.tags.=x", `override "node.tags.=x": node.tags. = x: the name after node.tags.: want a non-empty word without blanks`},
		{"node.tags.a\tb=x", "the name after node.tags.: "},
		{"node.tags.role=a\x01b", "control character"},
	} {
		_, err := Load("", []string{tc.override}, nil)
		if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load with %q = %v, want ErrBadValue containing %q", tc.override, err, tc.want)
		}
	}
}
