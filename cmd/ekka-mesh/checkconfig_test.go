package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkConfigRun runs check-config in-process with the environment environ.
func checkConfigRun(environ []string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = checkConfigMain(args, &out, &errOut, environ)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func TestCheckConfigOK(t *testing.T) {
	dir := t.TempDir()
	conf := writeFile(t, dir, "ok.conf", "node.name = n1@127.0.0.1\nnode.cookie = SEKRIT-cookie\ncluster.discovery = static\ncluster.static.seeds = n1@127.0.0.1,n2@127.0.0.1\n")
	env := []string{"HOME=" + dir, "EKKA_MESH_NODE__BASE_PORT=5000", "PATH=/bin"}

	code, stdout, stderr := checkConfigRun(env, "--config", conf)
	assert.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "configuration OK ("+conf+")\n", stdout)
	assert.Empty(t, stderr)

	// -v: every key's effective value, the cookie hidden.
	code, stdout, stderr = checkConfigRun(env, "--config", conf, "-v", "--set", "node.heartbeat_interval=2s")
	assert.Equal(t, exitOK, code, stderr)
	for _, want := range []string{"node.name = n1@127.0.0.1\n", "node.base_port = 5000\n", "node.heartbeat_interval = 2s\n", "cluster.static.seeds = n1@127.0.0.1,n2@127.0.0.1\n", "node.cookie = (hidden)\n"} {
		assert.Contains(t, stdout, want)
	}
	assert.NotContains(t, stdout, "SEKRIT")

	// --json: the same, as one object.
	code, stdout, stderr = checkConfigRun(env, "--config", conf, "--json")
	assert.Equal(t, exitOK, code, stderr)
	var res checkResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	assert.True(t, res.OK)
	assert.Empty(t, res.Errors)
	assert.Contains(t, res.Settings, keyValue{"node.base_port", "5000"})
	assert.Contains(t, res.Settings, keyValue{"node.cookie", "(hidden)"})
	assert.NotContains(t, stdout, "SEKRIT")

	// No cookie anywhere: valid, with a note, and no cookie file created.
	home := t.TempDir()
	code, stdout, stderr = checkConfigRun([]string{"HOME=" + home})
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "configuration OK (defaults and environment)\nnote: node.cookie is not set: run will create "+filepath.Join(home, ".ekka-mesh.cookie"))
	entries, err := os.ReadDir(home)
	require.NoError(t, err)
	assert.Empty(t, entries, "check-config created files")
}

func TestCheckConfigErrors(t *testing.T) {
	dir := t.TempDir()
	home := t.TempDir()
	env := []string{"HOME=" + home}
	bad := writeFile(t, dir, "bad.conf", "node.name = n1@127.0.0.1\nnode.cookie = SEKRIT-cookie\nnode.heartbeat_interval = 30\ncluster.static.seed = n1@127.0.0.1\n")
	tlsConf := writeFile(t, dir, "tls.conf", "node.cookie = SEKRIT-cookie\nnode.tls.enable = on\nnode.tls.certfile = "+filepath.Join(dir, "missing.pem")+"\nnode.tls.keyfile = "+filepath.Join(dir, "missing.key")+"\n")
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want []string // the lines on stderr, in order
	}{
		{"every error of the file", env, []string{"--config", bad}, []string{
			bad + ":3: node.heartbeat_interval = 30: ",
			bad + ":4: unknown key cluster.static.seed: did you mean cluster.static.seeds?",
		}},
		{"unknown variable and bad override", append([]string{"EKKA_MESH_CLUSTER__DISCOVERYY=static"}, env...), []string{"--config", bad, "--set", "node.base_port=x"}, []string{
			bad + ":3: node.heartbeat_interval = 30: ",
			bad + ":4: unknown key cluster.static.seed",
			"environment variable EKKA_MESH_CLUSTER__DISCOVERYY: unknown key cluster.discoveryy: did you mean EKKA_MESH_CLUSTER__DISCOVERY (cluster.discovery)?",
			`override "node.base_port=x": node.base_port = x: `,
		}},
		{"conflicting keys", env, []string{"--cookie", "c00kie", "--set", "cluster.discovery=dns"}, []string{
			"cluster.discovery = dns needs cluster.dns.name",
		}},
		{"a TLS file that does not exist, named with its line", env, []string{"--config", tlsConf}, []string{
			tlsConf + ":3: node.tls.certfile = " + filepath.Join(dir, "missing.pem") + ", node.tls.keyfile = " + filepath.Join(dir, "missing.key") + ": cannot load them as a PEM certificate and its private key: open " + filepath.Join(dir, "missing.pem") + ": no such file or directory",
		}},
		{"a bad TLS file named by the environment", append([]string{"EKKA_MESH_NODE__TLS__CERTFILE=" + filepath.Join(dir, "env.pem")}, env...), []string{"--config", tlsConf}, []string{
			"environment variable EKKA_MESH_NODE__TLS__CERTFILE: node.tls.certfile = " + filepath.Join(dir, "env.pem"),
		}},
		{"an admin certificate without its key", env, []string{"--cookie", "c00kie", "--set", "node.admin.listen=127.0.0.1:8370", "--set", "node.admin.tls.certfile=" + filepath.Join(dir, "admin.pem")}, []string{
			"node.admin.tls.certfile is set but node.admin.tls.keyfile is not",
		}},
		{"a cookie file others may read", []string{"HOME=" + dir}, nil, []string{
			"bad cookie file " + filepath.Join(dir, ".ekka-mesh.cookie") + ": mode 0644",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.name, "cookie file") {
				writeFile(t, dir, ".ekka-mesh.cookie", "SEKRIT-cookie")
				require.NoError(t, os.Chmod(filepath.Join(dir, ".ekka-mesh.cookie"), 0o644))
			}
			code, stdout, stderr := checkConfigRun(tt.env, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, stdout)
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			require.Len(t, lines, len(tt.want), stderr)
			for i, want := range tt.want {
				assert.True(t, strings.HasPrefix(lines[i], "ekka-mesh check-config: "), lines[i])
				assert.Contains(t, lines[i], want)
			}
			assert.NotContains(t, stderr, "SEKRIT")
			assert.NotContains(t, stderr, "c00kie")

			// --json: the same errors, in an object on stdout.
			code, stdout, _ = checkConfigRun(tt.env, append(tt.args, "--json")...)
			assert.Equal(t, exitUsage, code)
			var res checkResult
			require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
			assert.False(t, res.OK)
			assert.Len(t, res.Errors, len(tt.want))
			assert.Empty(t, res.Settings)
		})
	}

	code, _, stderr := checkConfigRun(env, "extra.conf")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, `ekka-mesh check-config: takes no arguments besides flags, got ["extra.conf"] (give the file with --config FILE)`)
	code, _, stderr = checkConfigRun(env, "--confg", "x")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ekka-mesh check-config: flag provided but not defined: --confg; did you mean --config?")
	code, stdout, _ := run("help", "check-config")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "Usage: ekka-mesh check-config")
	assert.Contains(t, stdout, "  --config file\n")
	assert.NotContains(t, stdout, "\n  -config")
}
