package config

import (
	"errors"
	"strings"
	"testing"
)

// TestRefusedKeys checks every refused key of ekka's schema is refused from
// a file, a variable and an override, with what to use instead, and is not
// also a key of the table.
func TestRefusedKeys(t *testing.T) {
	keys := RefusedKeys()
	if len(keys) < 10 || keys[len(keys)-1].Key != "cluster.etcd.ssl.*" {
		t.Fatalf("RefusedKeys = %v; want the table and cluster.etcd.ssl.* last", keys)
	}
	for i, r := range keys[:len(keys)-1] {
		if _, known := keyIndex[r.Key]; known {
			t.Errorf("%s is both a key and refused", r.Key)
		}
		if i > 0 && keys[i-1].Key >= r.Key {
			t.Errorf("RefusedKeys not sorted at %s", r.Key)
		}
		s := Defaults()
		err := s.Set(r.Key, "x")
		if !errors.Is(err, ErrRefusedKey) || errors.Is(err, ErrUnknownKey) {
			t.Errorf("Set(%s) = %v; want ErrRefusedKey only", r.Key, err)
			continue
		}
		if want := r.Key + " = x: an ekka key that ekka-mesh does not take: " + r.Instead; err.Error() != want {
			t.Errorf("Set(%s) error\n%s\nwant\n%s", r.Key, err, want)
		}
	}
}

func TestRefusedKeysInEverySource(t *testing.T) {
	path := writeConf(t, "cluster.name = c\ncluster.proto_dist = inet_tls\ncluster.mcast.buffer = 32KB\ncluster.etcd.ssl.verify = verify_peer\n")
	_, err := LoadEnv(path, []string{"rlog.role=core"}, []string{"EKKA_MESH_NODE__DIST_LISTEN_MIN=6369"})
	if !errors.Is(err, ErrRefusedKey) {
		t.Fatalf("LoadEnv = %v; want ErrRefusedKey", err)
	}
	for _, want := range []string{
		"ekka-mesh.conf:2: cluster.proto_dist = inet_tls: an ekka key that ekka-mesh does not take: ekka-mesh has its own transport, not Erlang distribution: inet_tcp needs nothing, inet_tls is node.tls.enable = on",
		"ekka-mesh.conf:3: cluster.mcast.buffer = 32KB: an ekka key that ekka-mesh does not take: Erlang's user-level driver buffer has no counterpart",
		"ekka-mesh.conf:4: cluster.etcd.ssl.verify = verify_peer: an ekka key that ekka-mesh does not take: ekka passed any Erlang ssl option under cluster.etcd.ssl.; ekka-mesh takes cluster.etcd.ssl.keyfile, certfile and cacertfile",
		"environment variable EKKA_MESH_NODE__DIST_LISTEN_MIN: node.dist_listen_min = 6369: an ekka key that ekka-mesh does not take: a node's port comes from its name",
		`override "rlog.role=core": rlog.role = core: an ekka key that ekka-mesh does not take: ekka-mesh has no Mnesia and no replicant nodes`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("LoadEnv error lacks\n%s\nin\n%s", want, err)
		}
	}
	// The keys ekka-mesh takes under cluster.etcd.ssl. are taken, and a
	// key of nobody's schema is still unknown.
	s := Defaults()
	if err := s.Set("cluster.etcd.ssl.keyfile", "/k.pem"); err != nil {
		t.Errorf("Set(cluster.etcd.ssl.keyfile) = %v", err)
	}
	if err := s.Set("cluster.etcd.ssl.", "x"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Set(cluster.etcd.ssl.) = %v; want ErrUnknownKey", err)
	}
	if err := s.Set("cluster.nosuch", "x"); !errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrRefusedKey) {
		t.Errorf("Set(cluster.nosuch) = %v; want ErrUnknownKey", err)
	}
}
