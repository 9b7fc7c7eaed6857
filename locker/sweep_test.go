package locker

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
)

func TestTableNextExpire(t *testing.T) {
	tb := NewTable()
	if at, ok := tb.NextExpire(); ok {
		t.Fatalf("empty table: next expiry %v, want none", at)
	}
	tb.Acquire(t0, "r", "a", time.Second)
	if at, ok := tb.NextExpire(); !ok || at.After(t0.Add(time.Second)) {
		t.Fatalf("a grant until t0+1s: next expiry %v %v, want at the latest t0+1s", at, ok)
	}
	tb.Acquire(t0.Add(100*time.Millisecond), "s", "a", 200*time.Millisecond)
	if at, _ := tb.NextExpire(); at.After(t0.Add(300 * time.Millisecond)) {
		t.Fatalf("a shorter grant until t0+300ms: next expiry %v, want at the latest t0+300ms", at)
	}
	if e := tb.Expire(t0.Add(300 * time.Millisecond)); len(e) != 1 || e[0].Resource != "s" {
		t.Fatalf("sweep at t0+300ms: %v, want the grant of s", e)
	}
	if at, _ := tb.NextExpire(); !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("after the sweep: next expiry %v, want exactly t0+1s (r's grant ends)", at)
	}
	tb.Release(t0.Add(400*time.Millisecond), "r", "a")
	tb.Expire(t0.Add(time.Second))
	// Both free now: s last asked for at t0+100ms, r at t0+400ms.
	if at, _ := tb.NextExpire(); !at.Equal(t0.Add(100 * time.Millisecond).Add(DefaultForgetAfter)) {
		t.Fatalf("free resources: next expiry %v, want when s's counter is forgotten (t0+100ms+%v)", at, DefaultForgetAfter)
	}
	tb.Expire(t0.Add(400 * time.Millisecond).Add(DefaultForgetAfter))
	if at, ok := tb.NextExpire(); ok || tb.Counter("r") != 0 || tb.Counter("s") != 0 {
		t.Fatalf("every counter forgotten: next expiry %v %v, counters %d %d, want none", at, ok, tb.Counter("r"), tb.Counter("s"))
	}
}

// TestTableNextExpireNeverLate drives a table with random requests and
// checks that Expire never has work before NextExpire says.
func TestTableNextExpireNeverLate(t *testing.T) {
	tb := NewTable()
	tb.ForgetAfter = 30 * time.Millisecond
	now := t0
	for i := range 20000 {
		now = now.Add(time.Duration(i%7) * time.Millisecond)
		r := string(rune('a' + i%5))
		switch (i * 7919) % 4 {
		case 0, 1:
			tb.Acquire(now, r, string(rune('x'+i%3)), time.Duration(1+(i*31)%40)*time.Millisecond)
		case 2:
			tb.Release(now, r, string(rune('x'+i%3)))
		case 3:
			at, ok := tb.NextExpire()
			before := len(tb.res)
			e := tb.Expire(now)
			if (len(e) > 0 || len(tb.res) < before) && (!ok || now.Before(at)) {
				t.Fatalf("step %d: Expire at %v dropped %d grants and %d resources, but NextExpire said %v %v", i, now.Sub(t0), len(e), before-len(tb.res), at.Sub(t0), ok)
			}
		}
	}
}

func TestSweepAtLeaseEndAndForget(t *testing.T) {
	var log testnet.SyncBuffer
	lc := startLockCluster(t, 1, Config{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))}, nil)
	l := lc.locker(0)
	l.mu.Lock()
	l.table.ForgetAfter = 300 * time.Millisecond
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A lease that ends without renewal is swept from the table.
	res, err := l.Acquire(ctx, "expiring", Options{Type: Local, Lease: 100 * time.Millisecond})
	if err != nil || !res.OK {
		t.Fatalf("acquire: %+v %v", res, err)
	}
	if err := lc.c.Wait(ctx, "the ended grant swept", func() bool {
		return strings.Contains(log.String(), `msg="lease ended" locker=default resource=expiring`)
	}); err != nil {
		t.Fatalf("%v; log:\n%s", err, log.String())
	}

	// A released resource's counter is forgotten ForgetAfter later.
	res, err = l.Acquire(ctx, "released", Options{Type: Local})
	if err != nil || !res.OK {
		t.Fatalf("acquire: %+v %v", res, err)
	}
	if _, err := l.Release(ctx, "released", Options{Type: Local}); err != nil {
		t.Fatal(err)
	}
	counter := func(r string) uint64 {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.table.Counter(r)
	}
	if err := lc.c.Wait(ctx, "both counters forgotten", func() bool {
		return counter("released") == 0 && counter("expiring") == 0
	}); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	at, ok := l.table.NextExpire()
	l.mu.Unlock()
	if ok {
		t.Fatalf("empty table: the sweep is due at %v, want no sweep until the next request", at)
	}
}
