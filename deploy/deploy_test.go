// Package deploy_test checks the deployment files in deploy/ against a real
// kube-apiserver (internal/kubeapi) and against ekka-mesh itself, so that
// they cannot rot: every manifest is applied with strict server-side field
// validation, the Role is proven sufficient (and a smaller one proven
// insufficient) by running k8s discovery with a ServiceAccount token, and
// the ports, probe paths, environment variables and config keys the files
// use are checked to exist.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/ekka-mesh/ekka-mesh/admin"
	"github.com/ekka-mesh/ekka-mesh/config"
	"github.com/ekka-mesh/ekka-mesh/discovery/k8s"
	"github.com/ekka-mesh/ekka-mesh/internal/kubeapi"
	"github.com/ekka-mesh/ekka-mesh/mesh/meshtest"
	"github.com/ekka-mesh/ekka-mesh/portmap"
)

// manifest is one object of a file in kubernetes/.
type manifest struct {
	file string
	obj  kubeapi.Object
}

func (m manifest) String() string { return m.file + ": " + m.obj.String() }

// manifests reads every object of every file in kubernetes/.
func manifests(t *testing.T) []manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no manifest in deploy/kubernetes")
	var all []manifest
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		objs, err := kubeapi.SplitDocuments(data)
		require.NoError(t, err, f)
		require.NotEmpty(t, objs, "%s holds no object", f)
		for _, o := range objs {
			assert.Empty(t, o.Namespace, "%s: %s names namespace %s; the manifests must apply to any namespace", f, o, o.Namespace)
			all = append(all, manifest{file: filepath.Base(f), obj: o})
		}
	}
	return all
}

// find returns the one object of kind in the manifests.
func find(t *testing.T, all []manifest, kind string) manifest {
	t.Helper()
	var found []manifest
	for _, m := range all {
		if m.obj.Kind == kind {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "want exactly one %s in deploy/kubernetes", kind)
	return found[0]
}

// namespace creates a namespace for one test case, labelled so that the
// PodSecurity admission enforces the restricted profile in it.
func namespace(t *testing.T, srv *kubeapi.Server, name string) {
	t.Helper()
	srv.MustApply(t, "", `apiVersion: v1
kind: Namespace
metadata:
  name: `+name+`
  labels:
    pod-security.kubernetes.io/enforce: restricted
`)
}

// TestManifestsApplyStrict applies every manifest of deploy/kubernetes to a
// real API server as `kubectl apply --server-side --validate=strict` would,
// then shows that the server would refuse each of them with any one field
// name misspelt or a required field removed, and that the StatefulSet's pod
// passes the restricted Pod Security Standard (and one that may escalate its
// privileges does not).
func TestManifestsApplyStrict(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kube-apiserver")
	}
	srv := kubeapi.Start(t)
	ctx := t.Context()
	const ns = "ekka-apply"
	namespace(t, srv, ns)
	all := manifests(t)
	kinds := map[string]bool{}
	for _, m := range all {
		kinds[m.obj.Kind] = true
		require.NoError(t, srv.Apply(ctx, ns, m.obj, kubeapi.ApplyOptions{}), "%s", m)
	}
	for _, k := range []string{"ServiceAccount", "Role", "RoleBinding", "Secret", "Service", "StatefulSet", "PodDisruptionBudget"} {
		assert.True(t, kinds[k], "deploy/kubernetes has no %s", k)
	}
	// Applying again changes nothing and conflicts with nothing.
	for _, m := range all {
		require.NoError(t, srv.Apply(ctx, ns, m.obj, kubeapi.ApplyOptions{}), "%s applied twice", m)
	}

	// Every field name, misspelt, is refused, as kubectl create
	// --dry-run=server --validate=strict would see (in an empty namespace,
	// where the objects would otherwise be created).
	const typos = "ekka-typos"
	namespace(t, srv, typos)
	tried := 0
	for _, m := range all {
		for _, line := range keyLines(m.obj) {
			typo := withTypo(m.obj, line)
			err := srv.Create(ctx, typos, typo.obj, kubeapi.ApplyOptions{DryRun: true})
			tried++
			var se *kubeapi.StatusError
			if !assert.ErrorAs(t, err, &se, "%s with the field %q misspelt %q was accepted", m, typo.key, typo.key+"Typo") {
				continue
			}
			assert.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, se.Code, "%s with %q misspelt: %v", m, typo.key, err)
			assert.Contains(t, se.Message, typo.key+"Typo", "%s with %q misspelt: the error names the field", m, typo.key)
		}
	}
	t.Logf("%d manifests applied; each of their %d field names misspelt was refused", len(all), tried)

	// Required fields removed are refused.
	for _, cut := range []struct{ kind, field string }{{"RoleBinding", "roleRef"}, {"StatefulSet", "selector"}, {"StatefulSet", "containers"}} {
		m := find(t, all, cut.kind)
		obj, ok := withoutField(m.obj, cut.field)
		require.True(t, ok, "%s has no field %s", m, cut.field)
		err := srv.Create(ctx, typos, obj, kubeapi.ApplyOptions{DryRun: true})
		var se *kubeapi.StatusError
		if assert.ErrorAs(t, err, &se, "%s without %s was accepted", m, cut.field) {
			assert.Equal(t, http.StatusUnprocessableEntity, se.Code, "%s without %s: %v", m, cut.field, err)
			assert.Contains(t, se.Message, cut.field, "%s without %s: the error names the field", m, cut.field)
		}
	}

	// The StatefulSet's pod, as its controller would create it, passes the
	// PodSecurity admission of a namespace enforcing "restricted".
	sts := find(t, all, "StatefulSet")
	pod := podOf(t, sts.obj, "ekka-mesh-0")
	require.NoError(t, srv.Apply(ctx, ns, pod, kubeapi.ApplyOptions{DryRun: true}), "the StatefulSet's pod")
	insecure := bytes.Replace(pod.Text, []byte(`"allowPrivilegeEscalation":false`), []byte(`"allowPrivilegeEscalation":true`), 1)
	require.NotEqual(t, pod.Text, insecure)
	err := srv.Apply(ctx, ns, kubeapi.Object{APIVersion: "v1", Kind: "Pod", Name: "ekka-mesh-0", Text: insecure}, kubeapi.ApplyOptions{DryRun: true})
	assert.ErrorContains(t, err, `violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`, "a pod that may escalate, in a restricted namespace")
}

// keyLine is a line of a manifest that holds a field name.
type keyLine struct {
	line int
	key  string
}

var keyRE = regexp.MustCompile(`^([ ]*)((?:- )*)([A-Za-z][A-Za-z0-9]*):(?: |$)`)

// keyLines returns the lines of o that name a schema field: not the keys of
// free-form maps (labels, selectors, Secret data), nor apiVersion, kind and
// metadata.name, which name the object.
func keyLines(o kubeapi.Object) []keyLine {
	type level struct {
		indent int
		key    string
	}
	var stack []level
	var out []keyLine
	lines := strings.Split(string(o.Text), "\n")
	for i, line := range lines {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		m := keyRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		indent := len(m[1]) + len(m[2])
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		free := false
		for j, l := range stack {
			switch l.key {
			case "labels", "annotations", "matchLabels", "stringData", "data":
				free = true
			case "selector":
				free = free || (o.Kind == "Service" && j == len(stack)-1)
			}
		}
		key := m[3]
		top := len(stack) == 0
		named := top && (key == "apiVersion" || key == "kind") || len(stack) == 1 && stack[0].key == "metadata" && key == "name"
		stack = append(stack, level{indent, key})
		if !free && !named {
			out = append(out, keyLine{i, key})
		}
	}
	return out
}

type typoObject struct {
	obj kubeapi.Object
	key string
}

// withTypo returns o with the field name on line l misspelt (key+"Typo").
func withTypo(o kubeapi.Object, l keyLine) typoObject {
	lines := strings.Split(string(o.Text), "\n")
	lines[l.line] = strings.Replace(lines[l.line], l.key+":", l.key+"Typo:", 1)
	o.Text = []byte(strings.Join(lines, "\n"))
	return typoObject{obj: o, key: l.key}
}

// withoutField returns o without the first field called name and what is
// indented under it.
func withoutField(o kubeapi.Object, name string) (kubeapi.Object, bool) {
	lines := strings.Split(string(o.Text), "\n")
	for i, line := range lines {
		m := keyRE.FindStringSubmatch(line)
		if m == nil || m[3] != name || m[2] != "" {
			continue
		}
		end := i + 1
		for end < len(lines) && (strings.TrimSpace(lines[end]) == "" || indentOf(lines[end]) > len(m[1])) {
			end++
		}
		out := append(slices.Clone(lines[:i]), lines[end:]...)
		o.Text = []byte(strings.Join(out, "\n"))
		return o, true
	}
	return o, false
}

func indentOf(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// statefulSet is what the tests read of the StatefulSet.
type statefulSet struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		ServiceName string `json:"serviceName"`
		Replicas    int    `json:"replicas"`
		Template    struct {
			Metadata map[string]any `json:"metadata"`
			Spec     podSpec        `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type podSpec struct {
	ServiceAccountName            string      `json:"serviceAccountName"`
	TerminationGracePeriodSeconds *int        `json:"terminationGracePeriodSeconds"`
	SecurityContext               podSecurity `json:"securityContext"`
	Containers                    []container `json:"containers"`
}

type podSecurity struct {
	RunAsNonRoot *bool `json:"runAsNonRoot"`
	RunAsUser    *int  `json:"runAsUser"`
}

type container struct {
	Name  string `json:"name"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	Env []struct {
		Name      string `json:"name"`
		Value     string `json:"value"`
		ValueFrom *struct {
			FieldRef *struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef"`
			SecretKeyRef *struct {
				Name string `json:"name"`
				Key  string `json:"key"`
			} `json:"secretKeyRef"`
			ResourceFieldRef *struct {
				Resource string `json:"resource"`
			} `json:"resourceFieldRef"`
		} `json:"valueFrom"`
	} `json:"env"`
	ReadinessProbe  *probe `json:"readinessProbe"`
	LivenessProbe   *probe `json:"livenessProbe"`
	SecurityContext struct {
		ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
	} `json:"securityContext"`
	Resources struct {
		Limits   map[string]string `json:"limits"`
		Requests map[string]string `json:"requests"`
	} `json:"resources"`
}

type probe struct {
	HTTPGet *struct {
		Path string `json:"path"`
		Port any    `json:"port"` // a number or a port name
	} `json:"httpGet"`
}

func decode[T any](t *testing.T, o kubeapi.Object) T {
	t.Helper()
	var v T
	require.NoError(t, yaml.Unmarshal(o.Text, &v), "%s", o)
	return v
}

// podOf returns the pod the StatefulSet controller would create as name:
// the template with the name, hostname and subdomain.
func podOf(t *testing.T, sts kubeapi.Object, name string) kubeapi.Object {
	t.Helper()
	var raw struct {
		Spec struct {
			ServiceName string `json:"serviceName"`
			Template    struct {
				Metadata map[string]any `json:"metadata"`
				Spec     map[string]any `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(sts.Text, &raw))
	meta := raw.Spec.Template.Metadata
	meta["name"] = name
	spec := raw.Spec.Template.Spec
	spec["hostname"] = name
	spec["subdomain"] = raw.Spec.ServiceName
	text, err := yaml.JSONToYAML(mustJSON(t, map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}))
	require.NoError(t, err)
	// JSON is YAML: keep it as JSON so the test can edit it as a string.
	j, err := yaml.YAMLToJSON(text)
	require.NoError(t, err)
	return kubeapi.Object{APIVersion: "v1", Kind: "Pod", Name: name, Text: j}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	require.NoError(t, err)
	j, err := yaml.YAMLToJSON(b)
	require.NoError(t, err)
	return j
}

// podEnv resolves the container's environment as the kubelet would for a
// pod with the given IP: field references, the Secret's value (from the
// manifests), and $(VAR) references to variables defined before.
func podEnv(t *testing.T, all []manifest, c container, podIP string) []string {
	t.Helper()
	vals := map[string]string{}
	var env []string
	for _, e := range c.Env {
		v := e.Value
		switch {
		case e.ValueFrom == nil:
		case e.ValueFrom.FieldRef != nil:
			require.Equal(t, "status.podIP", e.ValueFrom.FieldRef.FieldPath, "%s: the only field the test resolves", e.Name)
			v = podIP
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			sec := decode[struct {
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				StringData map[string]string `json:"stringData"`
			}](t, find(t, all, "Secret").obj)
			require.Equal(t, sec.Metadata.Name, ref.Name, "%s refers to a Secret that deploy/kubernetes does not define", e.Name)
			require.Contains(t, sec.StringData, ref.Key, "%s refers to key %s of Secret %s, which it lacks", e.Name, ref.Key, ref.Name)
			v = sec.StringData[ref.Key]
		case e.ValueFrom.ResourceFieldRef != nil:
			v = "536870912"
		}
		v = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(v, func(ref string) string {
			name := ref[2 : len(ref)-1]
			got, ok := vals[name]
			require.True(t, ok, "%s refers to $(%s), which is not defined before it", e.Name, name)
			return got
		})
		vals[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env
}

// TestFilesMatchEkkaMesh checks that what the deployment files name exists
// in ekka-mesh: every EKKA_MESH_* variable is a config key's, the settings
// they make load and mean what the manifests assume (the node's port is the
// one the container, the Service and the Dockerfile expose; the admin
// endpoint listens on the probes' port), the probe paths are routes of the
// admin endpoint, and the systemd example loads.
func TestFilesMatchEkkaMesh(t *testing.T) {
	all := manifests(t)
	stsObj := find(t, all, "StatefulSet")
	sts := decode[statefulSet](t, stsObj.obj)
	require.Len(t, sts.Spec.Template.Spec.Containers, 1)
	c := sts.Spec.Template.Spec.Containers[0]
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	require.Contains(t, ports, "mesh")
	require.Contains(t, ports, "admin")

	keys := map[string]string{} // variable -> key
	for _, k := range config.Keys() {
		keys[config.EnvName(k.Key)] = k.Key
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, config.EnvPrefix) {
			_, ok := keys[e.Name]
			assert.True(t, ok, "the StatefulSet sets %s, which is no config key's variable", e.Name)
		}
	}

	// Three pods' settings, as their environment makes them.
	var names []string
	for i := range sts.Spec.Replicas {
		ip := fmt.Sprintf("10.1.0.%d", i+1)
		env := podEnv(t, all, c, ip)
		s, err := config.LoadEnv("", nil, env)
		require.NoError(t, err, "the settings of pod %d from the StatefulSet's environment", i)
		assert.Equal(t, "ekka@"+ip, s.Node.Name.String(), "the node is named after its pod IP")
		port, err := portmap.Port(s.Node.Name.String(), s.Node.BasePort)
		require.NoError(t, err)
		assert.Equal(t, ports["mesh"], port, "node %s listens on the container port named mesh", s.Node.Name)
		names = append(names, s.Node.Name.String())

		_, adminPort, ok := strings.Cut(s.Node.Admin.Listen, ":")
		require.True(t, ok, "node.admin.listen %q", s.Node.Admin.Listen)
		assert.Equal(t, strconv.Itoa(ports["admin"]), adminPort, "the admin endpoint listens on the container port named admin")
		assert.Equal(t, config.DiscoveryK8s, s.Cluster.Discovery)
		k := s.Cluster.K8s
		assert.Equal(t, sts.Spec.ServiceName, k.ServiceName, "discovery reads the StatefulSet's service")
		assert.Equal(t, s.Node.Name.Short, k.AppName, "discovered peers have the node's short name, so the same port")
		assert.Equal(t, config.K8sAddressIP, k.AddressType, "peers are named by pod IP, as the node names itself")
		assert.Empty(t, k.Namespace, "the namespace comes from the pod's service account, so the files apply to any namespace")
		assert.Equal(t, k8s.DefaultTokenFile, k.TokenFile)
		assert.Equal(t, k8s.DefaultCACertFile, k.CACertFile)
		assert.Equal(t, k8s.DefaultNamespaceFile, k.NamespaceFile)
		assert.NotEmpty(t, s.Node.Cookie, "the cookie comes from the Secret")
	}
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(names))), sts.Spec.Replicas, "every pod has its own node name")

	svc := decode[struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			ClusterIP                string `json:"clusterIP"`
			PublishNotReadyAddresses bool   `json:"publishNotReadyAddresses"`
			Selector                 map[string]string
			Ports                    []struct {
				Name       string `json:"name"`
				Port       int    `json:"port"`
				TargetPort any    `json:"targetPort"`
			} `json:"ports"`
		} `json:"spec"`
	}](t, find(t, all, "Service").obj)
	assert.Equal(t, sts.Spec.ServiceName, svc.Metadata.Name, "the StatefulSet's serviceName is the headless Service")
	assert.Equal(t, "None", svc.Spec.ClusterIP, "the Service is headless")
	assert.True(t, svc.Spec.PublishNotReadyAddresses, "a pod not yet ready must be discoverable, or none ever becomes ready")
	require.Len(t, svc.Spec.Ports, 1)
	assert.Equal(t, ports["mesh"], svc.Spec.Ports[0].Port)
	assert.Contains(t, []any{"mesh", float64(ports["mesh"])}, svc.Spec.Ports[0].TargetPort)

	// The probes ask the admin endpoint for routes it serves.
	probes := map[string]*probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe}
	cl, err := meshtest.Start(t.Context(), 1, nil)
	require.NoError(t, err)
	defer cl.Stop(context.Background())
	h := admin.Handler(admin.Options{Node: cl.Node(0), ReadyMinMembers: 1})
	paths := map[string]string{}
	for kind, p := range probes {
		require.NotNil(t, p, "the container has a %s probe", kind)
		require.NotNil(t, p.HTTPGet, "the %s probe is an httpGet", kind)
		assert.Contains(t, []any{"admin", float64(ports["admin"])}, p.HTTPGet.Port, "the %s probe asks the admin port", kind)
		paths[kind] = p.HTTPGet.Path
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p.HTTPGet.Path, nil))
		assert.Equal(t, http.StatusOK, rec.Code, "the %s probe's %s on a running single node: %s", kind, p.HTTPGet.Path, rec.Body)
	}
	assert.Equal(t, map[string]string{"readiness": "/readyz", "liveness": "/healthz"}, paths)

	// Security: non-root, read-only root, no escalation.
	ps := sts.Spec.Template.Spec
	require.NotNil(t, ps.SecurityContext.RunAsNonRoot)
	assert.True(t, *ps.SecurityContext.RunAsNonRoot)
	require.NotNil(t, c.SecurityContext.ReadOnlyRootFilesystem)
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	require.NotNil(t, ps.TerminationGracePeriodSeconds)
	assert.Positive(t, *ps.TerminationGracePeriodSeconds)
	assert.NotEmpty(t, c.Resources.Limits["memory"])
	assert.Equal(t, find(t, all, "ServiceAccount").obj.Name, ps.ServiceAccountName)

	// The Dockerfile exposes the ports and user the StatefulSet expects.
	df := dockerfile(t, filepath.Join("Dockerfile"))
	assert.GreaterOrEqual(t, len(df.from), 2, "a multi-stage build")
	assert.Contains(t, df.from[len(df.from)-1], "distroless/static", "the final image has no libc: the binary is static")
	assert.Contains(t, df.text, "CGO_ENABLED=0")
	assert.Contains(t, df.text, "-trimpath")
	assert.Contains(t, df.text, "-X main.version=")
	user, group, _ := strings.Cut(df.user, ":")
	uid, err := strconv.Atoi(user)
	require.NoError(t, err, "USER %q: want a numeric user, so runAsNonRoot can check it", df.user)
	assert.NotZero(t, uid, "USER is not root")
	if group != "" {
		gid, err := strconv.Atoi(group)
		require.NoError(t, err, "USER %q: want a numeric group", df.user)
		assert.NotZero(t, gid)
	}
	require.NotNil(t, ps.SecurityContext.RunAsUser)
	assert.Equal(t, uid, *ps.SecurityContext.RunAsUser, "the pod runs as the image's user")
	assert.ElementsMatch(t, []int{ports["mesh"], ports["admin"]}, df.expose, "EXPOSE lists the container's ports")
	assert.Equal(t, []string{"/usr/local/bin/ekka-mesh", "run"}, df.entrypoint)

	// The systemd example loads, and its unit runs `ekka-mesh run` with it.
	s, err := config.LoadEnv(filepath.Join("systemd", "ekka-mesh.conf"), nil, nil)
	require.NoError(t, err, "deploy/systemd/ekka-mesh.conf")
	assert.NotEqual(t, config.Defaults().Node.Name, s.Node.Name)
	unit, err := os.ReadFile(filepath.Join("systemd", "ekka-mesh.service"))
	require.NoError(t, err)
	for _, want := range []string{
		"ExecStart=/usr/local/bin/ekka-mesh run --config /etc/ekka-mesh/ekka-mesh.conf",
		"ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM", "Restart=on-failure",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=ekka-mesh", "Environment=HOME=/var/lib/ekka-mesh",
	} {
		assert.Contains(t, string(unit), "\n"+want+"\n", "the unit has %s", want)
	}
	verifyUnit(t, unit)
}

// verifyUnit runs systemd-analyze verify on the unit, when it is installed,
// with ExecStart's binary replaced by one that exists here: an unknown or
// misspelt directive, which systemd would ignore, fails the test.
func verifyUnit(t *testing.T, unit []byte) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not installed: the unit's directives are not verified")
		return
	}
	self, err := os.Executable()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "ekka-mesh.service")
	require.NoError(t, os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/ekka-mesh "), []byte(self+" ")), 0o644))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	require.NoError(t, err, "systemd-analyze verify: %s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify deploy/systemd/ekka-mesh.service")
}

// TestDockerfileBuildsStatic runs the Dockerfile's `go build` step as it is
// written (only its output path changed), outside Docker: the binary is
// static (no interpreter, no shared library) and reports the VERSION given
// with -X main.version (the linker silently ignores -X of a variable that
// does not exist).
func TestDockerfileBuildsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	df := dockerfile(t, "Dockerfile")
	require.Len(t, df.build, 1, "one RUN go build step")
	const version = "v0.0.0-deploytest"
	bin := filepath.Join(t.TempDir(), "ekka-mesh")
	step := strings.ReplaceAll(df.build[0], "${VERSION}", version)
	require.Contains(t, step, "-o /out/ekka-mesh")
	step = strings.Replace(step, "-o /out/ekka-mesh", "-o "+bin, 1)
	cmd := exec.CommandContext(t.Context(), "sh", "-c", step)
	cmd.Dir = ".." // the build context: the repository's root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", step, out)

	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs, "the binary links no shared library")
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "the binary has no dynamic loader")
	}
	out, err = exec.Command(bin, "version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.True(t, strings.HasPrefix(string(out), "ekka-mesh "+version+" "), "ekka-mesh version: %s", out)
}

// dockerFile is what the test reads of the Dockerfile.
type dockerFile struct {
	text       string
	from       []string
	user       string
	expose     []int
	entrypoint []string
	build      []string // the RUN steps that run go build, continuation lines joined
}

func dockerfile(t *testing.T, path string) dockerFile {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	d := dockerFile{text: string(data)}
	joined := strings.ReplaceAll(string(data), "\\\n", " ")
	sc := bufio.NewScanner(strings.NewReader(joined))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			d.from = append(d.from, f[1])
		case "USER":
			d.user = f[1]
		case "EXPOSE":
			for _, p := range f[1:] {
				p, _, _ = strings.Cut(p, "/")
				n, err := strconv.Atoi(p)
				require.NoError(t, err, "EXPOSE %s", p)
				d.expose = append(d.expose, n)
			}
		case "RUN":
			if step := strings.Join(f[1:], " "); strings.Contains(step, "go build") {
				d.build = append(d.build, step)
			}
		case "ENTRYPOINT":
			require.NoError(t, yaml.Unmarshal([]byte(strings.Join(f[1:], " ")), &d.entrypoint), "ENTRYPOINT in exec form")
		}
	}
	return d
}

// TestRoleIsWhatDiscoveryNeeds applies the ServiceAccount, Role,
// RoleBinding and Service of deploy/kubernetes, writes the EndpointSlices
// and Endpoints the control plane would for three pods, mints a token for
// the ServiceAccount and runs k8s discovery, configured as the StatefulSet
// configures it, with exactly that token: it finds the three nodes through
// EndpointSlices. With a Role that grants endpoints only, it falls back to
// them (and says so); with a Role that grants neither list on
// endpointslices nor get on endpoints, it fails, saying what was
// forbidden.
func TestRoleIsWhatDiscoveryNeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kube-apiserver")
	}
	srv := kubeapi.Start(t)
	all := manifests(t)
	c := decode[statefulSet](t, find(t, all, "StatefulSet").obj).Spec.Template.Spec.Containers[0]
	role := find(t, all, "Role").obj
	want := []string{"ekka@10.1.0.1", "ekka@10.1.0.2", "ekka@10.1.0.3"}

	cases := []struct {
		ns    string
		rules string // replaces the Role's rules; "" keeps them
		// granted is a verb on a resource the Role grants, asked until
		// the server's RBAC has the binding in effect.
		granted   [2]string
		wantWarn  string
		wantError []string
	}{
		{ns: "ekka-rbac", granted: [2]string{"list", "endpointslices"}},
		{ns: "ekka-rbac-endpoints", rules: `[{apiGroups: [""], resources: ["endpoints"], verbs: ["get"]}]`,
			granted: [2]string{"get", "endpoints"}, wantWarn: "may not list EndpointSlices; using the legacy Endpoints"},
		{ns: "ekka-rbac-watch", rules: `[{apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["get", "watch"]}, {apiGroups: [""], resources: ["endpoints"], verbs: ["list", "watch"]}]`,
			granted: [2]string{"watch", "endpointslices"},
			wantError: []string{"403 Forbidden", `cannot list resource "endpointslices" in API group "discovery.k8s.io"`,
				`cannot get resource "endpoints" in API group ""`}},
	}
	for _, tc := range cases {
		t.Run(tc.ns, func(t *testing.T) {
			ctx := t.Context()
			namespace(t, srv, tc.ns)
			r := role
			if tc.rules != "" {
				r = withRules(t, role, tc.rules)
			}
			for _, o := range []kubeapi.Object{find(t, all, "ServiceAccount").obj, r, find(t, all, "RoleBinding").obj, find(t, all, "Service").obj} {
				require.NoError(t, srv.Apply(ctx, tc.ns, o, kubeapi.ApplyOptions{}), "%s", o)
			}
			writeEndpoints(t, srv, tc.ns, "ekka-mesh", "10.1.0.1", "10.1.0.2", "10.1.0.3")

			token, err := srv.ServiceAccountToken(ctx, tc.ns, "ekka-mesh", time.Hour)
			require.NoError(t, err)
			group := map[string]string{"endpointslices": "discovery.k8s.io"}[tc.granted[1]]
			require.NoError(t, srv.WaitAllowed(ctx, token, tc.ns, tc.granted[0], group, tc.granted[1]))

			// The pod's service-account directory.
			dir := t.TempDir()
			for file, content := range map[string][]byte{"token": []byte(token), "ca.crt": srv.CAPEM, "namespace": []byte(tc.ns)} {
				require.NoError(t, os.WriteFile(filepath.Join(dir, file), content, 0o600))
			}
			env := append(podEnv(t, all, c, "10.1.0.1"),
				config.EnvName("cluster.k8s.apiserver")+"="+srv.URL,
				config.EnvName("cluster.k8s.token_file")+"="+filepath.Join(dir, "token"),
				config.EnvName("cluster.k8s.cacert_file")+"="+filepath.Join(dir, "ca.crt"),
				config.EnvName("cluster.k8s.namespace_file")+"="+filepath.Join(dir, "namespace"))
			s, err := config.LoadEnv("", nil, env)
			require.NoError(t, err)
			var log bytes.Buffer
			kc := s.Cluster.K8s
			d, err := k8s.New(k8s.Config{
				APIServer: kc.APIServer, ServiceName: kc.ServiceName, Namespace: kc.Namespace,
				AddressType: k8s.AddressType(kc.AddressType), AppName: kc.AppName, Suffix: kc.Suffix,
				TokenFile: kc.TokenFile, CACertFile: kc.CACertFile, NamespaceFile: kc.NamespaceFile,
				Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn})),
			})
			require.NoError(t, err)
			require.Equal(t, tc.ns, d.Namespace(), "the namespace comes from the service account's file")

			got, err := d.Discover(ctx)
			if tc.wantError != nil {
				require.Error(t, err, "discovery with a Role of %s found %v", tc.rules, got)
				for _, w := range tc.wantError {
					assert.Contains(t, err.Error(), w)
				}
				t.Logf("as expected: %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want, got, "the ready endpoints, named as the pods name themselves")
			if tc.wantWarn == "" {
				assert.Empty(t, log.String(), "discovery through EndpointSlices warns of nothing")
			} else {
				assert.Contains(t, log.String(), tc.wantWarn)
			}
		})
	}
}

// withRules returns the Role with its rules replaced.
func withRules(t *testing.T, role kubeapi.Object, rules string) kubeapi.Object {
	t.Helper()
	var m map[string]any
	require.NoError(t, yaml.Unmarshal(role.Text, &m))
	var r any
	require.NoError(t, yaml.Unmarshal([]byte(rules), &r))
	m["rules"] = r
	text, err := yaml.Marshal(m)
	require.NoError(t, err)
	role.Text = text
	return role
}

// writeEndpoints writes what the control plane would for a service whose
// ready pods have ips: an EndpointSlice and the legacy Endpoints (no
// controller runs beside this API server). One more endpoint, terminating
// and not ready, must not be discovered.
func writeEndpoints(t *testing.T, srv *kubeapi.Server, ns, service string, ips ...string) {
	t.Helper()
	var eps, addrs []string
	for i, ip := range ips {
		pod := fmt.Sprintf("%s-%d", service, i)
		eps = append(eps, fmt.Sprintf(`{addresses: [%q], conditions: {ready: true}, hostname: %q, targetRef: {kind: Pod, name: %q, namespace: %q}}`, ip, pod, pod, ns))
		addrs = append(addrs, fmt.Sprintf(`{ip: %q, hostname: %q}`, ip, pod))
	}
	eps = append(eps, `{addresses: ["10.1.0.99"], conditions: {ready: false, terminating: true}, hostname: gone}`)
	srv.MustApply(t, ns, fmt.Sprintf(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %[1]s-abcde
  labels: {kubernetes.io/service-name: %[1]s, endpointslice.kubernetes.io/managed-by: test}
addressType: IPv4
ports: [{name: mesh, port: 4370, protocol: TCP}]
endpoints: [%[2]s]
---
apiVersion: v1
kind: Endpoints
metadata:
  name: %[1]s
subsets: [{addresses: [%[3]s], notReadyAddresses: [{ip: 10.1.0.99}], ports: [{name: mesh, port: 4370, protocol: TCP}]}]
`, service, strings.Join(eps, ", "), strings.Join(addrs, ", ")))
}
