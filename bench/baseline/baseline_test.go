package baseline

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ekka-mesh/ekka-mesh/bench/load"
	"github.com/ekka-mesh/ekka-mesh/mesh"
)

func TestMain(m *testing.M) {
	if kind := os.Getenv(ServeEnv); kind != "" {
		os.Exit(ServeChild(kind))
	}
	goleak.VerifyTestMain(m)
}

func TestParseReady(t *testing.T) {
	for _, tc := range []struct {
		line, addr, name string
		bad              bool
	}{
		{line: "ready 127.0.0.1:4370", addr: "127.0.0.1:4370"},
		{line: "ready 127.0.0.1:1 bsrv1@127.0.0.1", addr: "127.0.0.1:1", name: "bsrv1@127.0.0.1"},
		{line: "ready", bad: true},
		{line: "listening 127.0.0.1:1", bad: true},
		{line: "ready nowhere", bad: true},
		{line: "ready 127.0.0.1:1 a b", bad: true},
	} {
		addr, name, err := ParseReady(tc.line)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "want") {
				t.Errorf("ParseReady(%q) = %v, want an error saying what was expected", tc.line, err)
			}
			continue
		}
		if err != nil || addr != tc.addr || name != tc.name {
			t.Errorf("ParseReady(%q) = %q, %q, %v; want %q, %q", tc.line, addr, name, err, tc.addr, tc.name)
		}
	}
}

func TestParseErlangResult(t *testing.T) {
	r, err := ParseErlangResult("ok 1000 2000000 1500 9000")
	want := ErlangResult{Ops: 1000, Elapsed: 2 * time.Millisecond, P50: 1500, P99: 9000}
	if err != nil || r != want {
		t.Fatalf("got %+v, %v; want %+v", r, err, want)
	}
	for _, line := range []string{"error error:badarg", "ok 1 2 3", "ok 1 2 x 4", "ok 1 -2 3 4", ""} {
		if _, err := ParseErlangResult(line); err == nil {
			t.Errorf("ParseErlangResult(%q) succeeded, want an error", line)
		}
	}
}

func TestParsePeerAndCount(t *testing.T) {
	if n, a, err := ParsePeer("c@127.0.0.1=127.0.0.1:5"); err != nil || n != "c@127.0.0.1" || a != "127.0.0.1:5" {
		t.Errorf("ParsePeer = %q %q %v", n, a, err)
	}
	for _, bad := range []string{"", "x", "=a", "x="} {
		if _, _, err := ParsePeer(bad); err == nil {
			t.Errorf("ParsePeer(%q) succeeded, want an error", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	if Percentile(nil, 99) != 0 {
		t.Error("percentile of nothing is not 0")
	}
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i))
	}
	if p := Percentile(lat, 50); p != 51 {
		t.Errorf("p50 of 1..100 = %d, want 51", p)
	}
	if p := Percentile(lat, 99); p != 100 {
		t.Errorf("p99 of 1..100 = %d, want 100", p)
	}
	if p := Percentile([]time.Duration{7}, 99); p != 7 {
		t.Errorf("p99 of one sample = %d, want 7", p)
	}
}

func startChild(t *testing.T, kind string, env ...string) *Child {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := StartChild(ctx, kind, env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.StopWithin(10 * time.Second); err != nil {
			t.Error(err)
		}
	})
	return c
}

func TestRawTCPChild(t *testing.T) {
	c := startChild(t, KindRawTCP)
	ctx := t.Context()
	echo, err := DialRaw(ctx, c.Addr, ModeEcho, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	p := bytes.Repeat([]byte{'x'}, 64)
	if err := echo.PingPong(p); err != nil || !bytes.Equal(p, bytes.Repeat([]byte{'x'}, 64)) {
		t.Fatalf("ping-pong: %v, %q", err, p)
	}
	if err := echo.PingPong(p[:10]); err == nil {
		t.Error("ping-pong of 10 bytes on a 64-byte connection succeeded")
	}

	st, err := DialRaw(ctx, c.Addr, ModeStream, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, n := range []int{1, 64, 100 << 10} {
		if err := st.Send(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	if m, b, err := st.Count(); err != nil || m != 3 || b != 1+64+100<<10 {
		t.Fatalf("count = %d msgs %d bytes, %v; want 3, %d", m, b, err, 1+64+100<<10)
	}

	ack, err := DialRaw(ctx, c.Addr, ModeAck, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ack.Close()
	for _, n := range []int{64, 1 << 20} {
		if err := ack.Call(make([]byte, n)); err != nil {
			t.Fatalf("ack call of %d bytes: %v", n, err)
		}
	}
}

func TestNetRPCChild(t *testing.T) {
	c := startChild(t, KindNetRPC)
	cl, err := DialNetRPC(t.Context(), c.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if r, err := cl.Call(t.Context(), true, []byte("hi")); err != nil || string(r) != "hi" {
		t.Fatalf("echo = %q, %v", r, err)
	}
	if r, err := cl.Call(t.Context(), false, make([]byte, 1<<20)); err != nil || len(r) != 0 {
		t.Fatalf("sink = %d bytes, %v", len(r), err)
	}
}

func TestGRPCChild(t *testing.T) {
	c := startChild(t, KindGRPC)
	cl, err := DialGRPC(c.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := t.Context()
	if r, err := cl.Call(ctx, true, []byte("hi")); err != nil || string(r) != "hi" {
		t.Fatalf("unary echo = %q, %v", r, err)
	}
	if r, err := cl.Call(ctx, false, make([]byte, 1<<20)); err != nil || len(r) != 0 {
		t.Fatalf("unary sink = %d bytes, %v", len(r), err)
	}
	for _, echo := range []bool{true, false} {
		s, err := cl.Stream(ctx, echo)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			r, err := s.Call([]byte("hey"))
			if err != nil || (echo && string(r) != "hey") || (!echo && len(r) != 0) {
				t.Fatalf("stream (echo %v) = %q, %v", echo, r, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	p, err := cl.Push(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := p.Send(make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if m, b, err := p.Count(); err != nil || m != 5 || b != 50 {
		t.Fatalf("push count = %d, %d, %v; want 5, 50", m, b, err)
	}
}

func TestEkkaChild(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cfg := mesh.DefaultConfig()
	cfg.Name = "bcli1@127.0.0.1"
	cfg.Cookie = "test-cookie"
	cfg.ListenAddr = "127.0.0.1:0"
	var srvName, srvAddr string
	cfg.Resolve = func(node string) (string, error) {
		if node == srvName {
			return srvAddr, nil
		}
		return mesh.Addr(node, 0)
	}
	node, err := mesh.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop(context.Background())
	c := startChild(t, KindEkka, EnvNodeName+"=bsrv1@127.0.0.1", EnvCookie+"=test-cookie", EnvPeer+"="+cfg.Name+"="+node.Addr().String())
	srvName, srvAddr = c.Name, c.Addr
	if c.Name != "bsrv1@127.0.0.1" {
		t.Fatalf("child node is %q, want bsrv1@127.0.0.1", c.Name)
	}
	if err := node.Join(ctx, c.Name); err != nil {
		t.Fatal(err)
	}
	if r, err := node.Call(ctx, c.Name, MethodEcho, []byte("hi")); err != nil || string(r) != "hi" {
		t.Fatalf("echo = %q, %v", r, err)
	}
	if r, err := node.Call(ctx, c.Name, MethodSink, []byte("hi")); err != nil || len(r) != 0 {
		t.Fatalf("sink = %q, %v", r, err)
	}
	for range 4 {
		if err := node.Cast(c.Name, MethodCast, make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
	}
	for {
		m, b, err := load.Count(ctx, node, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		if m == 4 && b == 32 {
			break
		}
		if m > 4 {
			t.Fatalf("count says %d casts, want 4", m)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("count says %d casts after 30s, want 4", m)
		case <-time.After(time.Millisecond):
		}
	}
}

func TestUnknownKind(t *testing.T) {
	err := Serve(t.Context(), "carrier-pigeon", os.Getenv, func(string, string) {})
	if err == nil || !strings.Contains(err.Error(), "carrier-pigeon") {
		t.Fatalf("Serve of an unknown kind: %v, want an error naming it", err)
	}
}

func TestErlang(t *testing.T) {
	if err := ErlangMissing(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	e, err := StartErlang(ctx, "../erlang/ekka_bench.erl", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	for _, tc := range []struct {
		cmd string
		ops int64
	}{
		{"call 64 10", 10},
		{"inflight 4 64 10", 10},
		{"bulkcall 65536 3", 3},
		{"cast 64 100", 100},
	} {
		r, err := e.Run(ctx, tc.cmd)
		if err != nil {
			t.Fatalf("%s: %v", tc.cmd, err)
		}
		if r.Ops != tc.ops || r.Elapsed <= 0 {
			t.Errorf("%s: %+v, want %d ops", tc.cmd, r, tc.ops)
		}
	}
	if _, err := e.Run(ctx, "dance 3"); err == nil {
		t.Error("an unknown command succeeded")
	}
}

func TestEkkaChildSettings(t *testing.T) {
	env := map[string]string{EnvNodeName: "bsrv1@127.0.0.1", EnvCookie: "c", EnvCompression: "sometimes"}
	err := Serve(t.Context(), KindEkka, func(k string) string { return env[k] }, func(string, string) {})
	if err == nil || !strings.Contains(err.Error(), EnvCompression) || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("compression %q: %v, want an error naming %s and the value", env[EnvCompression], err, EnvCompression)
	}
	env[EnvCompression] = "off"
	env[EnvPeer] = "nobody"
	err = Serve(t.Context(), KindEkka, func(k string) string { return env[k] }, func(string, string) {})
	if err == nil || !strings.Contains(err.Error(), EnvPeer) {
		t.Errorf("peer %q: %v, want an error naming %s", env[EnvPeer], err, EnvPeer)
	}
}
