package locker

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

// ctlClient connects a hidden client, as ekka-mesh ctl does, to node i.
func ctlClient(t *testing.T, lc *lockCluster, i int, name string) *mesh.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := lc.c.Config(i)
	cl, err := mesh.Connect(ctx, mesh.ClientConfig{Cookie: cfg.Cookie, Name: name, Addr: lc.c.Node(i).Addr().String()}, lc.c.Name(i))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func ctlDo(t *testing.T, cl *mesh.Client, req CtlRequest) CtlReply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, _ := json.Marshal(req)
	out, err := cl.Call(ctx, Method(DefaultName, "ctl"), p)
	if err != nil {
		t.Fatalf("ctl %s: %v", req.Op, err)
	}
	var rep CtlReply
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestCtlLogs: a lock and an unlock through ctl are logged at info on the
// node that carries them out, with the client; a ctl lock whose lease runs
// out ends with an info "lease ended", not a WARN "lease lost".
func TestCtlLogs(t *testing.T) {
	var log testnet.SyncBuffer
	lc := startLockCluster(t, 2, Config{Logger: slog.New(slog.NewTextHandler(&log, nil))}, nil)
	cl := ctlClient(t, lc, 0, "ctl-tester@127.0.0.1")

	rep := ctlDo(t, cl, CtlRequest{Op: "lock", Resource: "orders", Owner: "A", LeaseMillis: 30000})
	if !rep.OK() {
		t.Fatalf("lock: %+v", rep)
	}
	rep = ctlDo(t, cl, CtlRequest{Op: "lock", Resource: "orders", Owner: "B"})
	if rep.OK() {
		t.Fatalf("second owner's lock: %+v, want refused", rep)
	}
	rep = ctlDo(t, cl, CtlRequest{Op: "unlock", Resource: "orders", Owner: "A"})
	if !rep.OK() {
		t.Fatalf("unlock: %+v", rep)
	}
	lines := func(want ...string) []string {
		var out []string
	next:
		for _, line := range strings.Split(log.String(), "\n") {
			for _, w := range want {
				if !strings.Contains(line, w) {
					continue next
				}
			}
			out = append(out, line)
		}
		return out
	}
	client := "client=ctl-tester@127.0.0.1 client_addr=127.0.0.1:"
	for _, want := range [][]string{
		{"level=INFO", `msg="admin action"`, "action=lock resource=orders owner=A type=quorum lease=30s token=", client, "outcome=granted"},
		{"level=INFO", `msg="admin action"`, "action=lock resource=orders owner=B type=quorum refused_by=", "held by A", client, "outcome=refused"},
		{"level=INFO", `msg="admin action"`, "action=unlock resource=orders owner=A type=quorum released_by=", client, "outcome=released"},
	} {
		if got := lines(want...); len(got) != 1 {
			t.Errorf("want one line with %q, got %d; log:\n%s", want, len(got), log.String())
		}
	}

	// A short ctl lock nobody unlocks: its lease runs out.
	rep = ctlDo(t, cl, CtlRequest{Op: "lock", Resource: "short", Owner: "C", LeaseMillis: 100})
	if !rep.OK() {
		t.Fatalf("lock: %+v", rep)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := lc.c.Wait(ctx, "the ctl lock's lease ended", func() bool {
		return len(lines(`level=INFO msg="lease ended" locker=default resource=short type=quorum owner=C`)) == 1
	}); err != nil {
		t.Fatalf("%v; log:\n%s", err, log.String())
	}
	if got := lines("lease lost"); len(got) != 0 {
		t.Fatalf("a ctl lock's end logged as lost: %q", got)
	}
}

// TestLibraryLeaseLostWarns: a library Lease whose renewal is refused (its
// grants released behind its back) is lost, and that is a WARN.
func TestLibraryLeaseLostWarns(t *testing.T) {
	var log testnet.SyncBuffer
	lc := startLockCluster(t, 2, Config{Logger: slog.New(slog.NewTextHandler(&log, nil))}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := lc.locker(0).Acquire(ctx, "jobs", Options{Owner: "lib", Lease: 30 * time.Second})
	if err != nil || !res.OK {
		t.Fatalf("acquire: %+v %v", res, err)
	}
	// The other node's locker releases the owner's grants on every node.
	if rr, err := lc.locker(1).Release(ctx, "jobs", Options{Owner: "lib"}); err != nil || !rr.OK {
		t.Fatalf("release from the other node: %+v %v", rr, err)
	}
	if _, err := res.Lease.Renew(ctx, 0); !errorsIs(err, ErrLeaseLost) {
		t.Fatalf("renew after the grants were released: %v, want ErrLeaseLost", err)
	}
	if !strings.Contains(log.String(), `level=WARN msg="lease lost" locker=default resource=jobs type=quorum owner=lib err=`) {
		t.Fatalf("no WARN lease lost; log:\n%s", log.String())
	}
	if strings.Contains(log.String(), `msg="lease ended" locker=default resource=jobs`) {
		t.Fatalf("a lost library lease logged as ended; log:\n%s", log.String())
	}
}
