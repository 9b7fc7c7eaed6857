package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery/mcast"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

func TestMcastDiscoveryFromSettings(t *testing.T) {
	s, err := config.Load("", []string{"node.name=n1@127.0.0.1", "node.cookie=c", "node.cookie_previous=b,a", "cluster.name=cl",
		"cluster.discovery=mcast", "cluster.mcast.addr=239.1.2.3", "cluster.mcast.ports=5000,5001",
		"cluster.mcast.iface=127.0.0.1", "cluster.mcast.ttl=1", "cluster.mcast.loop=off", "cluster.mcast.window=750ms",
		"cluster.mcast.sndbuf=16KB", "cluster.mcast.recbuf=1MB"}, nil)
	require.NoError(t, err)
	cfg, err := meshConfig(s)
	require.NoError(t, err)
	d, ok := cfg.Discovery.(*mcast.Mcast)
	require.True(t, ok, "cluster.discovery = mcast gave %T", cfg.Discovery)
	got := d.Config()
	assert.Equal(t, "n1@127.0.0.1", got.Name)
	assert.Equal(t, "cl", got.Cluster)
	assert.Equal(t, "c", got.Cookie)
	assert.Equal(t, []string{"b", "a"}, got.CookiePrevious, "a rotation in progress at start")
	assert.Equal(t, "239.1.2.3", got.Addr.String())
	assert.Equal(t, []int{5000, 5001}, got.Ports)
	assert.Equal(t, "127.0.0.1", got.Iface.String())
	assert.Equal(t, 1, got.TTL)
	assert.False(t, got.Loop)
	assert.Equal(t, 750*time.Millisecond, got.Window)
	assert.Equal(t, 16*1024, got.SendBuffer)
	assert.Equal(t, 1024*1024, got.RecvBuffer)

	s, err = config.Load("", []string{"node.cookie=c", "cluster.discovery=mcast"}, nil)
	require.NoError(t, err)
	cfg, err = meshConfig(s)
	require.NoError(t, err)
	got = cfg.Discovery.(*mcast.Mcast).Config()
	assert.Equal(t, "239.192.0.1", got.Addr.String())
	assert.Equal(t, []int{4369}, got.Ports)
	assert.Equal(t, 255, got.TTL)
	assert.True(t, got.Loop)
	assert.Equal(t, 3*time.Second, got.Window)
	assert.Zero(t, got.SendBuffer, "the system's default")
	assert.Zero(t, got.RecvBuffer, "the system's default")
}

// mcastNetnsUnavailable says why this test cannot run its nodes in a network
// namespace of their own, or returns "".
func mcastNetnsUnavailable() string {
	if os.Geteuid() != 0 {
		return "needs root to run the nodes in a network namespace (unshare --net) whose lo carries multicast; CI runs as root"
	}
	for _, tool := range []string{"unshare", "ip", "sh", "date"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Sprintf("needs %s to run the nodes in a network namespace: %v", tool, err)
		}
	}
	if out, err := exec.Command("unshare", "--net", "true").CombinedOutput(); err != nil {
		return fmt.Sprintf("cannot create a network namespace: unshare --net true: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return ""
}

// TestMcastCluster runs three `ekka-mesh run` processes configured only by
// a config file each (cluster.discovery = mcast) in one network namespace,
// and checks through `ctl status --json` that they form one cluster.
// testdata/mcast-cluster.sh does the work inside the namespace.
func TestMcastCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs node processes")
	}
	if reason := mcastNetnsUnavailable(); reason != "" {
		t.Skip(reason)
	}
	bin := buildBinary(t)
	all := []string{n1, n2, n3}
	for _, tt := range []struct {
		name string
		keys string // extra config lines
	}{
		{"short window", "cluster.mcast.window = 500ms\ncluster.autocluster.interval = 1s\n"},
		{"defaults", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for k, name := range all {
				conf := fmt.Sprintf("## node %d of TestMcastCluster\nnode.name = %s\nnode.cookie = mcast-test-cookie\n"+
					"cluster.name = mcastcl\ncluster.discovery = mcast\ncluster.mcast.ports = 4369,4370\n"+
					"node.heartbeat_interval = 200ms\nnode.heartbeat_timeout = 2s\ncluster.autoheal = off\n%s", k+1, name, tt.keys)
				require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("n%d.conf", k+1)), []byte(conf), 0o600))
			}
			cmd := exec.CommandContext(t.Context(), "unshare", "--net", "sh", filepath.Join("testdata", "mcast-cluster.sh"), bin, dir, "60")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "the script failed:\n%s", out)

			formed := ""
			statuses := map[string]mesh.Info{}
			logs := map[string]string{}
			var current string
			var logText strings.Builder
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				switch {
				case current != "" && line == "END "+current:
					logs[current] = logText.String()
					current = ""
				case current != "":
					logText.WriteString(line + "\n")
				case strings.HasPrefix(line, "FORMED_MS "):
					formed = strings.TrimPrefix(line, "FORMED_MS ")
				case strings.HasPrefix(line, "STATUS "):
					node, js, _ := strings.Cut(strings.TrimPrefix(line, "STATUS "), " ")
					var info mesh.Info
					require.NoError(t, json.Unmarshal([]byte(js), &info), "ctl status --json on %s: %s", node, js)
					statuses[node] = info
				case strings.HasPrefix(line, "LOG "):
					current = strings.TrimPrefix(line, "LOG ")
					logText.Reset()
				}
			}
			if t.Failed() || formed == "none" {
				t.Logf("script output:\n%s", out)
			}
			require.NotEqual(t, "none", formed, "the nodes did not form one cluster within 60s")
			t.Logf("FORMATION 3 ekka-mesh run processes (%s): one cluster %s ms after the last started", tt.name, formed)

			require.Len(t, statuses, 3)
			for k, name := range all {
				info := statuses[fmt.Sprintf("n%d", k+1)]
				assert.Equal(t, name, info.Node)
				assert.Equal(t, "mcastcl", info.Cluster)
				assert.Equal(t, all, info.RunningNodes, "running nodes on %s", name)
				assert.Empty(t, info.StoppedNodes, "stopped nodes on %s", name)
				assert.Empty(t, info.Partitions, "partitions on %s", name)
				var members []string
				for _, m := range info.Members {
					members = append(members, m.Node)
				}
				assert.Equal(t, all, members, "members on %s", name)
			}
			for k := range all {
				log := logs[fmt.Sprintf("n%d", k+1)]
				assert.Contains(t, log, "discovery=mcast", "node %d log", k+1)
				assert.NotContains(t, log, "level=ERROR", "node %d log", k+1)
				assert.NotContains(t, log, "dropping packets", "node %d log", k+1)
				assert.True(t, slices.ContainsFunc(strings.Split(log, "\n"), func(l string) bool { return strings.Contains(l, "msg=stopped") }),
					"node %d did not stop cleanly on SIGTERM:\n%s", k+1, log)
			}
		})
	}
}
